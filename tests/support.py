"""Helpers the tests share: a runner.py driver and readers of its JSON summary."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

from tests.census import Snapshot, capture
from webstack import cli
from webstack.emulator import Emulator


class Stack:
    """Runs runner.py subcommands against the test moto server and returns their JSON summary."""

    def __init__(self, emulator: Emulator, tmp: Path):
        self.emulator = emulator
        self.tmp = tmp
        self.count = 0
        self.output: list[str] = []  # everything every run printed, stdout and stderr, for secret scans

    def run(
        self,
        command: str,
        *,
        layers: str | None = None,
        extra: dict | None = None,
        tags=None,
        env: str = "local",
        options: tuple[str, ...] = (),
        endpoint: str | None = None,
        **switches: bool,
    ) -> dict:
        """runner.py COMMAND against the test server (or `endpoint`, e.g. a fault proxy in front of
        it); `options` go on the command line as they are, `switches` are flags: delete_data=True ->
        --delete-data."""
        self.count += 1
        summary_file = self.tmp / f"{self.count:02d}-{command}.json"
        argv = [command, "--env", env, "--endpoint-url", endpoint or self.emulator.url]
        argv += ["--summary-file", str(summary_file)]
        if layers:
            argv += ["--layers", layers]
        if tags:
            argv += ["--tags", tags]
        if extra:
            argv += ["--extra-vars", json.dumps(extra)]
        if command == "destroy" and env != "local":
            argv += ["--confirm", env]
        argv += [*options, *(f"--{name.replace('_', '-')}" for name, on in switches.items() if on)]
        out, err = _Tee(sys.stdout), _Tee(sys.stderr)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main(argv)
        self.output += [out.getvalue(), err.getvalue()]
        summary = json.loads(summary_file.read_text())
        summary["exit_code"] = rc
        return summary

    def deploy(self, **kw) -> dict:
        return self.run("deploy", **kw)

    def plan(self, **kw) -> dict:
        return self.run("plan", **kw)

    def destroy(self, **kw) -> dict:
        return self.run("destroy", **kw)


class _Tee(io.StringIO):
    """Keeps what is written and passes it on (to pytest's capture, which tests read with capsys)."""

    def __init__(self, through):
        super().__init__()
        self.through = through

    def write(self, text: str) -> int:
        self.through.write(text)
        return super().write(text)

    def flush(self) -> None:
        self.through.flush()


def changed(summary: dict) -> int:
    return sum(host["changed"] for host in summary["hosts"].values())


def failed(summary: dict) -> int:
    return sum(host["failed"] + host["unreachable"] for host in summary["hosts"].values())


def assert_ok(summary: dict) -> dict:
    assert summary["exit_code"] == 0 and summary["status"] == "successful", json.dumps(summary, indent=2)
    return summary


def tag_filters(project: str, environment: str = "local") -> list[dict]:
    return [
        {"Name": "tag:Project", "Values": [project]},
        {"Name": "tag:Environment", "Values": [environment]},
        {"Name": "tag:ManagedBy", "Values": ["webstack"]},
    ]


def identity_tags(project: str, environment: str = "local") -> list[dict]:
    return [
        {"Key": "Project", "Value": project},
        {"Key": "Environment", "Value": environment},
        {"Key": "ManagedBy", "Value": "webstack"},
    ]


def make_network(aws, project: str, cidr: str = "10.60.0.0/16", environment: str = "local") -> dict:
    """A network shaped and tagged like the network role's, made with boto3 in milliseconds, for
    tests of the layers above it. Returns the same ids the network role publishes."""
    ec2 = aws("ec2")
    base = ".".join(cidr.split(".")[:2])

    def tagged(kind: str, name: str, **extra) -> list[dict]:
        tags = [*identity_tags(project, environment), {"Key": "Name", "Value": f"{project}-{environment}-{name}"}]
        tags += [{"Key": k, "Value": v} for k, v in extra.items()]
        return [{"ResourceType": kind, "Tags": tags}]

    vpc_id = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=tagged("vpc", "vpc"))["Vpc"]["VpcId"]
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])[:2]
    subnets: dict[str, list[str]] = {"public": [], "private": []}
    for index, zone in enumerate(zones):
        for tier, offset in (("public", 0), ("private", 8)):
            subnet = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=f"{base}.{(offset + index) * 16}.0/20",
                AvailabilityZone=zone,
                TagSpecifications=tagged("subnet", f"{tier}-{zone[-1]}", Tier=tier),
            )["Subnet"]
            subnets[tier].append(subnet["SubnetId"])
    groups = {}
    for tier in ("alb", "app", "db"):
        groups[tier] = ec2.create_security_group(
            GroupName=f"{project}-{environment}-{tier}",
            Description=f"{tier} group",
            VpcId=vpc_id,
            TagSpecifications=tagged("security-group", tier, Tier=tier),
        )["GroupId"]
    return {
        "vpc_id": vpc_id,
        "public_subnet_ids": subnets["public"],
        "private_subnet_ids": subnets["private"],
        "security_group_ids": groups,
    }


def destroy_unless_gone(stack: Stack, aws, before: Snapshot, ignoring: tuple[str, ...] = (), **destroy) -> None:
    """A module's safety net: destroy what a failed test left, without a run when nothing is left."""
    if not capture(aws).diff(before).ignoring(*ignoring).empty:
        stack.destroy(**destroy)


def assert_unchanged(aws, before: Snapshot, *, ignoring: tuple[str, ...] = ()) -> None:
    """Nothing the emulator holds, of any type and in either region, differs from `before`."""
    diff = capture(aws).diff(before).ignoring(*ignoring)
    assert diff.empty, f"the emulator's state changed:\n{diff}"
