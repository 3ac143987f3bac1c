"""webstack.aws's RDS helpers (plugins/module_utils/rds.py): the decisions as pure functions, the
AWS calls against moto in-process. Stubber only where moto falls short: ResetDBParameterGroup, which
it lacks, instance states other than `available`, which it never reports, and throttling, which it
never answers."""

from __future__ import annotations

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils import cloud
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from botocore.stub import Stubber
from moto import mock_aws

from ansible_collections.webstack.aws.plugins.module_utils import rds as rds_utils

REGION = "ap-northeast-2"
SECRET = {"SecretArn": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:rds!db-1", "SecretStatus": "active"}


def instance(managed: bool, status: str = "available") -> dict:
    found = {"DBInstanceIdentifier": "p-local-db", "DBInstanceStatus": status}
    if managed:
        found["MasterUserSecret"] = dict(SECRET)
    return found


def wrapped(client):
    return RetryingBotoClientWrapper(client, rds_utils.RDS_RETRY)


# -- password mode -------------------------------------------------------------------------------
def test_managed_instance_needs_no_change_to_stay_managed():
    assert rds_utils.plan_password_mode(instance(True), manage=True) == {}
    assert rds_utils.is_password_managed(instance(True)) and rds_utils.secret_arn(instance(True)) == SECRET["SecretArn"]


def test_own_password_is_never_compared_so_no_change():
    assert rds_utils.plan_password_mode(instance(False), manage=False, password="whatever1") == {}
    assert rds_utils.secret_arn(instance(False)) == ""


def test_switching_on_applies_immediately_with_an_optional_key():
    assert rds_utils.plan_password_mode(instance(False), manage=True, kms_key_id="alias/db") == {
        "DBInstanceIdentifier": "p-local-db",
        "ApplyImmediately": True,
        "ManageMasterUserPassword": True,
        "MasterUserSecretKmsKeyId": "alias/db",
    }
    assert "MasterUserSecretKmsKeyId" not in rds_utils.plan_password_mode(instance(False), manage=True)


def test_switching_off_sends_the_password_and_requires_it():
    params = rds_utils.plan_password_mode(instance(True), manage=False, password="Vault-pw-123")
    assert params["ManageMasterUserPassword"] is False and params["MasterUserPassword"] == "Vault-pw-123"
    with pytest.raises(ValueError, match="master_user_password is required"):
        rds_utils.plan_password_mode(instance(True), manage=False)
    with pytest.raises(ValueError, match="does not exist"):
        rds_utils.plan_password_mode(None, manage=True)


@mock_aws
def test_enable_on_a_real_call_publishes_a_secret_and_a_second_plan_is_empty():
    raw = boto3.client("rds", region_name=REGION)
    raw.create_db_instance(
        DBInstanceIdentifier="p-local-db",
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        MasterUsername="dbadmin",
        MasterUserPassword="Throwaway-123",
        AllocatedStorage=20,
    )
    client = wrapped(raw)
    current = rds_utils.describe_instance(client, "p-local-db")
    assert not rds_utils.is_password_managed(current)
    rds_utils.apply_password_mode(client, rds_utils.plan_password_mode(current, manage=True))
    after = rds_utils.wait_for_status(client, "p-local-db", timeout=5, delay=0)
    assert rds_utils.secret_arn(after).startswith("arn:aws:secretsmanager:")
    assert rds_utils.plan_password_mode(after, manage=True) == {}
    assert rds_utils.describe_instance(client, "nope-local-db") is None


def test_wait_for_status_waits_out_creating_and_gives_up_on_final_states():
    client = boto3.client("rds", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        # moto's instances are available at once; Stubber scripts the transient and final states.
        for status in ("creating", "backing-up", "available"):
            stub.add_response("describe_db_instances", {"DBInstances": [instance(False, status)]})
        found = rds_utils.wait_for_status(wrapped(client), "p-local-db", timeout=5, delay=0)
        assert found["DBInstanceStatus"] == "available"
        stub.add_response("describe_db_instances", {"DBInstances": [instance(False, "deleting")]})
        with pytest.raises(rds_utils.RdsInstanceStateError, match="is deleting"):
            rds_utils.wait_for_status(wrapped(client), "p-local-db", timeout=5, delay=0)
        stub.add_response("describe_db_instances", {"DBInstances": [instance(False, "modifying")]})
        with pytest.raises(rds_utils.RdsInstanceStateError, match="still modifying"):
            rds_utils.wait_for_status(wrapped(client), "p-local-db", timeout=0, delay=1)


# -- parameter groups ----------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [(True, "1"), (False, "0"), (1, "1"), ("ON", "ON")])
def test_parameter_values_are_strings(value, expected):
    assert rds_utils.parameter_value(value) == expected


def test_plan_parameters_sets_differences_and_purges_only_when_asked():
    current = {"rds.force_ssl": "0", "log_min_duration_statement": "500"}
    assert rds_utils.plan_parameters(current, {"rds.force_ssl": 1}, purge=True) == (
        {"rds.force_ssl": "1"},
        ["log_min_duration_statement"],
    )
    assert rds_utils.plan_parameters(current, {"rds.force_ssl": "0"}, purge=False) == ({}, [])
    assert rds_utils.plan_parameters({"rds.force_ssl": "1"}, {"rds.force_ssl": True}, purge=True) == ({}, [])


def test_static_parameters_wait_for_a_reboot():
    assert rds_utils.apply_method("static") == "pending-reboot"
    assert rds_utils.apply_method("dynamic") == "immediate"
    assert rds_utils.apply_method("") == "immediate"  # moto keeps no catalog


def test_plan_tags():
    assert rds_utils.plan_tags({"a": "1", "old": "x"}, {"a": "1", "b": 2}, purge=True) == ({"b": "2"}, ["old"])
    assert rds_utils.plan_tags({"old": "x"}, {}, purge=False) == ({}, [])
    assert rds_utils.plan_tags({"old": "x"}, None, purge=True) == ({}, [])


@mock_aws
def test_parameter_group_round_trip_against_moto():
    client = wrapped(boto3.client("rds", region_name=REGION))
    assert rds_utils.describe_parameter_group(client, "p-local-db-params") is None
    group = rds_utils.create_parameter_group(client, "p-local-db-params", "postgres16", "d", {"Project": "p"})
    assert rds_utils.resource_tags(client, group["DBParameterGroupArn"]) == {"Project": "p"}
    rds_utils.set_parameters(client, "p-local-db-params", {"rds.force_ssl": "1"}, {})
    assert rds_utils.user_parameters(client, "p-local-db-params") == {"rds.force_ssl": "1"}
    rds_utils.apply_tags(client, group["DBParameterGroupArn"], {"Env": "local"}, ["Project"])
    assert rds_utils.resource_tags(client, group["DBParameterGroupArn"]) == {"Env": "local"}
    rds_utils.delete_parameter_group(client, "p-local-db-params")
    assert rds_utils.describe_parameter_group(client, "p-local-db-params") is None


@mock_aws
def test_set_parameters_sends_batches_of_twenty():
    raw = boto3.client("rds", region_name=REGION)
    raw.create_db_parameter_group(DBParameterGroupName="g", DBParameterGroupFamily="postgres16", Description="d")
    batches = []
    raw.meta.events.register(
        "provide-client-params.rds.ModifyDBParameterGroup",
        lambda params, **_: batches.append(len(params["Parameters"])),
    )
    to_set = {f"p{i:02d}": str(i) for i in range(25)}
    rds_utils.set_parameters(wrapped(raw), "g", to_set, {})
    assert batches == [20, 5]
    assert rds_utils.user_parameters(wrapped(raw), "g") == to_set


def test_reset_parameters_uses_the_apply_type():
    # moto does not implement ResetDBParameterGroup, so this is Stubber-only.
    client = boto3.client("rds", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response(
            "reset_db_parameter_group",
            {"DBParameterGroupName": "g"},
            {
                "DBParameterGroupName": "g",
                "Parameters": [
                    {"ParameterName": "shared_preload_libraries", "ApplyMethod": "pending-reboot"},
                    {"ParameterName": "work_mem", "ApplyMethod": "immediate"},
                ],
            },
        )
        rds_utils.reset_parameters(
            wrapped(client), "g", ["shared_preload_libraries", "work_mem"], {"shared_preload_libraries": "static"}
        )
        stub.assert_no_pending_responses()


# -- subnet groups -------------------------------------------------------------------------------
@mock_aws
def test_describe_subnet_groups_reads_the_named_group_with_its_tags_and_every_group_without_a_name():
    raw = boto3.client("rds", region_name=REGION)
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate("ac")
    ]
    tags = {"Project": "p", "Environment": "local", "ManagedBy": "webstack"}
    raw.create_db_subnet_group(
        DBSubnetGroupName="p-local-db-subnets",
        DBSubnetGroupDescription="p-local database, private subnets",
        SubnetIds=subnet_ids,
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    raw.create_db_subnet_group(DBSubnetGroupName="other", DBSubnetGroupDescription="d", SubnetIds=subnet_ids[:1])
    client = wrapped(raw)

    (group,) = rds_utils.describe_subnet_groups(client, "p-local-db-subnets")
    assert group == {
        "name": "p-local-db-subnets",
        "description": "p-local database, private subnets",
        "vpc_id": vpc_id,
        "status": "Complete",
        "arn": raw.describe_db_subnet_groups(DBSubnetGroupName="p-local-db-subnets")["DBSubnetGroups"][0][
            "DBSubnetGroupArn"
        ],
        "subnet_ids": subnet_ids,
        "tags": tags,
    }
    # RDS keeps the names in lower case; the lookup lower-cases the name, as amazon.aws does.
    assert rds_utils.describe_subnet_groups(client, "P-Local-DB-Subnets") == [group]
    everyone = {g["name"]: g for g in rds_utils.describe_subnet_groups(client)}
    assert everyone["p-local-db-subnets"] == group
    assert everyone["other"]["tags"] == {} and everyone["other"]["subnet_ids"] == subnet_ids[:1]


@mock_aws
def test_describe_subnet_groups_answers_an_empty_list_for_a_missing_name():
    client = wrapped(boto3.client("rds", region_name=REGION))
    # AWS (and moto) raise DBSubnetGroupNotFoundFault for an unknown name.
    with pytest.raises(client.client.exceptions.DBSubnetGroupNotFoundFault):
        client.client.describe_db_subnet_groups(DBSubnetGroupName="nope-local-db-subnets")
    assert rds_utils.describe_subnet_groups(client, "nope-local-db-subnets") == []
    assert rds_utils.describe_subnet_groups(client) == []


def test_describe_subnet_groups_retries_throttled_reads(monkeypatch):
    # moto never throttles, so Stubber does: once on the paginated describe, once on the tags.
    sleeps = []
    monkeypatch.setattr(cloud.time, "sleep", sleeps.append)
    client = boto3.client("rds", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    arn = "arn:aws:rds:ap-northeast-2:123456789012:subgrp:g"
    with Stubber(client) as stub:
        stub.add_client_error("describe_db_subnet_groups", service_error_code="Throttling", http_status_code=400)
        stub.add_response(
            "describe_db_subnet_groups",
            {"DBSubnetGroups": [{"DBSubnetGroupName": "g", "DBSubnetGroupArn": arn, "Subnets": []}]},
            {"DBSubnetGroupName": "g"},
        )
        stub.add_client_error("list_tags_for_resource", service_error_code="Throttling", http_status_code=400)
        stub.add_response("list_tags_for_resource", {"TagList": [{"Key": "Project", "Value": "p"}]})
        (group,) = rds_utils.describe_subnet_groups(wrapped(client), "g")
        stub.assert_no_pending_responses()
    assert group["tags"] == {"Project": "p"} and group["subnet_ids"] == []
    assert len(sleeps) == 2
