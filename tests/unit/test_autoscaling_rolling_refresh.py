"""The rolling-refresh logic of webstack.aws.autoscaling_rolling_refresh.

moto 5.2 implements neither StartInstanceRefresh nor DescribeInstanceRefreshes, so these tests
answer the Auto Scaling API with botocore's Stubber: each test lists the calls AWS would receive,
in order, with their exact parameters, and fails on any call not expected.
"""

from __future__ import annotations

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber

from ansible_collections.webstack.aws.plugins.module_utils.autoscaling_rolling_refresh import (
    RefreshError,
    ensure_refreshed,
    outdated,
    refresh_request,
    wait_for_refresh,
)

GROUP = "t-app"
LT = "lt-0123456789abcdef0"
PREFS = {"min_healthy_percentage": 90, "instance_warmup": 120, "auto_rollback": True, "skip_matching": True}


@pytest.fixture
def stubbed():
    raw = boto3.client("autoscaling", region_name="ap-northeast-2", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(raw) as stub:
        yield RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff()), stub
        stub.assert_no_pending_responses()


def group(version: str, instance_versions: list[str]) -> dict:
    return {
        "AutoScalingGroupName": GROUP,
        "MinSize": 1,
        "MaxSize": 3,
        "DesiredCapacity": len(instance_versions),
        "DefaultCooldown": 300,
        "AvailabilityZones": ["ap-northeast-2a"],
        "HealthCheckType": "ELB",
        "CreatedTime": "2026-01-01T00:00:00Z",
        "LaunchTemplate": {"LaunchTemplateId": LT, "Version": version},
        "Instances": [
            {
                "InstanceId": f"i-{index:017x}",
                "AvailabilityZone": "ap-northeast-2a",
                "LifecycleState": "InService",
                "HealthStatus": "Healthy",
                "ProtectedFromScaleIn": False,
                "LaunchTemplate": {"LaunchTemplateId": LT, "Version": v},
            }
            for index, v in enumerate(instance_versions)
        ],
    }


def expect_group(stub, version, instance_versions):
    stub.add_response(
        "describe_auto_scaling_groups",
        {"AutoScalingGroups": [group(version, instance_versions)]},
        {"AutoScalingGroupNames": [GROUP]},
    )


def expect_refreshes(stub, refreshes, ids=None):
    params = {"AutoScalingGroupName": GROUP}
    if ids:
        params["InstanceRefreshIds"] = ids
    stub.add_response("describe_instance_refreshes", {"InstanceRefreshes": refreshes}, params)


def refresh(refresh_id, status, **extra):
    return {"InstanceRefreshId": refresh_id, "AutoScalingGroupName": GROUP, "Status": status, **extra}


def test_outdated_names_the_group_and_each_instance_off_the_version():
    stale = outdated(group("2", ["2", "1", "2"]), LT, "3")
    assert stale == {
        "group": True,
        "group_version": "2",
        "instances": sorted(["i-" + "0" * 17, "i-" + "0" * 16 + "1", "i-" + "0" * 16 + "2"]),
    }
    assert outdated(group("3", ["3"]), LT, "3") == {"group": False, "group_version": "3", "instances": []}
    assert outdated(group("3", ["3"]), "lt-other", "3")["group"] is True


def test_request_is_rolling_with_desired_configuration_and_auto_rollback():
    request = refresh_request(GROUP, LT, "3", PREFS)
    assert request == {
        "AutoScalingGroupName": GROUP,
        "Strategy": "Rolling",
        "DesiredConfiguration": {"LaunchTemplate": {"LaunchTemplateId": LT, "Version": "3"}},
        "Preferences": {"MinHealthyPercentage": 90, "SkipMatching": True, "AutoRollback": True, "InstanceWarmup": 120},
    }


def test_nothing_starts_when_group_and_instances_are_on_the_version(stubbed):
    client, stub = stubbed
    expect_group(stub, "3", ["3", "3"])
    expect_refreshes(stub, [refresh("old", "Successful")])
    result = ensure_refreshed(client, GROUP, LT, "3", PREFS)
    assert result["changed"] is False and result["instance_refresh"] == {}


