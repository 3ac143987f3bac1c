"""destroy outside local: a confirmation naming the environment, a teardown plan that names every
blocker across the layers before the first deletion, user data deleted only with --delete-data,
and the database's final snapshot kept and named.

The prod inventory runs against the test's moto server (a loopback endpoint gets fake
credentials) with its own protections: ALB and RDS deletion protection and a final snapshot. The
network comes from make_network, tagged as the prod network role would tag it; moto's gaps are
switched off as the local inventory switches them off (user data, instance refresh, gp3)."""

from __future__ import annotations

import json
import socket

import pytest

from tests.census import capture
from tests.support import assert_ok, assert_unchanged, destroy_unless_gone, make_network
from webstack import cli

PROJECT = "t-guard"
LAYERS = "backend,frontend"
MOTO = {
    "webstack_project": PROJECT,
    "webstack_domain": "t-guard.example.com",
    "autoscaling_user_data_enabled": False,
    "autoscaling_instance_refresh_enabled": False,
    "rds_storage_type": "gp2",
}
UNBLOCKED = {**MOTO, "load_balancer_deletion_protection": False, "rds_allow_destroy": True}


@pytest.fixture(scope="module")
def network(aws):
    return make_network(aws, PROJECT, "10.64.0.0/16", environment="prod")


@pytest.fixture(scope="module")
def before(aws, network):
    return capture(aws)


@pytest.fixture(scope="module")
def deployed(stack, aws, before):
    summary = assert_ok(stack.deploy(layers=LAYERS, extra=MOTO, env="prod"))
    bucket = summary["outputs"]["static_site"]["bucket_name"]
    aws("s3").put_object(Bucket=bucket, Key="index.html", Body=b"<html>the user's site</html>")
    yield summary
    left = {"layers": LAYERS, "extra": UNBLOCKED, "env": "prod", "delete_data": True}
    destroy_unless_gone(stack, aws, before, ("rds:db-snapshot",), **left)


def test_destroy_outside_local_without_a_confirmation_deletes_nothing(deployed, aws, tmp_path, capsys):
    untouched = capture(aws)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    for confirmation in ([], ["--confirm", "dev"]):
        argv = ["destroy", "--env", "prod", "--endpoint-url", f"http://127.0.0.1:{port}", *confirmation]
        assert cli.main([*argv, "--summary-file", str(tmp_path / "refused.json")]) == 2
        err = capsys.readouterr().err
        assert "--confirm: destroying prod needs a confirmation naming the environment: --confirm prod" in err
        assert "Nothing was deleted." in err
    assert_unchanged(aws, untouched)


def test_every_blocker_is_named_before_anything_is_deleted(deployed, stack, aws, capsys):
    untouched = capture(aws)
    refused = stack.destroy(layers=LAYERS, extra=MOTO, env="prod")
    assert refused["exit_code"] != 0 and refused["status"] == "refused"
    blockers = "\n".join(refused["blockers"])
    for variable in (
        "load_balancer_deletion_protection: t-guard-prod-alb has deletion protection on",
        "rds_allow_destroy: the DB instance t-guard-prod-db has deletion protection on",
        "rds_delete_data: the DB instance t-guard-prod-db holds the stack data",
        f"static_site_delete_data: the bucket {deployed['outputs']['static_site']['bucket_name']} still holds",
    ):
        assert variable in blockers, blockers
    assert "destroy refused before deleting anything" in capsys.readouterr().err
    assert_unchanged(aws, untouched)

    # Protection lifted, but not the data switch: still refused, still nothing deleted.
    refused = stack.destroy(layers=LAYERS, extra=UNBLOCKED, env="prod")
    assert refused["status"] == "refused"
    assert sorted(b.split(": ", 1)[0] for b in refused["blockers"]) == [
        "[backend] rds_delete_data",
        "[frontend] static_site_delete_data",
    ]
    assert_unchanged(aws, untouched)


def test_plan_destroy_lists_the_teardown_and_deletes_nothing(deployed, stack, aws):
    untouched = capture(aws)
    blocked = stack.run("plan", layers=LAYERS, extra=UNBLOCKED, env="prod", destroy=True)
    assert blocked["exit_code"] != 0  # the data blockers, reported by the plan too
    plan = assert_ok(stack.run("plan", layers=LAYERS, extra=UNBLOCKED, env="prod", destroy=True, delete_data=True))
    assert_unchanged(aws, untouched)
    assert {name for name, layer in plan["layers"].items() if layer["hosts"]["localhost"]["changed"]} == {
        "backend",
        "frontend",
    }


def test_a_confirmed_destroy_with_delete_data_leaves_only_the_named_final_snapshot(
    deployed, stack, aws, before, capsys
):
    summary = assert_ok(stack.destroy(layers=LAYERS, extra=UNBLOCKED, env="prod", delete_data=True))
    snapshot = summary["outputs"]["rds"]["final_snapshot_id"]
    assert snapshot.startswith("t-guard-prod-db-final-")
    assert f"Kept: the database's final snapshot {snapshot}" in capsys.readouterr().err
    diff = capture(aws).diff(before)
    assert diff.added == {"ap-northeast-2/rds:db-snapshot": [snapshot]}, str(diff)
    assert not diff.removed and not diff.changed, str(diff)
    aws("rds").delete_db_snapshot(DBSnapshotIdentifier=snapshot)
    json.dumps(summary)
