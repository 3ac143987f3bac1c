"""A state snapshot of everything the emulator holds that webstack could create, in every region the
stack uses, and the difference between two snapshots.

The tagging API is not enough for "leaves nothing": moto's does not list Auto Scaling groups,
launch templates, IAM roles, Route 53 records, elastic IPs, RDS subnet and parameter groups or
CloudFront OACs, and it sees one region. So every resource type is read with its own describe call,
and a resource is its full description (less a few fields AWS changes by itself): a snapshot taken
before and after a command shows what the command created, deleted or modified.

    before = capture(aws)
    ... run something ...
    assert_unchanged(aws, before)      # tests.support: fails with the diff, field by field

Resources AWS keeps visible for a while after deletion (terminated instances, deleted NAT
gateways) count as gone, as they do for a user.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from webstack.state import bucket_settings, clean, pages

REGIONS = ("ap-northeast-2", "us-east-1")


# -- readers: each returns {resource id: description} -----------------------------------------------
def _ec2(ec2) -> dict[str, dict[str, dict]]:
    found: dict[str, dict[str, dict]] = {}
    simple = [
        ("ec2:vpc", "describe_vpcs", "Vpcs", "VpcId"),
        ("ec2:subnet", "describe_subnets", "Subnets", "SubnetId"),
        ("ec2:internet-gateway", "describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
        ("ec2:route-table", "describe_route_tables", "RouteTables", "RouteTableId"),
        ("ec2:security-group", "describe_security_groups", "SecurityGroups", "GroupId"),
        ("ec2:launch-template", "describe_launch_templates", "LaunchTemplates", "LaunchTemplateId"),
    ]
    for kind, method, key, ident in simple:
        found[kind] = {item[ident]: item for item in pages(ec2, method, key)}
    found["ec2:elastic-ip"] = {a["AllocationId"]: a for a in ec2.describe_addresses()["Addresses"]}
    found["ec2:nat-gateway"] = {
        n["NatGatewayId"]: n
        for n in pages(ec2, "describe_nat_gateways", "NatGateways")
        if n["State"] not in ("deleting", "deleted", "failed")
    }
    instances = [i for r in pages(ec2, "describe_instances", "Reservations") for i in r["Instances"]]
    ended = {i["InstanceId"] for i in instances if i["State"]["Name"] in ("shutting-down", "terminated")}
    found["ec2:instance"] = {i["InstanceId"]: i for i in instances if i["InstanceId"] not in ended}
    found["ec2:network-interface"] = {  # an ended instance's interface goes with it, as on AWS
        n["NetworkInterfaceId"]: n
        for n in pages(ec2, "describe_network_interfaces", "NetworkInterfaces")
        if n.get("Attachment", {}).get("InstanceId") not in ended
    }
    found["ec2:volume"] = {
        v["VolumeId"]: {k: v[k] for k in ("Size", "VolumeType", "Encrypted", "AvailabilityZone")}
        for v in pages(ec2, "describe_volumes", "Volumes")
        if v["State"] not in ("deleting", "deleted")
    }
    return found


def _elbv2(elbv2) -> dict[str, dict[str, dict]]:
    lbs, listeners, groups = {}, {}, {}
    for lb in pages(elbv2, "describe_load_balancers", "LoadBalancers"):
        arn = lb["LoadBalancerArn"]
        attrs = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
        tags = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
        lbs[arn] = {**lb, "Attributes": attrs, "Tags": tags}
        for listener in pages(elbv2, "describe_listeners", "Listeners", LoadBalancerArn=arn):
            listeners[listener["ListenerArn"]] = listener
    for tg in pages(elbv2, "describe_target_groups", "TargetGroups"):
        attrs = elbv2.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])["Attributes"]
        groups[tg["TargetGroupArn"]] = {**tg, "Attributes": attrs}
    return {"elbv2:load-balancer": lbs, "elbv2:listener": listeners, "elbv2:target-group": groups}


def _autoscaling(asg) -> dict[str, dict[str, dict]]:
    return {
        "autoscaling:group": {
            g["AutoScalingGroupName"]: g for g in pages(asg, "describe_auto_scaling_groups", "AutoScalingGroups")
        },
        "autoscaling:policy": {p["PolicyARN"]: p for p in pages(asg, "describe_policies", "ScalingPolicies")},
        "autoscaling:launch-configuration": {
            c["LaunchConfigurationName"]: c
            for c in pages(asg, "describe_launch_configurations", "LaunchConfigurations")
        },
    }


def _cloudwatch(cw) -> dict[str, dict[str, dict]]:
    alarms = {a["AlarmName"]: a for a in pages(cw, "describe_alarms", "MetricAlarms")}
    for alarm in alarms.values():  # state follows the (absent) metrics, not any command
        for key in ("StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp"):
            alarm.pop(key, None)
    return {"cloudwatch:alarm": alarms}


def _rds(rds) -> dict[str, dict[str, dict]]:
    return {
        "rds:db-instance": {d["DBInstanceIdentifier"]: d for d in pages(rds, "describe_db_instances", "DBInstances")},
        "rds:db-subnet-group": {
            g["DBSubnetGroupName"]: g for g in pages(rds, "describe_db_subnet_groups", "DBSubnetGroups")
        },
        "rds:db-parameter-group": {
            g["DBParameterGroupName"]: {
                **g,
                "Parameters": list(
                    pages(rds, "describe_db_parameters", "Parameters", DBParameterGroupName=g["DBParameterGroupName"])
                ),
            }
            for g in pages(rds, "describe_db_parameter_groups", "DBParameterGroups")
            if not g["DBParameterGroupName"].startswith("default.")
        },
        "rds:db-snapshot": {
            s["DBSnapshotIdentifier"]: s
            for s in pages(rds, "describe_db_snapshots", "DBSnapshots", SnapshotType="manual")
        },
    }


def _secrets(sm) -> dict[str, dict[str, dict]]:
    return {
        "secretsmanager:secret": {
            s["ARN"]: {k: v for k, v in s.items() if k not in ("LastAccessedDate", "LastChangedDate")}
            for s in pages(sm, "list_secrets", "SecretList")
        }
    }


def _acm(acm) -> dict[str, dict[str, dict]]:
    certificates = {}
    for summary in pages(acm, "list_certificates", "CertificateSummaryList"):
        arn = summary["CertificateArn"]
        certificates[arn] = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    return {"acm:certificate": certificates}


def _iam(iam) -> dict[str, dict[str, dict]]:
    roles = {}
    for role in pages(iam, "list_roles", "Roles"):
        if role["Path"].startswith("/aws-service-role/"):  # service-linked: AWS makes and keeps them
            continue
        name = role["RoleName"]
        attached = [
            p["PolicyArn"] for p in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)
        ]
        inline = {
            p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
            for p in pages(iam, "list_role_policies", "PolicyNames", RoleName=name)
        }
        roles[name] = {**role, "AttachedPolicies": sorted(attached), "InlinePolicies": inline}
    return {
        "iam:role": roles,
        "iam:instance-profile": {
            p["InstanceProfileName"]: p for p in pages(iam, "list_instance_profiles", "InstanceProfiles")
        },
        "iam:policy": {p["Arn"]: p for p in pages(iam, "list_policies", "Policies", Scope="Local")},
    }


def _route53(r53) -> dict[str, dict[str, dict]]:
    zones, records = {}, {}
    for zone in pages(r53, "list_hosted_zones", "HostedZones"):
        zone_id = zone["Id"].rsplit("/", 1)[-1]
        zones[zone_id] = {k: v for k, v in zone.items() if k != "ResourceRecordSetCount"}
        for record in pages(r53, "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone_id):
            records[f"{zone_id}/{record['Name']}/{record['Type']}/{record.get('SetIdentifier', '')}"] = record
    return {"route53:hosted-zone": zones, "route53:record": records}


def _cloudfront(cf) -> dict[str, dict[str, dict]]:
    distributions = {}
    for summary in cf.list_distributions()["DistributionList"].get("Items", []):
        dist_id = summary["Id"]
        config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
        tags = cf.list_tags_for_resource(Resource=summary["ARN"])["Tags"].get("Items", [])
        distributions[dist_id] = {"DistributionConfig": config, "Tags": tags}
    found = {
        "cloudfront:distribution": distributions,
        "cloudfront:origin-access-control": {
            o["Id"]: o for o in cf.list_origin_access_controls()["OriginAccessControlList"].get("Items", [])
        },
    }
    for kind, method, list_key, kwargs in (
        ("cloudfront:function", "list_functions", "FunctionList", {}),
        ("cloudfront:response-headers-policy", "list_response_headers_policies", "ResponseHeadersPolicyList", _CUSTOM),
        ("cloudfront:cache-policy", "list_cache_policies", "CachePolicyList", _CUSTOM),
    ):
        try:
            items = getattr(cf, method)(**kwargs)[list_key].get("Items", [])
        except cf.exceptions.ClientError as exc:  # an API the emulator lacks holds nothing
            if exc.response["Error"]["Code"] not in ("NotImplemented", "InvalidAction", "404"):
                raise
            items = []
        found[kind] = {_ident(item): item for item in items}
    return found


_CUSTOM = {"Type": "custom"}


def _ident(item: dict) -> str:
    """Functions are named; policies come wrapped as {"Type": ..., "<Kind>Policy": {"Id": ...}}."""
    if "Name" in item:
        return item["Name"]
    inner = next(v for v in item.values() if isinstance(v, dict))
    return inner["Id"]


def _s3(s3) -> dict[str, dict[str, dict]]:
    buckets, objects = {}, {}
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        described = {"CreationDate": bucket["CreationDate"], **bucket_settings(s3, name)}
        buckets[name] = described
        for version in pages(s3, "list_object_versions", "Versions", Bucket=name):
            objects[f"{name}/{version['Key']}@{version['VersionId']}"] = {"ETag": version["ETag"]}
        for marker in pages(s3, "list_object_versions", "DeleteMarkers", Bucket=name):
            objects[f"{name}/{marker['Key']}@{marker['VersionId']}"] = {"DeleteMarker": True}
    return {"s3:bucket": buckets, "s3:object": objects}


def _ssm(ssm) -> dict[str, dict[str, dict]]:
    """webstack's own parameters (runner.py's record of the deployed stack), not AWS's public ones."""
    mine = [{"Key": "Name", "Option": "BeginsWith", "Values": ["/webstack/"]}]
    return {
        "ssm:parameter": {
            p["Name"]: {"Type": p["Type"], "Version": p["Version"]}
            for p in pages(ssm, "describe_parameters", "Parameters", ParameterFilters=mine)
        }
    }


