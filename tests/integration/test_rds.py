"""The rds role against the test run's moto server, on a network made with boto3 (make_network):
create, check mode, update, the Secrets Manager managed password, a password from the vault that
never reaches the logs, deletion protection and absent, each asserted on what RDS and Secrets
Manager then hold. Idempotence: the molecule scenario and the site test; bad input:
tests/integration/test_bad_input.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.census import capture
from tests.support import assert_ok, assert_unchanged, changed, destroy_unless_gone, identity_tags, make_network

# The tests share one deployed database, so they must run on one xdist worker. tests/conftest.py
# adds this marker in pytest_collection_modifyitems, but xdist's own hook reads the markers before
# that runs (the file's tests were seen split over two workers); a module mark is read in time.
pytestmark = pytest.mark.xdist_group("tests/integration/test_rds.py")

PROJECT = "t-rds"
INSTANCE = f"{PROJECT}-local-db"
SUBNET_GROUP = f"{PROJECT}-local-db-subnets"
PARAMETER_GROUP = f"{PROJECT}-local-db-params"


def base(network: dict, project: str = PROJECT) -> dict:
    return {
        "webstack_project": project,
        # moto fails gp3 on a second run (ARCHITECTURE.md); the local inventory is meant to set this.
        "rds_storage_type": "gp2",
        "rds_subnet_ids": network["private_subnet_ids"],
        "rds_security_group_ids": [network["security_group_ids"]["db"]],
    }


def instance_of(rds, instance_id: str = INSTANCE) -> dict | None:
    try:
        return rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]
    except rds.exceptions.DBInstanceNotFoundFault:
        return None


def subnet_groups(rds, name: str) -> list:
    return [g for g in rds.describe_db_subnet_groups()["DBSubnetGroups"] if g["DBSubnetGroupName"] == name]


def parameter_groups(rds, name: str) -> list:
    # moto answers an empty list (not DBParameterGroupNotFound) for an unknown name
    try:
        return rds.describe_db_parameter_groups(DBParameterGroupName=name)["DBParameterGroups"]
    except rds.exceptions.DBParameterGroupNotFoundFault:
        return []


def deploy_rds(stack, extra: dict) -> dict:
    return stack.deploy(layers="backend", tags="rds", extra=extra)


def destroy_rds(stack, extra: dict) -> dict:
    return stack.destroy(layers="backend", tags="rds", extra=extra)


@pytest.fixture(scope="module")
def rds(aws):
    return aws("rds")


@pytest.fixture(scope="module")
def network(aws):
    return make_network(aws, PROJECT, cidr="10.61.0.0/16")


@pytest.fixture(scope="module")
def before(aws, network):
    return capture(aws)


@pytest.fixture(scope="module")
def deployed(stack, network, aws, before):
    summary = assert_ok(deploy_rds(stack, base(network)))
    yield summary
    allowed = {**base(network), "rds_allow_destroy": True}
    destroy_unless_gone(stack, aws, before, ("rds:db-snapshot",), layers="backend", tags="rds", extra=allowed)


def test_create_builds_a_private_encrypted_instance(deployed, rds, network):
    db = instance_of(rds)
    assert db is not None and db["DBInstanceStatus"] == "available"
    assert db["Engine"] == "postgres" and db["EngineVersion"].startswith("16.")
    assert db["StorageEncrypted"] is True
    assert db["PubliclyAccessible"] is False
    assert db["StorageType"] == "gp2"
    assert db["CopyTagsToSnapshot"] is True and db["AutoMinorVersionUpgrade"] is True
    assert db["MultiAZ"] is False and db["DeletionProtection"] is False
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [network["security_group_ids"]["db"]]
    assert db["DBSubnetGroup"]["DBSubnetGroupName"] == SUBNET_GROUP
    assert {s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]} == set(network["private_subnet_ids"])
    tags = {t["Key"]: t["Value"] for t in db["TagList"]}
    assert tags == {"Project": PROJECT, "Environment": "local", "ManagedBy": "webstack", "Name": INSTANCE}

    outputs = deployed["outputs"]["rds"]
    assert outputs["instance_id"] == INSTANCE
    assert outputs["endpoint"] == db["Endpoint"]["Address"] and outputs["port"] == db["Endpoint"]["Port"] == 5432


def test_parameter_group_forces_tls(deployed, rds):
    (group,) = parameter_groups(rds, PARAMETER_GROUP)
    assert group["DBParameterGroupFamily"] == "postgres16"
    params = rds.describe_db_parameters(DBParameterGroupName=PARAMETER_GROUP, Source="user")["Parameters"]
    assert {p["ParameterName"]: p["ParameterValue"] for p in params} == {"rds.force_ssl": "1"}
    assert [g["DBParameterGroupName"] for g in instance_of(rds)["DBParameterGroups"]] == [PARAMETER_GROUP]


def test_master_password_is_kept_in_secrets_manager(deployed, rds, aws):
    arn = deployed["outputs"]["rds"]["master_secret_arn"]
    assert arn.startswith("arn:aws:secretsmanager:")
    assert instance_of(rds)["MasterUserSecret"]["SecretArn"] == arn
    secret = aws("secretsmanager").describe_secret(SecretId=arn)
    assert secret["ARN"] == arn and "DeletedDate" not in secret


def test_plan_of_an_update_writes_nothing_then_deploy_applies_it(deployed, stack, network, rds, aws):
    update = {**base(network), "rds_backup_retention_days": 7, "rds_instance_class": "db.t4g.small"}

    unplanned = capture(aws)
    plan = assert_ok(stack.plan(layers="backend", tags="rds", extra=update))
    assert changed(plan) > 0
    assert_unchanged(aws, unplanned)

    kept = instance_of(rds)["InstanceCreateTime"]
    assert_ok(deploy_rds(stack, update))
    db = instance_of(rds)
    assert (db["BackupRetentionPeriod"], db["DBInstanceClass"]) == (7, "db.t4g.small")
    assert db["InstanceCreateTime"] == kept  # README: deploy never deletes user data -- modified, not replaced
    assert db["MasterUserSecret"]["SecretArn"] == deployed["outputs"]["rds"]["master_secret_arn"]


def test_a_newer_minor_version_from_rds_is_kept(deployed, stack, network, rds):
    # RDS's auto minor version upgrade moves 16.8 to 16.9; a run must not ask for a downgrade.
    rds.modify_db_instance(DBInstanceIdentifier=INSTANCE, EngineVersion="16.9", ApplyImmediately=True)
    summary = assert_ok(
        deploy_rds(stack, {**base(network), "rds_backup_retention_days": 7, "rds_instance_class": "db.t4g.small"})
    )
    assert changed(summary) == 0
    assert instance_of(rds)["EngineVersion"] == "16.9"


def vaulted(tmp_path: Path, name: str, value: str) -> tuple[str, ...]:
    """runner.py options that hand `name` to the playbooks from an Ansible Vault-encrypted vars file."""
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault_password = "vault-key-for-tests"
    (tmp_path / "vault-pass").write_text(vault_password + "\n")
    ciphertext = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(vault_password.encode()))]).encrypt(value).decode()
    indented = "".join(f"  {line}\n" for line in ciphertext.splitlines())
    (tmp_path / "secrets.yml").write_text(f"{name}: !vault |\n{indented}")
    assert value not in (tmp_path / "secrets.yml").read_text()
    return ("-e", f"@{tmp_path / 'secrets.yml'}", "--vault-password-file", str(tmp_path / "vault-pass"))


def test_password_from_the_vault_never_reaches_logs_or_artifacts(stack, aws, rds, network, capsys, tmp_path):
    """rds_master_password from an Ansible Vault file: deploy, a second deploy, plan, outputs and
    destroy print it nowhere and write it to no summary or artifact."""
    project = "t-rds-pw"
    untouched = capture(aws)
    password = "Vault-only-pw-7f3e91c2"
    secret = vaulted(tmp_path, "rds_master_password", password)
    extra = base(network, project)
    try:
        summary = assert_ok(stack.deploy(layers="backend", tags="rds", extra=extra, options=secret))
        assert summary["outputs"]["rds"]["master_secret_arn"] == ""
        db = instance_of(rds, f"{project}-local-db")
        assert db is not None and "MasterUserSecret" not in db
        assert changed(assert_ok(stack.deploy(layers="backend", tags="rds", extra=extra, options=secret))) == 0
        assert changed(assert_ok(stack.plan(layers="backend", tags="rds", extra=extra, options=secret))) == 0
        assert assert_ok(stack.run("outputs", extra=extra, options=secret))["outputs"]["rds"]["instance_id"] == (
            f"{project}-local-db"
        )
    finally:
        assert_ok(stack.destroy(layers="backend", tags="rds", extra=extra, options=secret))
    assert_unchanged(aws, untouched)

    captured = capsys.readouterr()
    assert password not in captured.out and password not in captured.err
    artifacts = Path(os.environ["WEBSTACK_STATE_DIR"]) / "runner"
    files = [p for p in artifacts.rglob("*") if p.is_file()] + list(stack.tmp.glob("*.json"))
    mentioning_db = [p for p in files if f"{project}-local-db" in p.read_text(errors="replace")]
    assert mentioning_db, "the artifacts hold the run's events (the check would be empty otherwise)"
    leaking = [str(p) for p in files if password in p.read_text(errors="replace")]
    assert leaking == []


def test_deletion_protection_refuses_absent_until_allowed_then_absent_removes_everything(
    deployed, stack, network, rds, aws, before, capsys
):
    prod_like = {
        **base(network),
        "rds_backup_retention_days": 7,
        "rds_instance_class": "db.t4g.small",
        "rds_deletion_protection": True,
        "rds_final_snapshot": True,
    }
    assert_ok(deploy_rds(stack, prod_like))
    assert instance_of(rds)["DeletionProtection"] is True

    refused = destroy_rds(stack, prod_like)
    assert refused["exit_code"] != 0
    assert "rds_allow_destroy" in capsys.readouterr().err
    assert instance_of(rds) is not None and subnet_groups(rds, SUBNET_GROUP)

    secret_arn = deployed["outputs"]["rds"]["master_secret_arn"]
    assert_ok(destroy_rds(stack, {**prod_like, "rds_allow_destroy": True}))
    assert instance_of(rds) is None
    assert secret_arn not in [s["ARN"] for s in aws("secretsmanager").list_secrets()["SecretList"]]
    assert_unchanged(aws, before, ignoring=("rds:db-snapshot",))  # the final snapshot stays, by design
    snapshots = rds.describe_db_snapshots(DBInstanceIdentifier=INSTANCE)["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"].startswith(f"{INSTANCE}-final-") for s in snapshots] == [True]


def test_a_second_absent_is_a_no_op(deployed, stack, network, rds):
    assert changed(assert_ok(destroy_rds(stack, base(network)))) == 0
    assert instance_of(rds) is None


def test_a_same_named_instance_and_groups_that_are_not_the_stacks_are_refused_and_left_as_they_were(
    stack, aws, rds, network
):
    """A DB instance, subnet group and parameter group at the stack's names that do not carry the
    stack's tags are someone else's (here another webstack stack whose project differs only in
    case, so its lower-cased names are the same): deploy fails naming them before rds_subnet_group,
    rds_parameter_group or rds_instance touch them, and destroy fails the same way, deleting none."""
    project = "t-rds-foreign"
    prefix = f"{project}-local"
    theirs = identity_tags(project.upper())
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"{prefix}-db-subnets",
        DBSubnetGroupDescription="theirs",
        SubnetIds=network["private_subnet_ids"][:1] + network["public_subnet_ids"][1:],
        Tags=theirs,
    )
    rds.create_db_parameter_group(
        DBParameterGroupName=f"{prefix}-db-params",
        DBParameterGroupFamily="postgres16",
        Description="theirs",
        Tags=theirs,
    )
    rds.create_db_instance(
        DBInstanceIdentifier=f"{prefix}-db",
        DBInstanceClass="db.t4g.small",
        Engine="postgres",
        EngineVersion="16.8",
        AllocatedStorage=30,
        MasterUsername="theirs",
        MasterUserPassword="their-password-1",
        DBSubnetGroupName=f"{prefix}-db-subnets",
        DBParameterGroupName=f"{prefix}-db-params",
        Tags=theirs,
    )
    try:
        extra = {**base(network, project), "rds_delete_data": True}
        for run in (stack.deploy, stack.destroy):
            summary = run(layers="backend", tags="rds", extra=extra)
            assert summary["status"] == "failed"
            assert (
                f"rds_project / rds_environment: the DB instance {prefix}-db, the DB subnet group {prefix}-db-subnets,"
                f" the DB parameter group {prefix}-db-params exist but do not carry the tags"
            ) in stack.output[-1]
            assert "they are not this stack's; nothing was changed" in stack.output[-1]
        db = instance_of(rds, f"{prefix}-db")
        assert (db["DBInstanceClass"], db["AllocatedStorage"], db["MasterUsername"]) == ("db.t4g.small", 30, "theirs")
        assert db["TagList"] == theirs
        (subnet_group,) = subnet_groups(rds, f"{prefix}-db-subnets")
        assert subnet_group["DBSubnetGroupDescription"] == "theirs"
        kept_subnets = sorted(s["SubnetIdentifier"] for s in subnet_group["Subnets"])
        assert kept_subnets == sorted(network["private_subnet_ids"][:1] + network["public_subnet_ids"][1:])
        arn = subnet_group["DBSubnetGroupArn"]
        assert rds.list_tags_for_resource(ResourceName=arn)["TagList"] == theirs
        (parameter_group,) = parameter_groups(rds, f"{prefix}-db-params")
        arn = parameter_group["DBParameterGroupArn"]
        assert rds.list_tags_for_resource(ResourceName=arn)["TagList"] == theirs
        user_set = rds.describe_db_parameters(DBParameterGroupName=f"{prefix}-db-params", Source="user")["Parameters"]
        assert user_set == []
    finally:
        rds.delete_db_instance(DBInstanceIdentifier=f"{prefix}-db", SkipFinalSnapshot=True)
        rds.delete_db_subnet_group(DBSubnetGroupName=f"{prefix}-db-subnets")
        rds.delete_db_parameter_group(DBParameterGroupName=f"{prefix}-db-params")
