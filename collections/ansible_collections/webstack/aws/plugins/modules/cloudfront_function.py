#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudfront_function
short_description: An idempotent, published CloudFront Function
version_added: 0.1.0
description:
  - Creates, updates, publishes or deletes one CloudFront Function, found by its O(name).
  - Written because amazon.aws and community.aws have no module for CloudFront Functions.
  - Compares the code, comment and runtime of both stages with the wanted ones. Calls
    UpdateFunction only when the DEVELOPMENT stage differs, and PublishFunction only when the
    LIVE stage (what distributions run) differs, each with the stage's ETag as C(If-Match).
  - O(state=absent) deletes the function. CloudFront refuses while a distribution still
    associates it (C(FunctionInUse)), so remove the association first.
options:
  name:
    description: Name of the function; letters, digits, hyphens and underscores, up to 64.
    type: str
    required: true
  state:
    description: Whether the function should exist.
    type: str
    choices: [present, absent]
    default: present
  code:
    description: The function's JavaScript source, at most 10 KB. Required when O(state=present).
    type: str
  comment:
    description: The function's comment.
    type: str
    default: ""
  runtime:
    description: The JavaScript runtime.
    type: str
    choices: [cloudfront-js-1.0, cloudfront-js-2.0]
    default: cloudfront-js-2.0
  publish:
    description: Publish the code to the LIVE stage, which distributions run.
    type: bool
    default: true
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the SPA routing function is published
  webstack.aws.cloudfront_function:
    name: webstack-prod-spa-routing
    comment: Client routes answer with /index.html
    code: "{{ lookup('ansible.builtin.template', 'spa_routing.js.j2') }}"

- name: Remove it (after no distribution associates it)
  webstack.aws.cloudfront_function:
    name: webstack-prod-spa-routing
    state: absent
"""

RETURN = r"""
function:
  description: The function after the task; empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the function.
      type: str
    arn:
      description: The function's ARN, what a cache behaviour's FunctionAssociations names.
      type: str
      sample: arn:aws:cloudfront::123456789012:function/webstack-prod-spa-routing
    stage:
      description: C(LIVE) once published, else C(DEVELOPMENT).
      type: str
    status:
      description: The stage's status as CloudFront reports it.
      type: str
    etag:
      description: ETag of the DEVELOPMENT stage.
      type: str
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
import contextlib  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils import cloudfront as cf  # noqa: E402
from ansible_collections.webstack.aws.plugins.module_utils import cloudfront_function as cff  # noqa: E402


def validate(params):
    problems = cff.name_problems(params["name"])
    if params["state"] == "present":
        problems += cff.code_problems(params["code"] or "")
    return problems


def result_of(summary, etag, stage):
    if not summary:
        return {}
    metadata = summary.get("FunctionMetadata") or {}
    return {
        "name": summary.get("Name"),
        "arn": metadata.get("FunctionARN"),
        "stage": stage,
        "status": summary.get("Status"),
        "etag": etag,
    }


def planned_arn(module, name):
    """The ARN a function about to be created will have (check mode: nothing is created)."""
    # CloudFront is global: STS in its API region answers whatever region the play runs in.
    account = module.client("sts", region="us-east-1").get_caller_identity()["Account"]
    return f"arn:aws:cloudfront::{account}:function/{name}"


def ensure_present(module, client):
    params = module.params
    name = params["name"]
    config = cff.function_config(params["comment"], params["runtime"])
    wanted = cff.stage_view({"FunctionConfig": config}, params["code"])
    stages = cff.read_stages(client, name)
    update, publish = cff.plan(stages, wanted)
    publish = publish and params["publish"]
    before = {stage.lower(): stages[stage]["view"] for stage in stages}
    after = {"development": wanted, "live": wanted if params["publish"] else before["live"]}
    development = stages["DEVELOPMENT"]
    summary, etag = development["summary"], development["etag"]
    if not (update or publish):
        return False, result_of(summary, etag, "LIVE" if stages["LIVE"]["summary"] else "DEVELOPMENT"), before, after
    if module.check_mode:
        arn = (summary or {}).get("FunctionMetadata", {}).get("FunctionARN") or planned_arn(module, name)
        return True, {"name": name, "arn": arn, "stage": "LIVE" if params["publish"] else "DEVELOPMENT"}, before, after
    if update and summary:
        summary, etag = cff.update(client, name, etag, config, params["code"])
    elif update:
        summary, etag = cff.create(client, name, config, params["code"])
    stage = "DEVELOPMENT"
    if params["publish"]:
        summary, stage = cff.publish(client, name, etag), "LIVE"
    return True, result_of(summary, etag, stage), before, after


def ensure_absent(module, client):
    name = module.params["name"]
    summary, etag = cff.describe(client, name, "DEVELOPMENT")
    if not summary:
        return False, {}, {}, {}
    before = {"name": name, "arn": summary["FunctionMetadata"]["FunctionARN"]}
    if not module.check_mode:
        try:
            cff.delete(client, name, etag)
        except is_boto3_error_code("FunctionInUse") as e:
            module.fail_json_aws(
                e, msg=f"CloudFront function {name} is still associated with a distribution; remove that first"
            )
    return True, {}, before, {}


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        code=dict(type="str"),
        comment=dict(type="str", default=""),
        runtime=dict(type="str", default="cloudfront-js-2.0", choices=list(cff.RUNTIMES)),
        publish=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec, supports_check_mode=True, required_if=[("state", "present", ["code"])]
    )
    problems = validate(module.params)
    if problems:
        module.fail_json(msg=" ".join(problems))

    client = cf.cloudfront_client(module)
    try:
        if module.params["state"] == "present":
            changed, result, before, after = ensure_present(module, client)
        else:
            changed, result, before, after = ensure_absent(module, client)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to converge the CloudFront function {module.params['name']}")

    output = {"changed": changed, "function": result}
    if module._diff:
        output["diff"] = {"before": before, "after": after}
    module.exit_json(**output)


if __name__ == "__main__":
    main()
