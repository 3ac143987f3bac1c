"""The network layer against the test run's moto server: create, check mode, update and absent,
each asserted on what EC2 then holds. Idempotence: the molecule scenario and the site test; bad
input: tests/integration/test_bad_input.py."""

from __future__ import annotations

import pytest

from tests.census import capture
from tests.support import assert_ok, assert_unchanged, changed, destroy_unless_gone, tag_filters

PROJECT = "t-network"
BASE = {"webstack_project": PROJECT, "network_vpc_cidr": "10.50.0.0/16"}


def vpc_of(ec2) -> dict | None:
    vpcs = ec2.describe_vpcs(Filters=tag_filters(PROJECT))["Vpcs"]
    assert len(vpcs) <= 1, vpcs
    return vpcs[0] if vpcs else None


def in_vpc(vpc_id: str) -> list[dict]:
    return [{"Name": "vpc-id", "Values": [vpc_id]}]


def live_nats(ec2, vpc_id):
    nats = ec2.describe_nat_gateways(Filters=in_vpc(vpc_id))["NatGateways"]
    return [n for n in nats if n["State"] in ("pending", "available")]


def rules(group: dict, key: str) -> list[dict]:
    return group[key]


@pytest.fixture(scope="module")
def ec2(aws):
    return aws("ec2")


@pytest.fixture(scope="module")
def before(aws):
    return capture(aws)


@pytest.fixture(scope="module")
def deployed(stack, aws, before):
    summary = assert_ok(stack.deploy(layers="network", extra=BASE))
    yield summary
    destroy_unless_gone(stack, aws, before, layers="network", extra=BASE)


def test_create_builds_subnets_in_two_zones(deployed, ec2):
    vpc = vpc_of(ec2)
    assert vpc and vpc["CidrBlock"] == "10.50.0.0/16"
    assert deployed["outputs"]["network"]["vpc_id"] == vpc["VpcId"]
    subnets = ec2.describe_subnets(Filters=in_vpc(vpc["VpcId"]))["Subnets"]
    tiers = {}
    for subnet in subnets:
        tags = {t["Key"]: t["Value"] for t in subnet["Tags"]}
        assert {"Project": PROJECT, "Environment": "local", "ManagedBy": "webstack"}.items() <= tags.items()
        assert subnet["MapPublicIpOnLaunch"] is False
        tiers.setdefault(tags["Tier"], set()).add(subnet["AvailabilityZone"])
    assert len(tiers["public"]) >= 2 and tiers["public"] == tiers["private"]
    assert len(subnets) == 4


def test_private_subnets_route_out_through_nat_only(deployed, ec2):
    vpc_id = vpc_of(ec2)["VpcId"]
    private_ids = set(deployed["outputs"]["network"]["private_subnet_ids"])
    nat_ids = {n["NatGatewayId"] for n in live_nats(ec2, vpc_id)}
    assert len(nat_ids) == 1
    tables = ec2.describe_route_tables(Filters=in_vpc(vpc_id))["RouteTables"]
    routed = set()
    for table in tables:
        subnets = {a["SubnetId"] for a in table["Associations"] if a.get("SubnetId")}
        if subnets & private_ids:
            defaults = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
            assert len(defaults) == 1 and defaults[0].get("NatGatewayId") in nat_ids
            assert not any(r.get("GatewayId", "").startswith("igw-") for r in table["Routes"])
            routed |= subnets
    assert routed == private_ids


