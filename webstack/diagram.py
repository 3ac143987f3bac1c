"""`runner.py outputs --diagram PATH`: a picture of the deployed stack, drawn from what AWS holds.

Nothing here is a static drawing: `graph(stack)` reads the live stack through the same tag-based
finders as `runner.py verify` (the collection's module_utils/stack_checks.py Stack) and a few
describe calls of its own, and
returns plain nodes and edges:

    Route 53 records -> ALB (listeners, certificate and its region) -> target group
        -> Auto Scaling group (its subnets, per AZ) -> RDS
    Route 53 records -> CloudFront (certificate in us-east-1, routing function) -> OAC -> S3 bucket
    the security-group chain: clients -> ALB group -> app group -> DB group, each resource in its group

`render(graph, path)` draws it with mingrammer's `diagrams` (Graphviz's `dot`, AWS icons): a
`.png` or `.svg` PATH writes that format, any other PATH writes PATH.png and PATH.svg. The SVG
embeds its icons, so it stands alone (in a README, on a wiki).
"""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import ClientError

FORMATS = ("png", "svg")


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # one of KINDS' keys
    label: str  # lines joined with "\n"; the first names the resource
    resource: str  # the AWS identifier: an ARN, an id or a name
    cluster: tuple[str, ...] = ()  # the nested boxes it is drawn in, outermost first
    region: str = ""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    kind: str = "flow"  # flow: a request's path; uses: a certificate, a group; allows: a security-group rule


@dataclass
class Graph:
    title: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def add(self, kind: str, resource: str, label: str, *, cluster: tuple[str, ...] = (), region: str = "") -> str:
        node_id = _node_id(kind, resource)
        self.nodes.setdefault(node_id, Node(node_id, kind, label, resource, cluster, region))
        return node_id

    def link(self, source: str, target: str, label: str = "", kind: str = "flow") -> None:
        edge = Edge(source, target, label, kind)
        if edge not in self.edges:
            self.edges.append(edge)

    def of_kind(self, kind: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == kind]

    def resources(self, kind: str) -> set[str]:
        return {n.resource for n in self.of_kind(kind)}

    def linked(self, source: str, target: str, kind: str | None = None) -> bool:
        return any(e.source == source and e.target == target and kind in (None, e.kind) for e in self.edges)


def _node_id(kind: str, resource: str) -> str:
    # Graphviz reads "a:b" in an edge as node a, port b: ids keep to letters, digits, - _ and .
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{kind}.{resource}")


# -- reading the live stack ---------------------------------------------------------------------
def _name_tag(tags: list[dict], default: str) -> str:
    return next((t["Value"] for t in tags or [] if t["Key"] == "Name"), default)


def _certificate(stack, g: Graph, arn: str, cluster: tuple[str, ...]) -> str:
    region = stack_checks().arn_region(arn)
    cert = stack.client("acm", region).describe_certificate(CertificateArn=arn)["Certificate"]
    names = [cert["DomainName"], *(n for n in cert.get("SubjectAlternativeNames", []) if n != cert["DomainName"])]
    return g.add(
        "certificate",
        arn,
        "\n".join([f"ACM certificate ({region})", *names, cert["Status"]]),
        cluster=cluster,
        region=region,
    )


def _security_groups(stack, g: Graph, cluster: tuple[str, ...], ids: set[str]) -> dict[str, str]:
    """Every group the stack tags and every group its resources use, and the rules between them."""
    ec2 = stack.client("ec2")
    groups = {sg["GroupId"]: sg for sg in ec2.describe_security_groups(Filters=stack.tag_filters())["SecurityGroups"]}
    missing = sorted(ids - set(groups))
    if missing:
        groups.update({sg["GroupId"]: sg for sg in ec2.describe_security_groups(GroupIds=missing)["SecurityGroups"]})
    nodes = {}
    for group_id, sg in sorted(groups.items(), key=lambda item: item[1]["GroupName"]):
        clients = []
        for rule in sg.get("IpPermissions", []):
            ranges = [r["CidrIp"] for r in rule.get("IpRanges", [])] + [
                r["CidrIpv6"] for r in rule.get("Ipv6Ranges", [])
            ]
            if ranges:
                clients.append(f"in {_ports(rule)} from {', '.join(ranges)}")
        nodes[group_id] = g.add(
            "security_group",
            group_id,
            "\n".join([f"security group {sg['GroupName']}", group_id, *clients]),
            cluster=cluster,
            region=stack.region,
        )
    for group_id, sg in groups.items():
        for rule in sg.get("IpPermissions", []):
            for pair in rule.get("UserIdGroupPairs", []):
                if pair["GroupId"] in nodes:
                    g.link(nodes[pair["GroupId"]], nodes[group_id], f"allows {_ports(rule)}", "allows")
    return nodes


