# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RDS helpers for webstack's modules: the master password mode of an instance, parameter groups, and
reading DB subnet groups.

amazon.aws.rds_instance cannot set ``ManageMasterUserPassword``; these functions switch an existing
instance between a password RDS keeps in Secrets Manager and a password the user supplies.
The decision (``plan_password_mode``) is a pure function so it is unit-tested without AWS.
"""

from __future__ import annotations

import time

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# The retry decorator modules give their client (module.client("rds", retry_decorator=RDS_RETRY)):
# calls made with aws_retry=True are retried on throttling, and on the transient states RDS reports
# while an instance or a parameter group is busy.
RDS_RETRY = AWSRetry.jittered_backoff(
    catch_extra_error_codes=["InvalidDBInstanceState", "InvalidDBParameterGroupState"]
)

# States in which RDS accepts ModifyDBInstance. Anything else is transient (creating, modifying,
# backing-up, ...) and is waited out, or final (deleting, failed) and is an error.
MODIFIABLE_STATUS = "available"
FINAL_STATUSES = ("deleting", "deleted", "failed", "incompatible-parameters", "incompatible-restore", "storage-full")


class RdsInstanceStateError(Exception):
    """The instance is in a state where its password mode cannot be changed."""


def describe_instance(client, instance_id: str) -> dict | None:
    """The instance as DescribeDBInstances returns it, or None when it does not exist."""
    try:
        found = client.describe_db_instances(aws_retry=True, DBInstanceIdentifier=instance_id)["DBInstances"]
    except is_boto3_error_code("DBInstanceNotFound"):
        return None
    return found[0] if found else None


def is_password_managed(instance: dict | None) -> bool:
    """True when RDS keeps the master password in Secrets Manager (the instance has a MasterUserSecret)."""
    return bool(instance and (instance.get("MasterUserSecret") or {}).get("SecretArn"))


def secret_arn(instance: dict | None) -> str:
    return ((instance or {}).get("MasterUserSecret") or {}).get("SecretArn", "")


def plan_password_mode(
    instance: dict | None, manage: bool, password: str | None = None, kms_key_id: str | None = None
) -> dict:
    """The ModifyDBInstance parameters that bring ``instance`` to the wanted mode; {} when it is there.

    A password the user supplies cannot be compared with the one RDS holds, so an instance that
    already uses its own password is left alone: this function only switches modes.
    """
    if instance is None:
        raise ValueError("the instance does not exist")
    current = is_password_managed(instance)
    if manage == current:
        return {}
    params = {
        "DBInstanceIdentifier": instance["DBInstanceIdentifier"],
        "ApplyImmediately": True,
        "ManageMasterUserPassword": manage,
    }
    if manage:
        if kms_key_id:
            params["MasterUserSecretKmsKeyId"] = kms_key_id
    else:
        if not password:
            raise ValueError("master_user_password is required to stop RDS managing the master password")
        params["MasterUserPassword"] = password
    return params


def wait_for_status(client, instance_id: str, timeout: float, delay: float = 15, predicate=None) -> dict:
    """Poll until the instance is available (and ``predicate(instance)`` holds); return it.

    Raises RdsInstanceStateError when it disappears, reaches a final state or the timeout passes.
    """
    deadline = time.monotonic() + timeout
    while True:
        instance = describe_instance(client, instance_id)
        if instance is None:
            raise RdsInstanceStateError(f"DB instance {instance_id} does not exist")
        status = instance.get("DBInstanceStatus", "")
        if status in FINAL_STATUSES:
            raise RdsInstanceStateError(f"DB instance {instance_id} is {status}")
        if status == MODIFIABLE_STATUS and (predicate is None or predicate(instance)):
            return instance
        if time.monotonic() + delay > deadline:
            raise RdsInstanceStateError(
                f"DB instance {instance_id} is still {status} after {int(timeout)} seconds; run again later"
            )
        time.sleep(delay)


def apply_password_mode(client, params: dict) -> dict:
    """Send the ModifyDBInstance call ``plan_password_mode`` planned; returns the instance it describes."""
    return client.modify_db_instance(aws_retry=True, **params)["DBInstance"]


# -- parameter groups ----------------------------------------------------------------------------
# amazon.aws.rds_instance_param_group compares against the family's full parameter catalog, which
# moto does not have, and reports unknown names in `errors` instead of failing. These functions
# compare against the parameters the user set (Source=user), which AWS and moto both return.


@AWSRetry.jittered_backoff()
def _describe_db_parameters(client, **params):
    paginator = client.get_paginator("describe_db_parameters")
    return paginator.paginate(**params).build_full_result()


def describe_parameter_group(client, name: str) -> dict | None:
    """The group, or None when it does not exist (AWS raises NotFound; moto answers an empty list)."""
    try:
        groups = client.describe_db_parameter_groups(aws_retry=True, DBParameterGroupName=name)["DBParameterGroups"]
    except is_boto3_error_code("DBParameterGroupNotFound"):
        return None
    return groups[0] if groups else None


def parameter_value(value) -> str:
    """RDS parameter values are strings; booleans become 1 / 0 like the RDS console writes them."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def user_parameters(client, name: str) -> dict:
    """{name: value} of the parameters set in the group (not the family defaults)."""
    params = _describe_db_parameters(client, DBParameterGroupName=name, Source="user")
    return {p["ParameterName"]: p.get("ParameterValue", "") for p in params.get("Parameters", [])}