REGIONAL: list[tuple[str, Callable]] = [
    ("ec2", _ec2),
    ("elbv2", _elbv2),
    ("autoscaling", _autoscaling),
    ("cloudwatch", _cloudwatch),
    ("rds", _rds),
    ("secretsmanager", _secrets),
    ("acm", _acm),
    ("ssm", _ssm),
]
GLOBAL: list[tuple[str, str, Callable]] = [
    ("iam", "us-east-1", _iam),
    ("route53", "us-east-1", _route53),
    ("cloudfront", "us-east-1", _cloudfront),
    ("s3", "us-east-1", _s3),
]


# -- snapshots ------------------------------------------------------------------------------------
@dataclass
class Diff:
    added: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)
    changed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def ignoring(self, *kinds: str) -> Diff:
        """The same difference without these resource types (e.g. a final snapshot that must stay)."""

        def keep(part: dict) -> dict:
            return {k: v for k, v in part.items() if k.split("/", 1)[-1] not in kinds}

        return Diff(keep(self.added), keep(self.removed), keep(self.changed))

    def __str__(self) -> str:
        if self.empty:
            return "no difference"
        lines = []
        for word, part in (("added", self.added), ("removed", self.removed), ("changed", self.changed)):
            for kind, ids in sorted(part.items()):
                lines += [f"{word} {kind}: {ident}" for ident in ids]
        return "\n".join(lines)