def _ports(rule: dict) -> str:
    protocol = rule.get("IpProtocol", "-1")
    if protocol == "-1":
        return "all traffic"
    low, high = rule.get("FromPort"), rule.get("ToPort")
    return f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}"


def graph(stack) -> Graph:
    """The deployed stack as nodes and edges, read from AWS (stack_checks.Stack's clients)."""
    g = Graph(f"{stack.tags['Project']} ({stack.tags['Environment']}): {stack.domain}, as read from AWS")
    g.add("users", "clients", "clients:\nbrowsers, API callers")
    lb, group = stack.load_balancer(), stack.auto_scaling_group()
    vpc = _vpc_cluster(stack, lb, group)
    used_groups: dict[str, set[str]] = {}  # node -> its security groups
    targets = _load_balancer(stack, g, lb, vpc, used_groups) if lb else {}
    asg_node = _auto_scaling_group(stack, g, group, vpc, targets, used_groups) if group else None
    _databases(stack, g, vpc, asg_node, used_groups)
    if used_groups:
        groups = _security_groups(stack, g, (*vpc, "security groups"), set().union(*used_groups.values()))
        for node, ids in used_groups.items():
            for group_id in sorted(ids & set(groups)):
                g.link(node, groups[group_id], "in group", "uses")
    dist = stack.distribution()
    if dist:
        _distribution(stack, g, dist)
    zone = stack.hosted_zone()
    if zone:
        _records(stack, g, zone, lb, dist)
    return g


def _vpc_cluster(stack, lb: dict | None, group: dict | None) -> tuple[str, ...]:
    regional = (f"AWS {stack.region}",)
    vpc_id = (lb or {}).get("VpcId")
    first = next(iter(filter(None, (group or {}).get("VPCZoneIdentifier", "").split(","))), None)
    if not vpc_id and first:
        vpc_id = stack.client("ec2").describe_subnets(SubnetIds=[first])["Subnets"][0]["VpcId"]
    return (*regional, f"VPC {vpc_id}") if vpc_id else regional


def _load_balancer(stack, g: Graph, lb: dict, vpc: tuple[str, ...], used_groups: dict) -> dict[str, str]:
    """The ALB, its listeners and their certificates and target groups; returns {target group ARN: node}."""
    elb = stack.client("elbv2")
    azs = sorted(z["ZoneName"] for z in lb.get("AvailabilityZones", []))
    lb_node = g.add(
        "load_balancer",
        lb["LoadBalancerArn"],
        "\n".join([f"ALB {lb['LoadBalancerName']}", lb["Scheme"], f"{stack.region}: {', '.join(azs)}"]),
        cluster=vpc,
        region=stack.region,
    )
    used_groups[lb_node] = set(lb.get("SecurityGroups", []))
    targets = {}
    for tg in elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]:
        health = f"health {tg.get('HealthCheckProtocol', '')} {tg.get('HealthCheckPath', '')}".rstrip()
        targets[tg["TargetGroupArn"]] = g.add(
            "target_group",
            tg["TargetGroupArn"],
            "\n".join([f"target group {tg['TargetGroupName']}", f"{tg['Protocol']}:{tg['Port']}", health]),
            cluster=vpc,
            region=stack.region,
        )
    listeners = sorted(
        elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"], key=lambda li: li["Port"]
    )
    by_port = {}
    for listener in listeners:
        policy = [listener["SslPolicy"]] if listener["Protocol"] in ("HTTPS", "TLS") else []
        node = by_port[listener["Port"]] = g.add(
            "listener",
            listener["ListenerArn"],
            "\n".join([f"listener {listener['Protocol']} :{listener['Port']}", *policy]),
            cluster=vpc,
            region=stack.region,
        )
        g.link(lb_node, node)
        for cert in listener.get("Certificates", []):
            g.link(node, _certificate(stack, g, cert["CertificateArn"], vpc[:1]), kind="uses")
    for listener in listeners:
        node = by_port[listener["Port"]]
        for action in listener.get("DefaultActions", []):
            forwards = [action.get("TargetGroupArn")]
            forwards += [t["TargetGroupArn"] for t in action.get("ForwardConfig", {}).get("TargetGroups", [])]
            for arn in filter(None, dict.fromkeys(forwards)):
                if arn in targets:
                    g.link(node, targets[arn], "forward")
            redirect = action.get("RedirectConfig")
            if redirect:
                port = int(redirect.get("Port", "443").replace("#{port}", str(listener["Port"])))
                code = redirect.get("StatusCode", "").removeprefix("HTTP_")
                g.link(node, by_port.get(port, node), f"redirect {code}")
    return targets


