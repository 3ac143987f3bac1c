#!/usr/bin/python
# ruff: noqa: E402  (DOCUMENTATION, EXAMPLES and RETURN come first, as in every Ansible module)

# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: autoscaling_launch_template_absent
short_description: Delete an EC2 launch template with all its versions in one call
version_added: 0.1.0
description:
  - Deletes a launch template by id with C(DeleteLaunchTemplate), which removes every version.
  - M(amazon.aws.ec2_launch_template) with O(amazon.aws.ec2_launch_template#module:state=absent)
    first deletes the non-default versions with C(DeleteLaunchTemplateVersions), which moto does
    not implement, so a template with more than one version could not be removed under the
    emulator. On AWS both end the same way.
  - Does nothing when the template does not exist.
options:
  template_id:
    description: Id of the launch template.
    type: str
    required: true
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Remove the app launch template
  webstack.aws.autoscaling_launch_template_absent:
    template_id: lt-0123456789abcdef0
"""

RETURN = r"""
template_id:
  description: Id of the template that was (or in check mode would be) deleted; empty when none existed.
  returned: always
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.ec2 import (
    AnsibleEC2Error,
    delete_launch_template,
    describe_launch_templates,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(template_id=dict(type="str", required=True)),
        supports_check_mode=True,
    )
    client = module.client("ec2")
    template_id = module.params["template_id"]
    try:
        found = describe_launch_templates(client, launch_template_ids=[template_id])
        if not found:
            module.exit_json(changed=False, template_id="")
        if not module.check_mode:
            delete_launch_template(client, launch_template_id=template_id)
    except AnsibleEC2Error as e:
        module.fail_json_aws_error(e)
    result = dict(changed=True, template_id=template_id)
    if module._diff:
        result["diff"] = {"before": {"template_id": template_id}, "after": {}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