@dataclass
class Snapshot:
    """{"<region>/<service>:<type>": {id: description}}; global services are filed under "global"."""

    resources: dict[str, dict[str, str]]

    def census(self) -> dict[str, int]:
        """How many of each resource type, per region: {"ap-northeast-2/ec2:vpc": 2, ...}."""
        return {kind: len(items) for kind, items in sorted(self.resources.items()) if items}

    def diff(self, before: Snapshot) -> Diff:
        """What happened between `before` and this snapshot."""
        result = Diff()
        for kind in sorted(set(self.resources) | set(before.resources)):
            now, then = self.resources.get(kind, {}), before.resources.get(kind, {})
            if added := sorted(set(now) - set(then)):
                result.added[kind] = added
            if removed := sorted(set(then) - set(now)):
                result.removed[kind] = removed
            if changed := sorted(i for i in set(now) & set(then) if now[i] != then[i]):
                result.changed[kind] = [f"{i} ({_changed_fields(then[i], now[i])})" for i in changed]
        return result


def _changed_fields(before: str, after: str) -> str:
    old, new = json.loads(before), json.loads(after)
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return "value"
    fields = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(f"{k}: {json.dumps(old.get(k))[:200]} -> {json.dumps(new.get(k))[:200]}" for k in fields)


def capture(aws, regions: tuple[str, ...] = REGIONS) -> Snapshot:
    """Read every resource type webstack creates, in `regions` and the global services.
    `aws(service, region)` returns a boto3 client (the tests' `aws` fixture)."""
    raw: dict[str, dict[str, dict]] = {}
    for region in regions:
        for service, reader in REGIONAL:
            for kind, items in reader(aws(service, region)).items():
                raw[f"{region}/{kind}"] = items
    for service, region, reader in GLOBAL:
        for kind, items in reader(aws(service, region)).items():
            raw[f"global/{kind}"] = items
    return Snapshot(
        {
            kind: {ident: json.dumps(clean(item), sort_keys=True) for ident, item in items.items()}
            for kind, items in raw.items()
        }
    )
