#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_subnet_group_info
short_description: Read RDS DB subnet groups and their tags, read-only
version_added: 0.1.0
description:
  - Returns the DB subnet group named O(name), or every DB subnet group of the region when O(name)
    is not given, each with its subnets and its tags, so that the caller can tell its own from
    someone else's before changing anything. Changes nothing.
  - amazon.aws has M(amazon.aws.rds_subnet_group) but no info module for DB subnet groups.
options:
  name:
    description:
      - Name of the DB subnet group. RDS stores these names in lower case, so it is looked up in
        lower case, as M(amazon.aws.rds_subnet_group) does.
      - Without it, every DB subnet group is returned.
    type: str
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the stack's DB subnet group
  webstack.aws.rds_subnet_group_info:
    name: webstack-prod-db-subnets
  register: subnet_group

- name: Read every DB subnet group of the region
  webstack.aws.rds_subnet_group_info:
  register: all_subnet_groups
"""

RETURN = r"""
subnet_groups:
  description: The DB subnet groups found; empty when O(name) does not exist.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the group.
      type: str
      sample: webstack-prod-db-subnets
    description:
      description: Description of the group.
      type: str
    vpc_id:
      description: The VPC of its subnets.
      type: str
      sample: vpc-0123456789abcdef0
    status:
      description: Status of the group.
      type: str
      sample: Complete
    arn:
      description: ARN of the group.
      type: str
    subnet_ids:
      description: Ids of its subnets.
      type: list
      elements: str
    tags:
      description: Its tags.
      type: dict
      sample: {"Project": "webstack", "Environment": "prod", "ManagedBy": "webstack"}
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
import contextlib  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils.rds import RDS_RETRY, describe_subnet_groups  # noqa: E402


def main():
    argument_spec = dict(name=dict(type="str"))
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("rds", retry_decorator=RDS_RETRY)
    name = module.params["name"]
    try:
        groups = describe_subnet_groups(client, name)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        what = f"the DB subnet group {name}" if name else "the DB subnet groups"
        module.fail_json_aws(e, msg=f"Failed to describe {what}")
    module.exit_json(changed=False, subnet_groups=groups)


if __name__ == "__main__":
    main()