def test_security_groups_reference_groups_not_cidrs(deployed, ec2):
    groups = deployed["outputs"]["network"]["security_group_ids"]
    described = {
        g["GroupId"]: g for g in ec2.describe_security_groups(GroupIds=list(groups.values()))["SecurityGroups"]
    }
    alb, app, db = (described[groups[k]] for k in ("alb", "app", "db"))
    assert sorted(p["FromPort"] for p in alb["IpPermissions"]) == [80, 443]
    assert all(
        p["IpRanges"] == [{"CidrIp": "0.0.0.0/0", "Description": "HTTP and HTTPS from clients"}]
        for p in alb["IpPermissions"]
    )
    (app_in,) = app["IpPermissions"]
    assert app_in["FromPort"] == 8080 and app_in["IpRanges"] == []
    assert [p["GroupId"] for p in app_in["UserIdGroupPairs"]] == [alb["GroupId"]]
    (db_in,) = db["IpPermissions"]
    assert db_in["FromPort"] == 5432 and db_in["IpRanges"] == []
    assert [p["GroupId"] for p in db_in["UserIdGroupPairs"]] == [app["GroupId"]]
    assert db["IpPermissionsEgress"] == []
    default = ec2.describe_security_groups(
        Filters=[*in_vpc(vpc_of(ec2)["VpcId"]), {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]
    assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []


def test_plan_json_of_the_unchanged_layer_exits_0_with_no_change(deployed, stack):
    plan = stack.plan(layers="network", extra=BASE, options=("--json",))
    assert (plan["exit_code"], plan["changes"]) == (0, {"network": []})


def test_plan_of_a_change_writes_nothing_then_deploy_applies_it(deployed, stack, ec2, aws):
    vpc_id = vpc_of(ec2)["VpcId"]
    per_az = {**BASE, "network_nat_gateway_mode": "per_az"}

    unplanned = capture(aws)
    plan = stack.plan(layers="network", extra=per_az, options=("--json",))
    assert plan["exit_code"] == 2 and plan["status"] == "successful"  # plan --json: 2 = changes pending
    assert changed(plan) > 0
    planned = {change["task"] for change in plan["changes"]["network"]}
    assert "Ensure the NAT gateways exist in the public subnets" in planned
    assert_unchanged(aws, unplanned)

    assert_ok(stack.deploy(layers="network", extra=per_az))
    nats = live_nats(ec2, vpc_id)
    assert len(nats) == 2 and len({n["SubnetId"] for n in nats}) == 2
    nat_az = {n["NatGatewayId"]: n["SubnetId"] for n in nats}
    subnet_az = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets(Filters=in_vpc(vpc_id))["Subnets"]}
    for table in ec2.describe_route_tables(Filters=in_vpc(vpc_id) + tag_filters(PROJECT))["RouteTables"]:
        nat_routes = [r["NatGatewayId"] for r in table["Routes"] if r.get("NatGatewayId")]
        for assoc in table["Associations"]:
            if nat_routes and assoc.get("SubnetId"):
                assert subnet_az[nat_az[nat_routes[0]]] == subnet_az[assoc["SubnetId"]]


def test_destroy_leaves_nothing(deployed, stack, ec2, aws, before, emulator):
    """With the emulator holding the NAT gateway's network interface for some seconds after the
    gateway is deleted, as AWS does: destroy waits for its subnet, saying so, and finishes."""
    emulator.hold_releases(25)  # long enough to outlast the NAT and route-table removal on a loaded machine
    try:
        # Retried every second: the run ends a second after the release, not up to ten.
        assert_ok(stack.destroy(layers="network", extra={**BASE, "network_release_delay": 1}))
    finally:
        emulator.hold_releases(0)
    assert "[network] waiting  Remove the subnets: " in stack.output[-1]
    assert vpc_of(ec2) is None
    assert_unchanged(aws, before)
    assert changed(assert_ok(stack.destroy(layers="network", extra=BASE))) == 0  # a second destroy is a no-op


def test_a_same_named_vpc_that_is_not_the_stacks_is_refused_and_left_as_it_was(stack, ec2):
    """A VPC with the stack's Name tag and CIDR but without the stack's tags is someone else's:
    ec2_vpc_net would adopt it (and the role fill it with subnets, gateways and groups), so deploy
    fails naming network_project / network_environment first, and destroy (by tag) leaves it."""
    project = "t-network-foreign"
    theirs = [{"Key": "Name", "Value": f"{project}-local-vpc"}, {"Key": "Project", "Value": "someone-else"}]
    vpc_id = ec2.create_vpc(CidrBlock="10.51.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": theirs}])[
        "Vpc"
    ]["VpcId"]
    try:
        extra = {"webstack_project": project, "network_vpc_cidr": "10.51.0.0/16"}
        summary = stack.deploy(layers="network", extra=extra)
        assert summary["status"] == "failed"
        assert (
            f"network_project / network_environment: the VPC {project}-local-vpc ({vpc_id}, 10.51.0.0/16) exists"
            " but does not carry the tags"
        ) in stack.output[-1]
        assert "it is not this stack's; nothing was changed" in stack.output[-1]
        assert_ok(stack.destroy(layers="network", extra=extra))
        (vpc,) = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
        assert sorted(vpc["Tags"], key=lambda t: t["Key"]) == theirs
        hostnames = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")["EnableDnsHostnames"]
        assert hostnames["Value"] is False
        assert ec2.describe_subnets(Filters=in_vpc(vpc_id))["Subnets"] == []
        assert (
            ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])[
                "InternetGateways"
            ]
            == []
        )
        groups = ec2.describe_security_groups(Filters=in_vpc(vpc_id))["SecurityGroups"]
        assert [g["GroupName"] for g in groups] == ["default"]
    finally:
        ec2.delete_vpc(VpcId=vpc_id)
