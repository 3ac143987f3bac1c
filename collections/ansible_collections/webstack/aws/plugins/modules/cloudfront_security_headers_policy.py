#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudfront_security_headers_policy
short_description: An idempotent CloudFront response headers policy of security headers
version_added: 0.1.0
description:
  - Creates, updates or deletes one custom CloudFront response headers policy, found by its
    O(name), that sets HSTS, X-Content-Type-Options, X-Frame-Options, Referrer-Policy and,
    optionally, Content-Security-Policy on every response, overriding what the origin sends.
  - Written because C(community.aws.cloudfront_response_headers_policy) updates the policy on
    every run, reports a change in check mode whatever the state, and lists only the first page.
  - Compares the comment and the security headers with the current policy and calls
    UpdateResponseHeadersPolicy (with the ETag as C(If-Match)) only when they differ; the policy's
    other parts (CORS, custom headers) are kept.
  - O(state=absent) deletes the policy; CloudFront refuses while a distribution still uses it
    (C(ResponseHeadersPolicyInUse)).
options:
  name:
    description: Name of the policy (unique in the account).
    type: str
    required: true
  state:
    description: Whether the policy should exist.
    type: str
    choices: [present, absent]
    default: present
  comment:
    description: The policy's comment.
    type: str
    default: ""
  hsts_max_age:
    description: Strict-Transport-Security max-age, in seconds.
    type: int
    default: 63072000
  hsts_include_subdomains:
    description: Add C(includeSubDomains) to Strict-Transport-Security.
    type: bool
    default: true
  hsts_preload:
    description:
      - Add C(preload) to Strict-Transport-Security. Needs O(hsts_max_age) of a year or more and
        O(hsts_include_subdomains); leaving the browsers' preload list takes months.
    type: bool
    default: false
  content_type_options:
    description: Send C(X-Content-Type-Options nosniff).
    type: bool
    default: true
  frame_options:
    description: X-Frame-Options; empty sends none.
    type: str
    default: DENY
  referrer_policy:
    description: Referrer-Policy; empty sends none.
    type: str
    default: strict-origin-when-cross-origin
  content_security_policy:
    description: Content-Security-Policy; empty sends none.
    type: str
    default: ""
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the site's security headers policy exists
  webstack.aws.cloudfront_security_headers_policy:
    name: webstack-prod-headers
    comment: Security headers of the webstack prod site
    hsts_preload: true
    content_security_policy: "default-src 'self'; frame-ancestors 'none'"
"""

RETURN = r"""
response_headers_policy:
  description: The policy after the task; empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description:
        - The policy id, what a cache behaviour's ResponseHeadersPolicyId names.
        - C((known after apply)) in check mode before the policy exists.
      type: str
    name:
      description: Name of the policy.
      type: str
    comment:
      description: The policy's comment.
      type: str
    security_headers:
      description: The SecurityHeadersConfig as CloudFront holds it (or would, in check mode).
      type: dict
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
import contextlib  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils import cloudfront as cf  # noqa: E402
from ansible_collections.webstack.aws.plugins.module_utils import cloudfront_headers as headers  # noqa: E402

# What check mode reports as the id of a policy it would create, as Terraform's plan does.
UNKNOWN_ID = "(known after apply)"


def validate(params):
    """Sentences saying what is wrong with the parameters, found without any AWS call."""
    return headers.problems_of(
        params["hsts_max_age"],
        params["hsts_preload"],
        params["hsts_include_subdomains"],
        params["frame_options"],
        params["referrer_policy"],
        params["content_security_policy"],
    )


def wanted_security(params):
    return headers.security_headers_config(
        params["hsts_max_age"],
        params["hsts_include_subdomains"],
        params["hsts_preload"],
        params["content_type_options"],
        params["frame_options"],
        params["referrer_policy"],
        params["content_security_policy"],
    )


def ensure_present(module, client):
    params = module.params
    policy_id = headers.find(client, params["name"])
    current, etag = headers.get_config(client, policy_id) if policy_id else (None, None)
    wanted = headers.merge(current, params["name"], params["comment"], wanted_security(params))
    before, after = headers.view(current), headers.view(wanted)
    if before == after:
        return False, dict(before, id=policy_id), before, after
    if module.check_mode:
        return True, dict(after, id=policy_id or UNKNOWN_ID), before, after
    if policy_id:
        headers.update(client, policy_id, etag, wanted)
    else:
        policy_id = headers.create(client, wanted)
    return True, dict(after, id=policy_id), before, after


def ensure_absent(module, client):
    name = module.params["name"]
    policy_id = headers.find(client, name)
    if not policy_id:
        return False, {}, {}, {}
    current, etag = headers.get_config(client, policy_id)
    if not module.check_mode:
        try:
            headers.delete(client, policy_id, etag)
        except is_boto3_error_code("ResponseHeadersPolicyInUse") as e:
            module.fail_json_aws(e, msg=f"Response headers policy {name} is still used by a distribution")
    return True, {}, headers.view(current), {}


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        comment=dict(type="str", default=""),
        hsts_max_age=dict(type="int", default=63072000),
        hsts_include_subdomains=dict(type="bool", default=True),
        hsts_preload=dict(type="bool", default=False),
        content_type_options=dict(type="bool", default=True),
        frame_options=dict(type="str", default="DENY"),
        referrer_policy=dict(type="str", default="strict-origin-when-cross-origin"),
        content_security_policy=dict(type="str", default=""),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    problems = validate(params)
    if problems:
        module.fail_json(msg=" ".join(problems))

    client = cf.cloudfront_client(module)
    try:
        if params["state"] == "present":
            changed, result, before, after = ensure_present(module, client)
        else:
            changed, result, before, after = ensure_absent(module, client)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to converge the response headers policy {params['name']}")

    output = {"changed": changed, "response_headers_policy": result}
    if module._diff:
        output["diff"] = {"before": before, "after": after}
    module.exit_json(**output)


if __name__ == "__main__":
    main()
