#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import contextlib

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.webstack.aws.plugins.module_utils.rds import (
    RDS_RETRY,
    apply_tags,
    apply_types,
    create_parameter_group,
    delete_parameter_group,
    describe_parameter_group,
    plan_parameters,
    plan_tags,
    reset_parameters,
    resource_tags,
    set_parameters,
    user_parameters,
)

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore


DOCUMENTATION = r"""
---
module: rds_parameter_group
short_description: Create, update or delete an RDS DB parameter group and the parameters set in it
version_added: 0.1.0
description:
  - Manages a DB parameter group, its tags and the parameters set in it (as opposed to the
    family's defaults).
  - Compares O(parameters) with the parameters the group has set (C(Source=user)) and sends only
    the differences, so a second run reports no change. Unknown parameter names or bad values are
    refused by RDS and fail the task (M(amazon.aws.rds_instance_param_group) only lists them in
    C(errors), and cannot run against moto, which keeps no catalog of family defaults).
  - Dynamic parameters are applied immediately, static ones at the next reboot (RDS refuses
    C(immediate) for them); the apply type is read from the family's catalog when RDS has one.
  - The family of an existing group cannot change; the module fails and says so.
options:
  name:
    description: Name of the parameter group.
    type: str
    required: true
  state:
    description: Whether the group should exist.
    type: str
    choices: [present, absent]
    default: present
  family:
    description: Parameter group family, like C(postgres16) or C(mysql8.0). Required when O(state=present).
    type: str
  description:
    description: Description used when creating the group (RDS cannot change it later).
    type: str
  parameters:
    description: Parameters to set, as name-value pairs. Booleans become C(1) / C(0).
    type: dict
    default: {}
  purge_parameters:
    description: Reset to the family default the parameters set in the group but not in O(parameters).
    type: bool
    default: true
  tags:
    description: Tags of the group. V(null) leaves the tags alone.
    type: dict
  purge_tags:
    description: Remove tags not in O(tags).
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
- name: Force TLS for PostgreSQL clients
  webstack.aws.rds_parameter_group:
    name: webstack-prod-db-params
    family: postgres16
    description: webstack prod database parameters
    parameters:
      rds.force_ssl: 1
    tags:
      Project: webstack

- name: Remove it
  webstack.aws.rds_parameter_group:
    name: webstack-prod-db-params
    state: absent
"""

RETURN = r"""
name:
  description: Name of the group.
  type: str
  returned: always
family:
  description: Family of the group.
  type: str
  returned: when the group exists
arn:
  description: ARN of the group.
  type: str
  returned: when the group exists
parameters:
  description: The parameters set in the group after the run (as planned in check mode).
  type: dict
  returned: when O(state=present)
  sample: {"rds.force_ssl": "1"}
tags:
  description: Tags of the group after the run.
  type: dict
  returned: when O(state=present)
"""


def ensure_present(module, client):
    params = module.params
    name = params["name"]
    group = describe_parameter_group(client, name)
    changed = False
    before = {"parameters": {}, "tags": {}} if group else None

    if group is None:
        changed = True
        if module.check_mode:
            to_set, _ = plan_parameters({}, params["parameters"], False)
            return dict(
                changed=True,
                name=name,
                family=params["family"],
                arn="",
                parameters=to_set,
                tags=params["tags"] or {},
                diff=dict(before={}, after={"parameters": to_set, "tags": params["tags"] or {}}),
            )
        group = create_parameter_group(client, name, params["family"], params["description"] or name, params["tags"])
    elif group["DBParameterGroupFamily"] != params["family"]:
        module.fail_json(
            msg=(
                f"DB parameter group {name} has family {group['DBParameterGroupFamily']}, not {params['family']};"
                " the family of a group cannot change. Delete the group or choose another name."
            )
        )

    arn = group["DBParameterGroupArn"]
    current_tags = {} if changed else resource_tags(client, arn)
    tags_add, tags_remove = plan_tags(current_tags, params["tags"], params["purge_tags"])
    current = {} if changed else user_parameters(client, name)
    to_set, to_reset = plan_parameters(current, params["parameters"], params["purge_parameters"])
    if before is not None:
        before = {"parameters": current, "tags": current_tags}
    changed = changed or bool(tags_add or tags_remove or to_set or to_reset)

    if not module.check_mode:
        if tags_add or tags_remove:
            apply_tags(client, arn, tags_add, tags_remove)
        if to_set or to_reset:
            types = apply_types(client, name, list(to_set) + to_reset)
            if to_set:
                set_parameters(client, name, to_set, types)
            if to_reset:
                reset_parameters(client, name, to_reset, types)

    after_params = {k: v for k, v in {**current, **to_set}.items() if k not in to_reset}
    after_tags = {k: v for k, v in {**current_tags, **tags_add}.items() if k not in tags_remove}
    result = dict(
        changed=changed,
        name=name,
        family=group["DBParameterGroupFamily"],
        arn=arn,
        parameters=after_params,
        tags=after_tags,
    )
    if module._diff:
        result["diff"] = dict(before=before or {}, after={"parameters": after_params, "tags": after_tags})
    return result


def ensure_absent(module, client):
    name = module.params["name"]
    group = describe_parameter_group(client, name)
    if group is None:
        return dict(changed=False, name=name)
    if not module.check_mode:
        try:
            delete_parameter_group(client, name)
        except is_boto3_error_code("DBParameterGroupNotFound"):
            return dict(changed=False, name=name)
    return dict(changed=True, name=name, family=group["DBParameterGroupFamily"], arn=group["DBParameterGroupArn"])


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        family=dict(type="str"),
        description=dict(type="str"),
        parameters=dict(type="dict", default={}),
        purge_parameters=dict(type="bool", default=True),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[["state", "present", ["family"]]],
        supports_check_mode=True,
    )
    client = module.client("rds", retry_decorator=RDS_RETRY)
    try:
        if module.params["state"] == "present":
            result = ensure_present(module, client)
        else:
            result = ensure_absent(module, client)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to converge DB parameter group {module.params['name']}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
