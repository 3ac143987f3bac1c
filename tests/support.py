"""Helpers the tests share: a runner.py driver and readers of its JSON summary."""

from __future__ import annotations

import json
from pathlib import Path

import runner
from emulator import Emulator


class Stack:
    """Runs runner.py subcommands against the test moto server and returns their JSON summary."""

    def __init__(self, emulator: Emulator, tmp: Path):
        self.emulator = emulator
        self.tmp = tmp
        self.count = 0

    def run(self, command: str, *, layers: str | None = None, extra: dict | None = None, tags=None) -> dict:
        self.count += 1
        summary_file = self.tmp / f"{self.count:02d}-{command}.json"
        argv = [command, "--env", "local", "--endpoint-url", self.emulator.url, "--summary-file", str(summary_file)]
        if layers:
            argv += ["--layers", layers]
        if tags:
            argv += ["--tags", tags]
        if extra:
            argv += ["--extra-vars", json.dumps(extra)]
        rc = runner.main(argv)
        summary = json.loads(summary_file.read_text())
        summary["exit_code"] = rc
        return summary

    def deploy(self, **kw) -> dict:
        return self.run("deploy", **kw)

    def plan(self, **kw) -> dict:
        return self.run("plan", **kw)

    def destroy(self, **kw) -> dict:
        return self.run("destroy", **kw)


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


def make_network(aws, project: str, cidr: str = "10.60.0.0/16") -> dict:
    """A network shaped and tagged like the network role's, made with boto3 in milliseconds, for
    tests of the layers above it. Returns the same ids the network role publishes."""
    ec2 = aws("ec2")
    base = ".".join(cidr.split(".")[:2])

    def tagged(kind: str, name: str, **extra) -> list[dict]:
        tags = [*identity_tags(project), {"Key": "Name", "Value": f"{project}-local-{name}"}]
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
            GroupName=f"{project}-local-{tier}",
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


def leftovers(aws, project: str) -> list[str]:
    """ARNs of everything still tagged Project=<project>. A deleted NAT gateway and a terminated
    instance stay visible (with their tags) for about an hour on AWS, and in moto: they are gone,
    not left over."""
    tagging = aws("resourcegroupstaggingapi")
    arns = [
        item["ResourceARN"]
        for page in tagging.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": "Project", "Values": [project]}]
        )
        for item in page["ResourceTagMappingList"]
    ]
    nat_ids = [arn.rsplit("/", 1)[1] for arn in arns if ":natgateway/" in arn]
    if nat_ids:
        nats = aws("ec2").describe_nat_gateways(NatGatewayIds=nat_ids)["NatGateways"]
        gone = {n["NatGatewayId"] for n in nats if n["State"] in ("deleting", "deleted")}
        arns = [arn for arn in arns if arn.rsplit("/", 1)[1] not in gone]
    instance_ids = [arn.rsplit("/", 1)[1] for arn in arns if ":instance/" in arn]
    if instance_ids:
        reservations = aws("ec2").describe_instances(InstanceIds=instance_ids)["Reservations"]
        ended = {
            i["InstanceId"]
            for r in reservations
            for i in r["Instances"]
            if i["State"]["Name"] in ("shutting-down", "terminated")
        }
        arns = [arn for arn in arns if arn.rsplit("/", 1)[1] not in ended]
    return arns