def _auto_scaling_group(stack, g: Graph, group: dict, vpc: tuple[str, ...], targets: dict, used_groups: dict) -> str:
    """The Auto Scaling group behind its target groups, and its subnets, each in its AZ's box."""
    lines = [
        f"Auto Scaling group {group['AutoScalingGroupName']}",
        f"min {group['MinSize']} / desired {group['DesiredCapacity']} / max {group['MaxSize']}",
        f"{len(group.get('Instances', []))} instance(s), health check {group['HealthCheckType']}",
    ]
    asg_node = g.add(
        "auto_scaling_group", group["AutoScalingGroupName"], "\n".join(lines), cluster=vpc, region=stack.region
    )
    for arn in group.get("TargetGroupARNs", []):
        if arn in targets:
            g.link(targets[arn], asg_node, "registers instances")
    subnet_ids = sorted(filter(None, group["VPCZoneIdentifier"].split(",")))
    for subnet in stack.client("ec2").describe_subnets(SubnetIds=subnet_ids)["Subnets"] if subnet_ids else []:
        tags = subnet.get("Tags", [])
        tier = next((t["Value"] for t in tags if t["Key"] == "Tier"), "")
        node = g.add(
            "subnet",
            subnet["SubnetId"],
            "\n".join([f"{tier} subnet {_name_tag(tags, '')}".strip(), subnet["SubnetId"], subnet["CidrBlock"]]),
            cluster=(*vpc, subnet["AvailabilityZone"]),
            region=stack.region,
        )
        g.link(asg_node, node, "launches in", "uses")
    used_groups[asg_node] = _launch_groups(stack, group)
    return asg_node


def _databases(stack, g: Graph, vpc: tuple[str, ...], asg_node: str | None, used_groups: dict) -> None:
    for db in stack.databases():
        private = "private" if not db["PubliclyAccessible"] else "PUBLIC"
        encrypted = "encrypted" if db["StorageEncrypted"] else "NOT encrypted"
        where = db.get("AvailabilityZone", "") + (" (Multi-AZ)" if db.get("MultiAZ") else "")
        engine = " ".join(filter(None, [db["Engine"], db.get("EngineVersion"), db["DBInstanceClass"]]))
        db_node = g.add(
            "database",
            db["DBInstanceIdentifier"],
            "\n".join(
                [f"RDS {db['DBInstanceIdentifier']}", engine, ", ".join(filter(None, [private, encrypted, where]))]
            ),
            cluster=vpc,
            region=stack.region,
        )
        if asg_node:
            port = db.get("Endpoint", {}).get("Port")
            g.link(asg_node, db_node, f"SQL :{port}" if port else "SQL")
        used_groups[db_node] = {sg["VpcSecurityGroupId"] for sg in db.get("VpcSecurityGroups", [])}


def _distribution(stack, g: Graph, dist: dict) -> None:
    """CloudFront with its certificate (us-east-1) and routing function, its OAC and the bucket."""
    edge = ("CloudFront (global) and us-east-1",)
    config = dist["DistributionConfig"]
    aliases = config.get("Aliases", {}).get("Items", [])
    lines = [f"CloudFront {dist['Id']}", dist["DomainName"], *aliases, config.get("PriceClass", "")]
    dist_node = g.add("distribution", dist["Id"], "\n".join(filter(None, lines)), cluster=edge, region="us-east-1")
    arn = config.get("ViewerCertificate", {}).get("ACMCertificateArn")
    if arn:
        g.link(dist_node, _certificate(stack, g, arn, edge), kind="uses")
    for association in config.get("DefaultCacheBehavior", {}).get("FunctionAssociations", {}).get("Items", []):
        name = association["FunctionARN"].rsplit("/", 1)[-1]
        label = f"CloudFront function {name}\n{association['EventType']}"
        function = g.add("function", association["FunctionARN"], label, cluster=edge, region="us-east-1")
        g.link(dist_node, function, "runs", "uses")
    for origin in config.get("Origins", {}).get("Items", []):
        source = dist_node
        if origin.get("OriginAccessControlId"):
            oac = stack.client("cloudfront", "us-east-1").get_origin_access_control(Id=origin["OriginAccessControlId"])
            oac = oac["OriginAccessControl"]
            settings = oac["OriginAccessControlConfig"]
            lines = [
                f"Origin Access Control {settings['Name']}",
                oac["Id"],
                f"{settings['SigningProtocol']} {settings['SigningBehavior']}",
            ]
            source = g.add("origin_access_control", oac["Id"], "\n".join(lines), cluster=edge, region="us-east-1")
            g.link(dist_node, source, "origin request")
        if ".s3." in origin["DomainName"]:
            bucket = _bucket(stack, g, origin["DomainName"].split(".s3.")[0])
            g.link(source, bucket, "signed GET (SigV4)" if source != dist_node else "GET")