def test_new_version_starts_one_refresh_and_waits_until_successful(stubbed):
    client, stub = stubbed
    expect_group(stub, "2", ["2", "2"])
    expect_refreshes(stub, [refresh("old", "Successful")])
    stub.add_response("start_instance_refresh", {"InstanceRefreshId": "r-1"}, refresh_request(GROUP, LT, "3", PREFS))
    expect_refreshes(stub, [refresh("r-1", "InProgress", PercentageComplete=50)], ["r-1"])
    expect_refreshes(stub, [refresh("r-1", "Successful", PercentageComplete=100)], ["r-1"])
    sleeps = []
    result = ensure_refreshed(client, GROUP, LT, "3", PREFS, sleep=sleeps.append)
    assert result["changed"] is True
    assert result["instance_refresh"]["Status"] == "Successful"
    assert result["before"]["launch_template_version"] == "2" and len(result["before"]["outdated_instances"]) == 2
    assert result["after"] == {"launch_template_version": "3", "outdated_instances": []}
    assert sleeps == [15]


def test_check_mode_reports_the_change_and_calls_nothing_that_writes(stubbed):
    client, stub = stubbed
    expect_group(stub, "3", ["2"])
    expect_refreshes(stub, [])
    result = ensure_refreshed(client, GROUP, LT, "3", PREFS, check_mode=True)
    assert result["changed"] is True and "would start" in result["msg"]


def test_active_refresh_is_not_doubled_without_wait(stubbed):
    client, stub = stubbed
    expect_group(stub, "2", ["2"])
    expect_refreshes(stub, [refresh("r-1", "InProgress")])
    result = ensure_refreshed(client, GROUP, LT, "3", PREFS, wait=False)
    assert result["changed"] is False and result["instance_refresh"]["InstanceRefreshId"] == "r-1"


def test_active_refresh_is_waited_for_then_compared_again(stubbed):
    client, stub = stubbed
    expect_group(stub, "2", ["2"])
    expect_refreshes(stub, [refresh("r-1", "InProgress")])
    expect_refreshes(stub, [refresh("r-1", "Successful")], ["r-1"])
    expect_group(stub, "3", ["3"])
    result = ensure_refreshed(client, GROUP, LT, "3", PREFS, sleep=lambda _: None)
    assert result["changed"] is False and result["instance_refresh"]["Status"] == "Successful"


@pytest.mark.parametrize("status", ["Failed", "RollbackSuccessful", "Cancelled"])
def test_a_refresh_that_does_not_succeed_fails_with_its_reason(stubbed, status):
    client, stub = stubbed
    expect_refreshes(stub, [refresh("r-1", status, StatusReason="health checks failed")], ["r-1"])
    with pytest.raises(RefreshError, match=f"ended {status}: health checks failed"):
        wait_for_refresh(client, GROUP, "r-1", timeout=60, sleep=lambda _: None)


def test_waiting_gives_up_after_the_timeout(stubbed):
    client, stub = stubbed
    now = iter([0.0, 10.0, 70.0])
    expect_refreshes(stub, [refresh("r-1", "InProgress", PercentageComplete=10)], ["r-1"])
    expect_refreshes(stub, [refresh("r-1", "InProgress", PercentageComplete=20)], ["r-1"])
    with pytest.raises(RefreshError, match="still InProgress after 60 s"):
        wait_for_refresh(client, GROUP, "r-1", timeout=60, sleep=lambda _: None, clock=lambda: next(now))


def test_missing_group_is_an_error(stubbed):
    client, stub = stubbed
    stub.add_response("describe_auto_scaling_groups", {"AutoScalingGroups": []}, {"AutoScalingGroupNames": [GROUP]})
    with pytest.raises(RefreshError, match="does not exist"):
        ensure_refreshed(client, GROUP, LT, "3", PREFS)


def test_throttling_is_retried(stubbed):
    client, stub = stubbed
    stub.add_client_error("describe_auto_scaling_groups", "Throttling", "Rate exceeded")
    expect_group(stub, "3", ["3"])
    expect_refreshes(stub, [])
    assert ensure_refreshed(client, GROUP, LT, "3", PREFS)["changed"] is False
