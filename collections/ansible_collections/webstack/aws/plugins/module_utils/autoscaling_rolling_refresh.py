# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Rolling replacement of an Auto Scaling group's instances through an instance refresh.

Compare-then-act: a refresh starts only when the group, or one of its instances, is not on the
wanted launch template version, and never while another refresh is active. The refresh carries
the wanted version as its desired configuration, so with auto-rollback AWS itself switches the
group to the new version when every instance is replaced, and back when the refresh fails.

The boto3 calls go through a client wrapped with AWSRetry (``module.client(...,
retry_decorator=AWSRetry.jittered_backoff())``) and pass ``aws_retry=True``.
"""

import time
from collections.abc import Callable
from typing import Any

# Statuses of a refresh that still runs (AWS: DescribeInstanceRefreshes).
ACTIVE_STATUSES = ("Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking")
FAILED_STATUSES = ("Failed", "Cancelled", "RollbackFailed", "RollbackSuccessful")


class RefreshError(Exception):
    """A refresh that could not be started, or that ended in another state than Successful."""

    def __init__(self, message: str, refresh: dict[str, Any] | None = None):
        super().__init__(message)
        self.refresh = refresh or {}


def describe_group(client, name: str) -> dict[str, Any] | None:
    groups = client.describe_auto_scaling_groups(AutoScalingGroupNames=[name], aws_retry=True)["AutoScalingGroups"]
    return groups[0] if groups else None


def describe_refreshes(client, name: str, refresh_ids: list[str] | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"AutoScalingGroupName": name}
    if refresh_ids:
        params["InstanceRefreshIds"] = refresh_ids
    return client.describe_instance_refreshes(aws_retry=True, **params)["InstanceRefreshes"]


def active_refresh(client, name: str) -> dict[str, Any] | None:
    for refresh in describe_refreshes(client, name):
        if refresh.get("Status") in ACTIVE_STATUSES:
            return refresh
    return None


def outdated(group: dict[str, Any], template_id: str, version: str) -> dict[str, Any]:
    """What is not on template_id at version: the group's own configuration and its instances."""
    current = group.get("LaunchTemplate") or {}
    group_outdated = current.get("LaunchTemplateId") != template_id or str(current.get("Version")) != version
    instances = []
    for instance in group.get("Instances", []):
        template = instance.get("LaunchTemplate") or {}
        if template.get("LaunchTemplateId") != template_id or str(template.get("Version")) != version:
            instances.append(instance["InstanceId"])
    return {
        "group": group_outdated,
        "group_version": str(current.get("Version", "")),
        "instances": sorted(instances),
    }


def refresh_request(name: str, template_id: str, version: str, preferences: dict[str, Any]) -> dict[str, Any]:
    """The StartInstanceRefresh parameters: a rolling refresh towards the wanted version."""
    prefs: dict[str, Any] = {
        "MinHealthyPercentage": int(preferences.get("min_healthy_percentage", 90)),
        "SkipMatching": bool(preferences.get("skip_matching", True)),
        "AutoRollback": bool(preferences.get("auto_rollback", True)),
    }
    if preferences.get("max_healthy_percentage") is not None:
        prefs["MaxHealthyPercentage"] = int(preferences["max_healthy_percentage"])
    if preferences.get("instance_warmup") is not None:
        prefs["InstanceWarmup"] = int(preferences["instance_warmup"])
    return {
        "AutoScalingGroupName": name,
        "Strategy": "Rolling",
        "DesiredConfiguration": {"LaunchTemplate": {"LaunchTemplateId": template_id, "Version": version}},
        "Preferences": prefs,
    }


def start_refresh(client, request: dict[str, Any]) -> str:
    return client.start_instance_refresh(aws_retry=True, **request)["InstanceRefreshId"]


def wait_for_refresh(
    client,
    name: str,
    refresh_id: str,
    timeout: int,
    delay: int = 15,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Polls until the refresh leaves the active statuses; raises RefreshError unless Successful."""
    deadline = clock() + timeout
    while True:
        refresh = describe_refreshes(client, name, [refresh_id])[0]
        status = refresh.get("Status")
        if status == "Successful":
            return refresh
        if status in FAILED_STATUSES:
            reason = refresh.get("StatusReason", "no reason given")
            raise RefreshError(f"instance refresh {refresh_id} of {name} ended {status}: {reason}", refresh)
        if clock() >= deadline:
            raise RefreshError(
                f"instance refresh {refresh_id} of {name} still {status} after {timeout} s "
                f"({refresh.get('PercentageComplete', 0)}% done); it goes on in AWS",
                refresh,
            )
        sleep(delay)


def ensure_refreshed(
    client,
    name: str,
    template_id: str,
    version: str,
    preferences: dict[str, Any],
    check_mode: bool = False,
    wait: bool = True,
    timeout: int = 1800,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Starts (and optionally waits for) a rolling refresh when something is not on the version.

    Returns a result for exit_json: changed, instance_refresh (the refresh started, followed or
    found running, else {}), before / after for the diff, and a msg.
    """
    group = describe_group(client, name)
    if group is None:
        raise RefreshError(f"Auto Scaling group {name} does not exist")
    wanted = str(int(version))
    stale = outdated(group, template_id, wanted)
    before = {"launch_template_version": stale["group_version"], "outdated_instances": stale["instances"]}
    after = {"launch_template_version": wanted, "outdated_instances": []}
    result: dict[str, Any] = {"changed": False, "instance_refresh": {}, "before": before, "after": before}

    running = active_refresh(client, name)
    if running:
        result["instance_refresh"] = running
        if not wait or check_mode:
            result["msg"] = f"instance refresh {running['InstanceRefreshId']} is already {running['Status']}"
            return result
        result["instance_refresh"] = wait_for_refresh(client, name, running["InstanceRefreshId"], timeout, sleep=sleep)
        group = describe_group(client, name)
        stale = outdated(group, template_id, wanted)

    if not stale["group"] and not stale["instances"]:
        result["msg"] = f"{name} and its instances are on launch template version {wanted}"
        return result

    result.update(changed=True, after=after)
    if check_mode:
        result["msg"] = f"would start a rolling instance refresh of {name} to launch template version {wanted}"
        return result
    refresh_id = start_refresh(client, refresh_request(name, template_id, wanted, preferences))
    if wait:
        result["instance_refresh"] = wait_for_refresh(client, name, refresh_id, timeout, sleep=sleep)
        result["msg"] = f"rolled {name} to launch template version {wanted}"
    else:
        result["instance_refresh"] = describe_refreshes(client, name, [refresh_id])[0]
        result["msg"] = f"started instance refresh {refresh_id} of {name} to launch template version {wanted}"
    return result
