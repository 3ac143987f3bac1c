#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

import contextlib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.webstack.aws.plugins.module_utils.rds import (
    MODIFIABLE_STATUS,
    RDS_RETRY,
    RdsInstanceStateError,
    apply_password_mode,
    describe_instance,
    is_password_managed,
    plan_password_mode,
    secret_arn,
    wait_for_status,
)

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore


DOCUMENTATION = r"""
---
module: rds_instance_managed_password
short_description: Let RDS keep a DB instance's master password in Secrets Manager, or stop it
version_added: 0.1.0
description:
  - Turns C(ManageMasterUserPassword) on or off for an existing RDS DB instance, which
    M(amazon.aws.rds_instance) cannot do. With it on, RDS generates the master password, stores
    it in a Secrets Manager secret it owns and rotates it; the module returns that secret's ARN.
  - Idempotent - it compares the mode the instance is in (whether it has a C(MasterUserSecret))
    with the mode asked for and calls C(ModifyDBInstance) only to switch. A password the user
    supplies is never compared (RDS does not return it); it is sent only when switching off.
  - RDS accepts the change only while the instance is C(available), so a switch first waits for
    that state (a freshly created instance is still C(creating)), up to O(wait_timeout).
  - The change is applied immediately.
options:
  db_instance_identifier:
    description: The DB instance identifier.
    type: str
    required: true
    aliases: [id, instance_id]
  manage_master_user_password:
    description:
      - V(true) lets RDS manage the master password in Secrets Manager.
      - V(false) makes the instance use O(master_user_password) instead, deleting RDS's secret.
    type: bool
    default: true
  master_user_password:
    description:
      - The password to set when switching O(manage_master_user_password) off. Required then.
      - Ignored when the instance already uses a password of its own.
    type: str
  master_user_secret_kms_key_id:
    description:
      - KMS key for the secret RDS creates when switching on; the account's C(aws/secretsmanager)
        key when not given. Not compared on later runs.
    type: str
  wait:
    description: Wait until the instance is C(available) again and the secret C(active) after a switch.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the instance, before and after a switch.
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
- name: Let RDS manage the master password
  webstack.aws.rds_instance_managed_password:
    db_instance_identifier: webstack-prod-db
  register: db_password

- name: Show where the application reads it
  ansible.builtin.debug:
    msg: "{{ db_password.master_user_secret_arn }}"

- name: Use a password from Ansible Vault instead
  webstack.aws.rds_instance_managed_password:
    db_instance_identifier: webstack-prod-db
    manage_master_user_password: false
    master_user_password: "{{ vault_db_password }}"
  no_log: true
"""

RETURN = r"""
db_instance_identifier:
  description: The DB instance identifier.
  type: str
  returned: always
  sample: webstack-prod-db
manage_master_user_password:
  description: Whether RDS manages the master password (after the change, or as planned in check mode).
  type: bool
  returned: always
  sample: true
master_user_secret_arn:
  description:
    - ARN of the Secrets Manager secret holding the master password; empty when the instance
      uses a password of its own, and in check mode before the secret exists.
  type: str
  returned: always
  sample: arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:rds!db-0f1e2d3c-AbCdEf
master_user_secret_status:
  description: The secret's status as RDS reports it (creating, active, rotating, impaired), or empty.
  type: str
  returned: always
  sample: active
"""


def result_of(instance_id, instance, manage=None):
    secret = (instance or {}).get("MasterUserSecret") or {}
    return {
        "db_instance_identifier": instance_id,
        "manage_master_user_password": is_password_managed(instance) if manage is None else manage,
        "master_user_secret_arn": secret_arn(instance),
        "master_user_secret_status": secret.get("SecretStatus", ""),
    }


def converge(module, client):
    params = module.params
    instance_id = params["db_instance_identifier"].lower()
    manage = params["manage_master_user_password"]
    instance = describe_instance(client, instance_id)
    if instance is None:
        if module.check_mode:
            # A plan on a fresh stack: the instance would be created first, then switched.
            return dict(changed=manage, **result_of(instance_id, None, manage))
        module.fail_json(msg=f"DB instance {instance_id} does not exist; create it first (amazon.aws.rds_instance)")

    try:
        change = plan_password_mode(
            instance, manage, params["master_user_password"], params["master_user_secret_kms_key_id"]
        )
    except ValueError as e:
        module.fail_json(msg=f"DB instance {instance_id}: {e}")

    result = dict(changed=bool(change))
    if module._diff:
        result["diff"] = {
            "before": {"manage_master_user_password": is_password_managed(instance)},
            "after": {"manage_master_user_password": manage},
        }
    if not change or module.check_mode:
        return dict(result, **result_of(instance_id, instance, manage))

    timeout = params["wait_timeout"]
    try:
        if instance.get("DBInstanceStatus") != MODIFIABLE_STATUS:
            wait_for_status(client, instance_id, timeout)
        instance = apply_password_mode(client, change)
        if params["wait"]:
            instance = wait_for_status(
                client,
                instance_id,
                timeout,
                predicate=lambda i: (
                    is_password_managed(i) == manage
                    and (not manage or (i.get("MasterUserSecret") or {}).get("SecretStatus") == "active")
                ),
            )
        else:
            instance = describe_instance(client, instance_id) or instance
    except RdsInstanceStateError as e:
        module.fail_json(msg=str(e))
    return dict(result, **result_of(instance_id, instance))


def main():
    argument_spec = dict(
        db_instance_identifier=dict(type="str", required=True, aliases=["id", "instance_id"]),
        manage_master_user_password=dict(type="bool", default=True),
        master_user_password=dict(type="str", no_log=True),
        master_user_secret_kms_key_id=dict(type="str", no_log=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("rds", retry_decorator=RDS_RETRY)
    try:
        result = converge(module, client)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Failed to set the master password mode of the DB instance")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
