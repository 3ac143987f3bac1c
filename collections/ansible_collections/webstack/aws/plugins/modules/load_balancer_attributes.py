#!/usr/bin/python
# ruff: noqa: E402  (DOCUMENTATION, EXAMPLES and RETURN come first, as in every Ansible module)

# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: load_balancer_attributes
short_description: Set attributes of an Elastic Load Balancing v2 load balancer
version_added: 0.1.0
description:
  - Compares the given attributes of an Application or Network Load Balancer with what AWS holds
    and changes only those that differ (C(ModifyLoadBalancerAttributes)).
  - Exists beside M(amazon.aws.elb_application_lb) because that module reads every attribute it
    manages from the describe answer and fails with a C(KeyError) when one is missing, which is
    how moto answers for attributes never set (C(idle_timeout.timeout_seconds),
    C(access_logs.s3.enabled), C(routing.http.drop_invalid_header_fields.enabled), ...).
    Here a missing attribute simply differs and is set.
options:
  name:
    description: Name of the load balancer.
    type: str
    required: true
  attributes:
    description:
      - Attributes to ensure, keyed by their AWS names (C(deletion_protection.enabled),
        C(routing.http.desync_mitigation_mode), ...). Values are compared as strings; booleans
        are written C(true) / C(false) as AWS does.
      - Attributes not listed are left as they are.
    type: dict
    required: true
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Drop invalid headers and mitigate desync defensively
  webstack.aws.load_balancer_attributes:
    name: webstack-prod-alb
    attributes:
      routing.http.drop_invalid_header_fields.enabled: true
      routing.http.desync_mitigation_mode: defensive
      deletion_protection.enabled: true
"""

RETURN = r"""
load_balancer_arn:
  description: ARN of the load balancer; empty in check mode when it does not exist yet.
  returned: always
  type: str
attributes:
  description: The load balancer's attributes after the change, keyed by their AWS names.
  returned: always
  type: dict
  sample: {"deletion_protection.enabled": "false", "idle_timeout.timeout_seconds": "60"}
changed_attributes:
  description: Names of the attributes that were (or in check mode would be) changed.
  returned: always
  type: list
  elements: str
"""

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.elb_utils import (
    AnsibleELBv2Error,
    describe_load_balancer_attributes,
    describe_load_balancers,
    modify_load_balancer_attributes,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def as_aws_string(value: Any) -> str:
    """AWS keeps every attribute as a string; booleans are lower-case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def attribute_changes(current: dict[str, str], wanted: dict[str, Any]) -> dict[str, str]:
    """The wanted attributes whose value differs from (or is missing in) the current ones."""
    return {key: as_aws_string(value) for key, value in wanted.items() if current.get(key) != as_aws_string(value)}


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            attributes=dict(type="dict", required=True),
        ),
        supports_check_mode=True,
    )
    client = module.client("elbv2")
    name = module.params["name"]
    wanted = module.params["attributes"]

    try:
        found = describe_load_balancers(client, names=[name])
        if not found:
            if not module.check_mode:
                module.fail_json(msg=f"load balancer {name} does not exist")
            changes = {key: as_aws_string(value) for key, value in wanted.items()}
            module.exit_json(changed=True, load_balancer_arn="", attributes=changes, changed_attributes=sorted(changes))
        arn = found[0]["LoadBalancerArn"]
        current = {a["Key"]: a["Value"] for a in describe_load_balancer_attributes(client, arn)}
        changes = attribute_changes(current, wanted)
        after = {**current, **changes}
        if changes and not module.check_mode:
            attributes = [{"Key": key, "Value": value} for key, value in sorted(changes.items())]
            after = {a["Key"]: a["Value"] for a in modify_load_balancer_attributes(client, arn, attributes)}
    except AnsibleELBv2Error as e:
        module.fail_json_aws_error(e)

    result = dict(changed=bool(changes), load_balancer_arn=arn, attributes=after, changed_attributes=sorted(changes))
    if module._diff:
        result["diff"] = dict(
            before={key: current.get(key) for key in changes},
            after=changes,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
