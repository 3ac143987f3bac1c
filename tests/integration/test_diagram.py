"""`runner.py outputs --diagram`: the picture holds every resource the deployed stack has.

The check against a deployed stack, `assert_diagram_holds_the_stack`, runs in test_site.py's group
on its shared site (one deploy for the whole file); the test here draws a small graph without AWS,
so a broken Graphviz install or renderer shows up on its own."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ansible_collections.webstack.aws.plugins.module_utils import stack_checks
from tests.census import capture
from tests.support import assert_ok, assert_unchanged
from webstack import diagram

SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def svg_nodes(path: Path) -> dict[str, str]:
    """{node id: its text} of a Graphviz SVG (each node is a <g class="node"> titled by its id)."""
    root = ET.parse(path).getroot()
    nodes = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "node":
            title = group.find(f"{SVG}title").text
            nodes[title] = "\n".join(t.text or "" for t in group.iter(f"{SVG}text"))
    return nodes


def svg_edges(path: Path) -> set[tuple[str, str]]:
    root = ET.parse(path).getroot()
    return {
        tuple(group.find(f"{SVG}title").text.split("->"))
        for group in root.iter(f"{SVG}g")
        if group.get("class") == "edge"
    }


def test_render_writes_png_and_svg_by_suffix_or_both(tmp_path):
    g = diagram.Graph("t")
    users = g.add("users", "clients", "clients")
    lb = g.add("load_balancer", "arn:aws:elasticloadbalancing:ap-northeast-2:1:loadbalancer/app/x/1", "ALB x")
    cert = g.add("certificate", "arn:aws:acm:ap-northeast-2:1:certificate/c", "ACM certificate (ap-northeast-2)")
    g.link(users, lb)
    g.link(lb, cert, kind="uses")
    assert ":" not in lb  # Graphviz would read "a:b" in an edge as node a, port b

    (png,) = diagram.render(g, tmp_path / "one.png")
    assert png == tmp_path / "one.png" and png.read_bytes().startswith(PNG_MAGIC)
    (svg,) = diagram.render(g, tmp_path / "one.svg")
    assert set(svg_nodes(svg)) == set(g.nodes)
    assert svg_edges(svg) == {(users, lb), (lb, cert)}
    assert "ALB x" in svg_nodes(svg)[lb]
    assert "/site-packages/" not in svg.read_text()  # the icons are inside, not links into the venv
    both = diagram.render(g, tmp_path / "sub" / "both")
    assert both == [tmp_path / "sub" / "both.png", tmp_path / "sub" / "both.svg"]
    assert all(p.stat().st_size > 0 for p in both)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.png", "one.svg", "sub"]  # no dot source left


def _tagged(stack: stack_checks.Stack, aws, region: str):
    """What boto3 itself reads of the stack, independently of diagram."""
    elbv2, ec2 = aws("elbv2", region), aws("ec2", region)
    lb = stack.load_balancer()
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    group = stack.auto_scaling_group()
    subnets = ec2.describe_subnets(SubnetIds=group["VPCZoneIdentifier"].split(","))["Subnets"]
    launch = ec2.describe_launch_template_versions(
        LaunchTemplateName=group["LaunchTemplate"]["LaunchTemplateName"], Versions=["$Latest"]
    )["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    security_groups = ec2.describe_security_groups(Filters=stack.tag_filters())["SecurityGroups"]
    (db,) = stack.databases()
    dist = stack.distribution()
    zone = stack.hosted_zone()
    return {
        "lb": lb,
        "listeners": listeners,
        "target_groups": elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"],
        "group": group,
        "subnets": subnets,
        "app_groups": set(launch["NetworkInterfaces"][0]["Groups"]),
        "security_groups": security_groups,
        "db": db,
        "dist": dist,
        "records": {name for (name, kind) in stack.records(zone["Id"]) if kind not in ("NS", "SOA")},
    }


def assert_diagram_holds_the_stack(stack, aws, tmp_path: Path, *, project: str, region: str, domain: str, extra):
    """`outputs --diagram` writes nothing to AWS and draws every resource of the stack and the links
    between them, as boto3 reads them: the graph data (diagram.graph) against describe
    calls, then the PNG and SVG the command wrote against the graph."""
    converged = capture(aws)
    summary = assert_ok(stack.run("outputs", extra=extra, options=("--diagram", str(tmp_path / "arch"))))
    assert_unchanged(aws, converged)
    assert "diagram_error" not in summary
    assert f"webstack: architecture diagram: {tmp_path / 'arch.png'}, {tmp_path / 'arch.svg'}" in stack.output[-1]

    live = stack_checks.Stack(aws, project, "local", region, domain)
    g = diagram.graph(live)
    aws_has = _tagged(live, aws, region)
    _assert_load_balancer(g, aws_has, region)
    _assert_backend(g, aws_has)
    _assert_security_groups(g, aws_has)
    _assert_frontend_and_records(g, aws_has, domain)
    _assert_files(g, aws_has, tmp_path / "arch.png", tmp_path / "arch.svg", region)


node = diagram._node_id


def _assert_load_balancer(g, aws_has: dict, region: str) -> None:
    """The ALB -> its listeners (the HTTPS one's certificate, region shown) -> the target group;
    CloudFront's certificate in us-east-1."""
    lb = aws_has["lb"]
    assert g.resources("load_balancer") == {lb["LoadBalancerArn"]}
    assert g.resources("listener") == {li["ListenerArn"] for li in aws_has["listeners"]}
    assert g.resources("target_group") == {tg["TargetGroupArn"] for tg in aws_has["target_groups"]}
    for listener in aws_has["listeners"]:
        assert g.linked(node("load_balancer", lb["LoadBalancerArn"]), node("listener", listener["ListenerArn"]))
        for action in listener["DefaultActions"]:
            if action["Type"] == "forward":
                target = node("target_group", action["TargetGroupArn"])
                assert g.linked(node("listener", listener["ListenerArn"]), target, "flow")
    https = next(li for li in aws_has["listeners"] if li["Port"] == 443)
    (alb_cert,) = [c["CertificateArn"] for c in https["Certificates"]]
    cf_cert = aws_has["dist"]["DistributionConfig"]["ViewerCertificate"]["ACMCertificateArn"]
    assert g.resources("certificate") == {alb_cert, cf_cert}
    certs = {n.resource: n for n in g.of_kind("certificate")}
    assert (certs[alb_cert].region, certs[cf_cert].region) == (region, "us-east-1")
    assert f"({region})" in certs[alb_cert].label and "(us-east-1)" in certs[cf_cert].label
    assert g.linked(node("listener", https["ListenerArn"]), certs[alb_cert].id, "uses")
    assert g.linked(node("distribution", aws_has["dist"]["Id"]), certs[cf_cert].id, "uses")


def _assert_backend(g, aws_has: dict) -> None:
    """The target group -> the Auto Scaling group in its subnets, one box per AZ -> the database."""
    group = aws_has["group"]
    asg = node("auto_scaling_group", group["AutoScalingGroupName"])
    assert g.resources("auto_scaling_group") == {group["AutoScalingGroupName"]}
    assert {node("target_group", arn) for arn in group["TargetGroupARNs"]} == {
        e.source for e in g.edges if e.target == asg and e.kind == "flow"
    }
    assert g.resources("subnet") == {s["SubnetId"] for s in aws_has["subnets"]}
    for subnet in aws_has["subnets"]:
        drawn = g.nodes[node("subnet", subnet["SubnetId"])]
        assert drawn.cluster[-1] == subnet["AvailabilityZone"] and f"VPC {subnet['VpcId']}" in drawn.cluster
        assert g.linked(asg, drawn.id, "uses")
    assert len({s["AvailabilityZone"] for s in aws_has["subnets"]}) >= 2
    db = aws_has["db"]
    assert g.resources("database") == {db["DBInstanceIdentifier"]}
    assert g.linked(asg, node("database", db["DBInstanceIdentifier"]), "flow")


def _assert_security_groups(g, aws_has: dict) -> None:
    """Every group the stack tags, each resource in its groups, each group admitting the one before."""
    lb, db = aws_has["lb"], aws_has["db"]
    groups = {sg["GroupId"]: sg for sg in aws_has["security_groups"]}
    assert g.resources("security_group") == set(groups)
    allows = {
        (node("security_group", pair["GroupId"]), node("security_group", group_id))
        for group_id, sg in groups.items()
        for rule in sg["IpPermissions"]
        for pair in rule["UserIdGroupPairs"]
    }
    assert len(allows) >= 2  # ALB group -> app group -> DB group
    assert {(e.source, e.target) for e in g.edges if e.kind == "allows"} == allows
    members = {
        node("load_balancer", lb["LoadBalancerArn"]): set(lb["SecurityGroups"]),
        node("auto_scaling_group", aws_has["group"]["AutoScalingGroupName"]): aws_has["app_groups"],
        node("database", db["DBInstanceIdentifier"]): {sg["VpcSecurityGroupId"] for sg in db["VpcSecurityGroups"]},
    }
    for member, ids in members.items():
        in_groups = {e.target for e in g.edges if e.source == member and e.label == "in group"}
        assert ids and in_groups == {node("security_group", i) for i in ids}, member


def _assert_frontend_and_records(g, aws_has: dict, domain: str) -> None:
    """CloudFront -> OAC -> the private bucket; every record of the zone, the site's and the API's
    leading to CloudFront and the ALB."""
    dist, lb = aws_has["dist"], aws_has["lb"]
    (origin,) = dist["DistributionConfig"]["Origins"]["Items"]
    bucket = origin["DomainName"].split(".s3.")[0]
    assert g.resources("distribution") == {dist["Id"]}
    assert g.resources("origin_access_control") == {origin["OriginAccessControlId"]}
    assert g.resources("bucket") == {bucket}
    oac = node("origin_access_control", origin["OriginAccessControlId"])
    assert g.linked(node("distribution", dist["Id"]), oac, "flow")
    assert g.linked(oac, node("bucket", bucket), "flow")
    assert "public access blocked" in g.nodes[node("bucket", bucket)].label
    assert g.resources("record") == aws_has["records"]
    assert g.linked(node("record", domain), node("distribution", dist["Id"]), "flow")
    assert g.linked(node("record", f"api.{domain}"), node("load_balancer", lb["LoadBalancerArn"]), "flow")


def _assert_files(g, aws_has: dict, png: Path, svg: Path, region: str) -> None:
    """The files the command wrote draw that same graph: every node (by id, with its name) and edge."""
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 10_000
    drawn = svg_nodes(svg)
    assert set(drawn) == set(g.nodes)
    for n in g.nodes.values():
        assert n.label.split("\n")[0] in drawn[n.id], n
    assert svg_edges(svg) == {(e.source, e.target) for e in g.edges}
    text = "\n".join(drawn.values())
    lb, group, db, dist = aws_has["lb"], aws_has["group"], aws_has["db"], aws_has["dist"]
    bucket = dist["DistributionConfig"]["Origins"]["Items"][0]["DomainName"].split(".s3.")[0]
    for name in (lb["LoadBalancerName"], group["AutoScalingGroupName"], db["DBInstanceIdentifier"], dist["Id"], bucket):
        assert name in text
    assert f"({region})" in text and "(us-east-1)" in text


def test_render_without_dot_says_what_installs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot there
    with pytest.raises(RuntimeError, match=r"Graphviz's `dot` on PATH: `make graphviz` installs it"):
        diagram.render(diagram.Graph("t"), tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