def _bucket(stack, g: Graph, bucket: str) -> str:
    s3 = stack.client("s3")
    region = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    try:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        access = "public access blocked" if all(block.values()) else "public access NOT fully blocked"
    except ClientError:  # no block configured: the picture says so
        access = "no public access block"
    label = f"S3 bucket {bucket}\n{region}, {access}"
    return g.add("bucket", bucket, label, cluster=(f"AWS {region}",), region=region)


def _records(stack, g: Graph, zone: dict, lb: dict | None, dist: dict | None) -> None:
    """The zone's records (less NS and SOA), one node per name, to what they alias; each certificate
    points at its DNS validation records."""
    cluster = (f"Route 53 zone {zone['Name'].rstrip('.')}",)
    by_name: dict[str, list[dict]] = {}
    for (name, kind), record in sorted(stack.records(zone["Id"]).items()):
        if kind not in ("NS", "SOA"):
            by_name.setdefault(name, []).append(record)
    aliased = {}
    if dist:
        aliased[dist["DomainName"].lower()] = _node_id("distribution", dist["Id"])
    if lb:
        aliased[f"dualstack.{lb['DNSName'].lower()}"] = _node_id("load_balancer", lb["LoadBalancerArn"])
        aliased[lb["DNSName"].lower()] = _node_id("load_balancer", lb["LoadBalancerArn"])
    for name, records in by_name.items():
        kinds = "/".join(r["Type"] for r in records)
        alias = next((r["AliasTarget"]["DNSName"].rstrip(".").lower() for r in records if "AliasTarget" in r), "")
        values = [v["Value"] for r in records for v in r.get("ResourceRecords", [])]
        if alias:
            label = f"{name}\n{kinds} alias\n{alias}"
        elif kinds == "CNAME" and values and all("acm-validations" in v for v in values) and "." in name:
            label = f"ACM validation {kinds}\n{name.split('.', 1)[1]}"  # the name's first label is a long hash
        else:
            label = "\n".join([name, kinds, *values])
        node = g.add("record", name, label, cluster=cluster)
        if alias in aliased:
            g.link(_node_id("users", "clients"), node)
            g.link(node, aliased[alias])
    for cert in g.of_kind("certificate"):
        details = stack.client("acm", cert.region).describe_certificate(CertificateArn=cert.resource)["Certificate"]
        for option in details.get("DomainValidationOptions", []):
            record = _node_id("record", option.get("ResourceRecord", {}).get("Name", "").rstrip(".").lower())
            if record in g.nodes:
                g.link(cert.id, record, "validated by", "uses")


def _launch_groups(stack, group: dict) -> set[str]:
    """The security groups of the Auto Scaling group's instances, from its launch template."""
    spec = group.get("LaunchTemplate") or group.get("MixedInstancesPolicy", {}).get("LaunchTemplate", {}).get(
        "LaunchTemplateSpecification", {}
    )
    if not spec:
        return set()
    ref = {"LaunchTemplateId": spec["LaunchTemplateId"]} if spec.get("LaunchTemplateId") else {}
    ref = ref or {"LaunchTemplateName": spec["LaunchTemplateName"]}
    versions = stack.client("ec2").describe_launch_template_versions(**ref, Versions=[spec.get("Version") or "$Latest"])
    data = versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    ids = set(data.get("SecurityGroupIds", []))
    for interface in data.get("NetworkInterfaces", []):
        ids |= set(interface.get("Groups", []))
    return ids


