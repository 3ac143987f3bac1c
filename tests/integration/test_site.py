"""The whole seed architecture end to end, as `runner.py` runs it: deploy every layer, a second
deploy with changed=0, plan writing nothing, outputs, verify passing, destroy leaving nothing."""

from __future__ import annotations

import json

import pytest

import runner
from tests.support import assert_ok, changed, leftovers

PROJECT = "t-site"
BASE = {"webstack_project": PROJECT}
DOMAIN = "webstack.local.test"


@pytest.fixture(scope="module")
def deployed(stack):
    summary = assert_ok(stack.deploy(extra=BASE))
    yield summary
    stack.destroy(extra=BASE)


def test_every_layer_deploys_and_reports_its_endpoints(deployed):
    assert set(deployed["layers"]) == set(runner.available_layers())
    outputs = json.dumps(deployed["outputs"])
    for expected in (f"https://{DOMAIN}", f"https://api.{DOMAIN}", ".cloudfront.net", ".elb.", "us-east-1"):
        assert expected in outputs, expected


def test_second_deploy_changes_nothing(deployed, stack):
    assert changed(assert_ok(stack.deploy(extra=BASE))) == 0


def test_plan_of_an_unchanged_stack_writes_nothing(deployed, stack):
    assert changed(assert_ok(stack.plan(extra=BASE))) == 0


def test_outputs_reads_the_endpoints_back(deployed, stack):
    outputs = json.dumps(assert_ok(stack.run("outputs", extra=BASE))["outputs"])
    assert f"https://api.{DOMAIN}" in outputs and ".cloudfront.net" in outputs


def test_verify_passes_every_check(deployed, stack):
    summary = stack.run("verify", extra=BASE)
    failed = [c for c in summary["checks"] if c["result"] == "FAIL"]
    assert summary["exit_code"] == 0 and not failed, json.dumps(failed, indent=2)
    assert len([c for c in summary["checks"] if c["result"] == "PASS"]) >= 15


def test_destroy_leaves_nothing(deployed, stack, aws):
    assert_ok(stack.destroy(extra=BASE))
    assert leftovers(aws, PROJECT) == []
    # The tagging API does not cover every service in moto: read the ones it may miss directly.
    assert [
        lb for lb in aws("elbv2").describe_load_balancers()["LoadBalancers"] if PROJECT in lb["LoadBalancerName"]
    ] == []
    assert [
        db for db in aws("rds").describe_db_instances()["DBInstances"] if PROJECT in db["DBInstanceIdentifier"]
    ] == []
    groups = aws("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert [g for g in groups if PROJECT in g["AutoScalingGroupName"]] == []
    distributions = aws("cloudfront", "us-east-1").list_distributions()["DistributionList"].get("Items", [])
    assert [d for d in distributions if PROJECT in d.get("Comment", "")] == []
    certificates = aws("acm", "us-east-1").list_certificates()["CertificateSummaryList"]
    certificates += aws("acm").list_certificates()["CertificateSummaryList"]
    assert [c for c in certificates if c["DomainName"].endswith(DOMAIN)] == []
