#!/usr/bin/python
# ruff: noqa: E402  (DOCUMENTATION, EXAMPLES and RETURN come first, as in every Ansible module)

# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: autoscaling_rolling_refresh
short_description: Roll an Auto Scaling group onto a launch template version through an instance refresh
version_added: 0.1.0
description:
  - Starts a rolling instance refresh of an Auto Scaling group when the group or any of its
    instances is not on the wanted launch template version, and does nothing when all are.
  - The refresh carries the version as its desired configuration, with auto-rollback; AWS moves
    the group to the new version when all instances are replaced, and back if the refresh fails.
  - Never starts a second refresh while one is active; with O(wait=true) it waits for the active
    one first, then compares again.
  - Unlike M(amazon.aws.autoscaling_instance_refresh), which starts a refresh on every run and
    has no auto-rollback or desired configuration, this module is idempotent.
options:
  name:
    description: Name of the Auto Scaling group.
    type: str
    required: true
  launch_template_id:
    description: Id of the launch template the group must run.
    type: str
    required: true
  launch_template_version:
    description:
      - Version number to roll to. A number, not C($Latest) or C($Default), since AWS does not roll
        back a refresh to a moving version.
    type: str
    required: true
  min_healthy_percentage:
    description: Share of the desired capacity that must stay in service and healthy (0-100).
    type: int
    default: 90
  max_healthy_percentage:
    description: Share of the desired capacity that may be in service during the refresh (100-200).
    type: int
  instance_warmup:
    description: Seconds a new instance gets before it counts; default the group's grace period.
    type: int
  auto_rollback:
    description: Roll the group back to its previous configuration when the refresh fails.
    type: bool
    default: true
  skip_matching:
    description: Leave instances that already run the wanted version alone.
    type: bool
    default: true
  wait:
    description: Wait until the refresh ends; fail unless it ends C(Successful).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait with O(wait=true).
    type: int
    default: 1800
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Roll the app instances onto the newest launch template version
  webstack.aws.autoscaling_rolling_refresh:
    name: webstack-prod-app
    launch_template_id: lt-0123456789abcdef0
    launch_template_version: "7"
    min_healthy_percentage: 90
    auto_rollback: true
"""

RETURN = r"""
instance_refresh:
  description: The refresh started, waited for or found running (AWS's fields); empty when none.
  returned: always
  type: dict
  sample: {"InstanceRefreshId": "08b91cf7-8fa6-48af-b6a6-d227f40f1b9b", "Status": "Successful"}
launch_template_version:
  description: The version number the group was rolled to (or is on).
  returned: always
  type: str
  sample: "7"
outdated_instances:
  description: Instances that were not on the wanted version before this run.
  returned: always
  type: list
  elements: str
"""

import contextlib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.webstack.aws.plugins.module_utils.autoscaling_rolling_refresh import (
    RefreshError,
    ensure_refreshed,
)

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

PREFERENCES = ("min_healthy_percentage", "max_healthy_percentage", "instance_warmup", "auto_rollback", "skip_matching")


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            launch_template_id=dict(type="str", required=True),
            launch_template_version=dict(type="str", required=True),
            min_healthy_percentage=dict(type="int", default=90),
            max_healthy_percentage=dict(type="int"),
            instance_warmup=dict(type="int"),
            auto_rollback=dict(type="bool", default=True),
            skip_matching=dict(type="bool", default=True),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=1800),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not 0 <= params["min_healthy_percentage"] <= 100:
        module.fail_json(msg="min_healthy_percentage must be 0 to 100")
    if not str(params["launch_template_version"]).isdigit():
        module.fail_json(msg="launch_template_version must be a version number")
    if params["max_healthy_percentage"] is not None and not 100 <= params["max_healthy_percentage"] <= 200:
        module.fail_json(msg="max_healthy_percentage must be 100 to 200")

    client = module.client("autoscaling", retry_decorator=AWSRetry.jittered_backoff())
    try:
        result = ensure_refreshed(
            client,
            params["name"],
            params["launch_template_id"],
            params["launch_template_version"],
            {key: params[key] for key in PREFERENCES},
            check_mode=module.check_mode,
            wait=params["wait"],
            timeout=params["wait_timeout"],
        )
    except RefreshError as e:
        module.fail_json(msg=str(e), instance_refresh=e.refresh)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to refresh the instances of {params['name']}")

    before, after = result.pop("before"), result.pop("after")
    result["launch_template_version"] = after["launch_template_version"]
    result["outdated_instances"] = before["outdated_instances"]
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
