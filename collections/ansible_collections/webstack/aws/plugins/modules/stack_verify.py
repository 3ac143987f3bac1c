#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_verify
short_description: Check a deployed webstack stack through the AWS APIs
version_added: 0.1.0
description:
  - Finds the stack's resources by its tags (Project, Environment, ManagedBy webstack) and checks
    them against the architecture, one PASS, FAIL or SKIP per check.
  - The backend checks cover the internet-facing ALB, its HTTPS listener (certificate in the ALB's
    region and issued, a TLS 1.3 policy) and the 301 redirect on port 80. They also cover the Auto
    Scaling group behind the target group with ELB health checks in private subnets of two or more
    AZs, and each database, which must be private and encrypted.
  - The frontend checks cover the S3 origin read through an Origin Access Control, the redirect to
    HTTPS, the SPA routing mode and the security headers policy. They also check that the
    CloudFront certificate is in us-east-1, issued and covers every alias, that only this
    distribution may read the bucket, and that the bucket blocks public access.
  - The dns checks cover the A and AAAA aliases to the ALB and the distribution, and that no
    alias points at the distribution under a name it does not answer for.
  - On real AWS (no endpoint override) it also requests the API's health path, an SPA deep link,
    a missing asset and the site's root (its security headers). The emulator serves no content,
    so there those requests are reported as SKIP.
  - Changes nothing; the task does not fail on a FAIL check, so a playbook can report every check
    before it asserts (as playbooks/verify.yml does).
options:
  project:
    description: The stack's Project tag.
    type: str
    required: true
  environment:
    description: The stack's Environment tag.
    type: str
    required: true
  domain:
    description: The site's domain (C(api.<domain>) is the API).
    type: str
    required: true
  layers:
    description: The layers to check.
    type: list
    elements: str
    choices: [backend, frontend, dns]
    default: [backend, frontend, dns]
  spa_routing:
    description: The SPA routing the cdn role was set to (its C(cdn_spa_routing)).
    type: str
    choices: [function, error_pages]
    default: function
  response_headers:
    description: The response headers the cdn role was set to (its C(cdn_response_headers)).
    type: str
    choices: [custom, managed]
    default: custom
  live_requests:
    description: Make the HTTPS requests. Default is yes unless an endpoint URL points the AWS calls elsewhere.
    type: bool
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Check the stack through the AWS APIs
  webstack.aws.stack_verify:
    project: webstack
    environment: prod
    domain: example.com
  register: verify

- name: Fail when a check failed
  ansible.builtin.assert:
    that: verify.failed_checks == 0
"""

RETURN = r"""
checks:
  description: Every check, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: What was checked.
      type: str
    result:
      description: C(PASS), C(FAIL) or C(SKIP).
      type: str
    detail:
      description: What was found.
      type: str
lines:
  description: One C(<result>  <name> — <detail>) line per check, as C(runner.py verify) prints them.
  returned: always
  type: list
  elements: str
passed_checks:
  description: How many checks passed.
  returned: always
  type: int
failed_checks:
  description: How many checks failed.
  returned: always
  type: int
skipped_checks:
  description: How many checks did not apply here (the live requests on the emulator).
  returned: always
  type: int
summary:
  description: C(<passed> passed, <failed> failed, <skipped> skipped), the line C(runner.py verify) ends with.
  returned: always
  type: str
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
import os  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils import stack_checks  # noqa: E402


def main():
    argument_spec = dict(
        project=dict(type="str", required=True),
        environment=dict(type="str", required=True),
        domain=dict(type="str", required=True),
        layers=dict(
            type="list", elements="str", choices=["backend", "frontend", "dns"], default=["backend", "frontend", "dns"]
        ),
        spa_routing=dict(type="str", choices=["function", "error_pages"], default="function"),
        response_headers=dict(type="str", choices=["custom", "managed"], default="custom"),
        live_requests=dict(type="bool"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    live = params["live_requests"]
    if live is None:
        live = not (params.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL"))

    # Retries are botocore's, from the play's aws_config (playbooks/verify.yml's module_defaults).
    def client(service, region=None):
        return module.client(service, region=region or module.region)

    stack = stack_checks.Stack(
        client,
        params["project"],
        params["environment"],
        module.region,
        params["domain"],
        spa_routing=params["spa_routing"],
        response_headers=params["response_headers"],
    )
    checks = stack_checks.verify(stack, params["layers"], live_https=live)
    counts = {word: sum(c.word == word for c in checks) for word in ("PASS", "FAIL", "SKIP")}
    module.exit_json(
        changed=False,
        checks=[{"name": c.name, "result": c.word, "detail": c.detail} for c in checks],
        lines=[stack_checks.line(c) for c in checks],
        passed_checks=counts["PASS"],
        failed_checks=counts["FAIL"],
        skipped_checks=counts["SKIP"],
        summary=stack_checks.tally(counts),
    )


if __name__ == "__main__":
    main()