def apply_types(client, name: str, names) -> dict:
    """{name: ApplyType} from the family's catalog for ``names``; empty where the catalog lacks them (moto)."""
    wanted = set(names)
    if not wanted:
        return {}
    params = _describe_db_parameters(client, DBParameterGroupName=name)
    return {
        p["ParameterName"]: p.get("ApplyType", "") for p in params.get("Parameters", []) if p["ParameterName"] in wanted
    }


def plan_parameters(current: dict, desired: dict, purge: bool) -> tuple[dict, list]:
    """(parameters to set {name: value}, names to reset to the family default)."""
    desired = {k: parameter_value(v) for k, v in desired.items()}
    to_set = {k: v for k, v in sorted(desired.items()) if current.get(k) != v}
    to_reset = sorted(k for k in current if k not in desired) if purge else []
    return to_set, to_reset


def apply_method(apply_type: str) -> str:
    """Static parameters only take effect after a reboot, and RDS refuses `immediate` for them."""
    return "pending-reboot" if apply_type == "static" else "immediate"


def set_parameters(client, name: str, to_set: dict, types: dict) -> None:
    items = [
        {"ParameterName": k, "ParameterValue": v, "ApplyMethod": apply_method(types.get(k, ""))}
        for k, v in to_set.items()
    ]
    for start in range(0, len(items), 20):  # ModifyDBParameterGroup takes at most 20 at a time
        client.modify_db_parameter_group(
            aws_retry=True,
            DBParameterGroupName=name,
            Parameters=items[start : start + 20],
        )


def reset_parameters(client, name: str, names: list, types: dict) -> None:
    items = [{"ParameterName": k, "ApplyMethod": apply_method(types.get(k, ""))} for k in names]
    for start in range(0, len(items), 20):
        client.reset_db_parameter_group(
            aws_retry=True,
            DBParameterGroupName=name,
            Parameters=items[start : start + 20],
        )


def resource_tags(client, arn: str) -> dict:
    return {t["Key"]: t["Value"] for t in client.list_tags_for_resource(aws_retry=True, ResourceName=arn)["TagList"]}


def plan_tags(current: dict, desired: dict | None, purge: bool) -> tuple[dict, list]:
    """(tags to add or change, keys to remove); nothing when ``desired`` is None."""
    if desired is None:
        return {}, []
    to_add = {k: str(v) for k, v in sorted(desired.items()) if current.get(k) != str(v)}
    to_remove = sorted(k for k in current if k not in desired) if purge else []
    return to_add, to_remove


def apply_tags(client, arn: str, to_add: dict, to_remove: list) -> None:
    if to_add:
        client.add_tags_to_resource(
            aws_retry=True,
            ResourceName=arn,
            Tags=[{"Key": k, "Value": v} for k, v in to_add.items()],
        )
    if to_remove:
        client.remove_tags_from_resource(aws_retry=True, ResourceName=arn, TagKeys=to_remove)


def create_parameter_group(client, name: str, family: str, description: str, tags: dict | None) -> dict:
    params = {"DBParameterGroupName": name, "DBParameterGroupFamily": family, "Description": description}
    if tags:
        params["Tags"] = [{"Key": k, "Value": str(v)} for k, v in tags.items()]
    return client.create_db_parameter_group(aws_retry=True, **params)["DBParameterGroup"]


def delete_parameter_group(client, name: str) -> None:
    client.delete_db_parameter_group(aws_retry=True, DBParameterGroupName=name)


# -- subnet groups ---------------------------------------------------------------------------------
# amazon.aws has rds_subnet_group but no info module; webstack.aws.rds_subnet_group_info reads them.


@AWSRetry.jittered_backoff()
def _describe_db_subnet_groups(client, **params):
    paginator = client.get_paginator("describe_db_subnet_groups")
    return paginator.paginate(**params).build_full_result()


def describe_subnet_groups(client, name: str | None = None) -> list[dict]:
    """The DB subnet group ``name`` (every one when ``name`` is empty), each with its tags; [] when it does not exist.

    RDS stores subnet group names in lower case, so ``name`` is looked up in lower case (as
    amazon.aws.rds_subnet_group does). ``client`` must be retrying (``RDS_RETRY``): the tags are read
    with ``aws_retry=True``.
    """
    params = {"DBSubnetGroupName": name.lower()} if name else {}
    try:
        groups = _describe_db_subnet_groups(client, **params)["DBSubnetGroups"]
    except is_boto3_error_code("DBSubnetGroupNotFoundFault"):
        return []
    return [
        {
            "name": group["DBSubnetGroupName"],
            "description": group.get("DBSubnetGroupDescription", ""),
            "vpc_id": group.get("VpcId", ""),
            "status": group.get("SubnetGroupStatus", ""),
            "arn": group["DBSubnetGroupArn"],
            "subnet_ids": [subnet["SubnetIdentifier"] for subnet in group.get("Subnets", [])],
            "tags": resource_tags(client, group["DBSubnetGroupArn"]),
        }
        for group in groups
    ]