# -- drawing --------------------------------------------------------------------------------------
def _icons() -> dict[str, type]:
    from diagrams.aws.compute import EC2AutoScaling, Lambda
    from diagrams.aws.database import RDS
    from diagrams.aws.general import GenericFirewall, Users
    from diagrams.aws.network import (
        CloudFront,
        ElbApplicationLoadBalancer,
        Endpoint,
        PrivateSubnet,
        Route53,
        Route53HostedZone,
    )
    from diagrams.aws.security import CertificateManager, IdentityAndAccessManagementIamPermissions
    from diagrams.aws.storage import SimpleStorageServiceS3Bucket

    return {
        "users": Users,
        "record": Route53,
        "zone": Route53HostedZone,
        "load_balancer": ElbApplicationLoadBalancer,
        "listener": Endpoint,
        "certificate": CertificateManager,
        "target_group": ElbApplicationLoadBalancer,
        "auto_scaling_group": EC2AutoScaling,
        "subnet": PrivateSubnet,
        "database": RDS,
        "security_group": GenericFirewall,
        "distribution": CloudFront,
        "function": Lambda,
        "origin_access_control": IdentityAndAccessManagementIamPermissions,
        "bucket": SimpleStorageServiceS3Bucket,
    }


EDGE_STYLES = {
    "flow": {"color": "#232f3e", "penwidth": "1.6"},
    "uses": {"color": "#7d8998", "style": "dashed", "constraint": "false", "dir": "none"},
    "allows": {"color": "#d13212", "style": "bold", "fontcolor": "#d13212"},
}


def targets(path: Path) -> list[Path]:
    """The files `render` writes for PATH: its format by suffix, or both beside PATH."""
    path = Path(path)
    if path.suffix.lower().lstrip(".") in FORMATS:
        return [path]
    return [path.with_name(f"{path.name}.{fmt}") for fmt in FORMATS]


def render(g: Graph, path: Path, *, direction: str = "LR") -> list[Path]:
    """Draw the graph to PATH (.png, .svg, or both for any other PATH); returns the files written."""
    from diagrams import Cluster, Diagram, getdiagram

    if shutil.which("dot") is None:
        raise RuntimeError("the diagram needs Graphviz's `dot` on PATH: `make graphviz` installs it")
    icons = _icons()
    outputs = targets(path)
    formats = [p.suffix.lstrip(".").lower() for p in outputs]
    with tempfile.TemporaryDirectory(prefix="webstack-diagram-") as tmp:
        base = Path(tmp) / "diagram"
        with Diagram(
            g.title,
            filename=str(base),
            outformat=formats,
            show=False,
            direction=direction,
            curvestyle="curved",
            graph_attr={"fontsize": "22", "pad": "1.0", "nodesep": "0.8", "ranksep": "1.2"},
            node_attr={"fontsize": "11"},
            edge_attr={"fontsize": "10"},
        ):
            tree: dict = {}
            for node in g.nodes.values():
                level = tree
                for name in node.cluster:
                    level = level.setdefault(name, {})
                level.setdefault(None, []).append(node)

            def draw(level: dict) -> None:
                for node in level.get(None, []):
                    icons[node.kind](node.label, nodeid=node.id)
                for name, inner in level.items():
                    if name is not None:
                        with Cluster(name):
                            draw(inner)

            draw(tree)
            dot = getdiagram().dot
            for e in g.edges:
                # Dashed "uses" edges go unlabelled: Graphviz floats the labels of edges that do not
                # shape the layout away from their lines.
                dot.edge(e.source, e.target, label=e.label if e.kind != "uses" else "", **EDGE_STYLES[e.kind])
        for fmt, out in zip(formats, outputs, strict=True):
            out.parent.mkdir(parents=True, exist_ok=True)
            produced = base.with_name(f"diagram.{fmt}")
            if fmt == "svg":
                produced.write_text(_embed_icons(produced.read_text()))
            shutil.move(str(produced), out)
    return outputs


def _embed_icons(svg: str) -> str:
    """Graphviz's SVG links each icon by its path in the venv; put the PNGs inside instead."""

    def inline(match: re.Match) -> str:
        icon = Path(match.group(2))
        if not icon.is_file():
            return match.group(0)
        data = base64.b64encode(icon.read_bytes()).decode()
        return f'{match.group(1)}="data:image/png;base64,{data}"'

    return re.sub(r'(xlink:href|href)="([^"]+\.png)"', inline, svg)


def stack_checks():
    """The collection's module_utils/stack_checks.py, imported by its collection name: it reads its
    facts (CloudFront's alias zone, an ACM ARN's region) from the collection's other module_utils."""
    from webstack.home import collection_module_utils

    return collection_module_utils("stack_checks")


def live_stack(env: dict, settings: dict, config=None):
    """A stack_checks.Stack on the AWS that `env` (AWS_* variables) points at, for `settings`
    (webstack.settings.resolve)."""
    from webstack.layers import aws_clients

    region = settings["webstack_region"]
    return stack_checks().Stack(
        aws_clients(env, config, region=region),
        settings["webstack_project"],
        settings["webstack_environment"],
        region,
        settings["webstack_domain"],
    )
