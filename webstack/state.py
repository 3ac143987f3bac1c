"""Whether a deploy or plan has anything to do, decided in this process before any layer job starts.

After a successful deploy of every layer, runner.py records in AWS (an SSM parameter in the stack's
region, `webstack_state_record`) two digests and the stack's outputs:

- inputs: everything a deploy reads on this side -- the collection, the project's group_vars, the
  environment's inventory, runner.py's own code, the -e values, the AWS_/WEBSTACK_/ANSIBLE_
  environment variables (credentials and the endpoint excepted), and the installed Ansible, its
  AWS collections and the AWS SDK;
- state: every resource of the stack, read in full from AWS (`StackReader`), less what AWS changes
  by itself, plus what the roles read from outside the stack (the zones, the AMI's parameter).

The next deploy or plan computes both again. Equal, a converge would find nothing to do: the run
reports the recorded outputs and starts no job. Anything different -- a changed variable, a setting
changed by hand in the console, a resource deleted -- and the layers run as always. The record is
only a shortcut: without it, or unreadable, every layer converges. `--full` ignores it; the network
layer's teardown deletes it.

What the state read leaves out, because something other than a converge owns it: the Auto Scaling
group's instances with their interfaces and volumes, the target-tracking policy's alarms (AWS makes
them), the database's master secret (RDS rotates it), final snapshots, and the bucket's objects
(publish's).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from webstack.home import COLLECTION, INVENTORIES, REPO, collection_module_utils

# Fields that change without anyone asking (health, timestamps of use, in-flight work).
VOLATILE = frozenset(
    {
        "ResponseMetadata",
        "Instances",  # an Auto Scaling group's instance list follows its capacity, not a command
        "HealthStatus",
        "LifecycleState",
        "LastModifiedTime",
        "InProgressInvalidationBatches",
        "LatestRestorableTime",  # RDS moves it forward every few seconds
        "AvailableIpAddressCount",  # follows the network interfaces in the subnet
        "RoleLastUsed",
    }
)
# The resource types the state read leaves out (see the module's docstring), as tests/census.py
# names them: the Auto Scaling group owns its instances, AWS the target-tracking alarms, RDS the
# master secret, destroy the final snapshots, publish the bucket's objects.
OWNED_ELSEWHERE = frozenset(
    {
        "ec2:instance",
        "ec2:network-interface",
        "ec2:volume",
        "cloudwatch:alarm",
        "secretsmanager:secret",
        "rds:db-snapshot",
        "s3:object",
        "ssm:parameter",  # the record itself
    }
)
# The settings runner.py resolves to find the record and the stack (webstack.settings.resolve).
SETTINGS = [
    "webstack_project",
    "webstack_environment",
    "webstack_region",
    "webstack_domain",
    "webstack_state_record",
    "webstack_require_endpoint",
    "autoscaling_ami_ssm_parameter",
]
SETTINGS_ROLES = ("autoscaling",)
CLOUDFRONT_REGION = "us-east-1"
# Environment variables that change what a deploy does; of those, the ones that only say who calls
# or where (a new session token each CI job, the emulator's port) are left out.
INPUT_ENV_PREFIXES = ("AWS_", "WEBSTACK_", "ANSIBLE_")
NOT_INPUTS = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_SESSION_NAME",
        "WEBSTACK_STATE_DIR",
    }
)
PACKAGES = ("ansible", "ansible-core", "boto3", "botocore", "ansible-runner", "mitogen")


@dataclass(frozen=True)
class Record:
    """What a successful deploy leaves in the SSM parameter: the digests of its inputs and of the
    stack it left (one per resource type, to say what changed), and its outputs."""

    inputs: str
    state: dict[str, str]
    outputs: dict

    def encode(self) -> str:
        """zlib-compressed JSON: the outputs alone come near SSM's 4 KB standard tier."""
        packed = json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()
        return RECORD_PREFIX + base64.b64encode(zlib.compress(packed, 9)).decode()

    @classmethod
    def decode(cls, value: str) -> Record | None:
        if not value.startswith(RECORD_PREFIX):
            return None  # another version's record: converge and write this one's
        try:
            fields = json.loads(zlib.decompress(base64.b64decode(value[len(RECORD_PREFIX) :])))
            return cls(inputs=fields["inputs"], state=fields["state"], outputs=fields["outputs"])
        except (ValueError, KeyError, TypeError, zlib.error):
            return None

    def differences(self, inputs: str, state: dict[str, str]) -> list[str]:
        """Why a converge is needed, empty when the stack is as this record left it."""
        if inputs != self.inputs:
            return ["the inputs changed (files, -e values, environment or installed versions)"]
        kinds = sorted(k for k in set(state) | set(self.state) if state.get(k) != self.state.get(k))
        return [f"AWS changed: {kind}" for kind in kinds]


RECORD_PREFIX = "webstack-state-1:"


# -- inputs -----------------------------------------------------------------------------------------
def _files(inventory: Path) -> Iterator:
    roots = [COLLECTION, REPO / "group_vars", inventory, REPO / "webstack", REPO / "ansible.cfg"]
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            if "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


def inputs_digest(
    env: str,
    extra_vars: dict,
    files: list[Path] = (),
    environ: dict[str, str] | None = None,
    inventory: Path | None = None,
) -> str:
    """The digest of what a deploy of `env` reads on this side (see the module's docstring); `files`
    are the -e @files, read as they are (their !vault values are only placeholders in extra_vars);
    `inventory` is the environment's inventory directory (inventories/<env>)."""
    environ = os.environ if environ is None else environ
    digest = hashlib.sha256()
    for path in [*_files(inventory or INVENTORIES / env), *files]:
        digest.update(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else '-e@'}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    variables = {
        key: value for key, value in environ.items() if key.startswith(INPUT_ENV_PREFIXES) and key not in NOT_INPUTS
    }
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    plain = {"env": env, "vars": extra_vars, "environment": variables, "packages": versions}
    digest.update(json.dumps(plain, sort_keys=True, default=str).encode())
    return digest.hexdigest()


# -- the stack as AWS holds it -----------------------------------------------------------------------
def clean(value):
    """A description less its volatile fields, in a stable order, as JSON-able values."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def pages(client, method: str, key: str, **kwargs) -> Iterator[dict]:
    if client.can_paginate(method):
        for page in client.get_paginator(method).paginate(**kwargs):
            yield from page.get(key, [])
    else:
        yield from getattr(client, method)(**kwargs).get(key, [])


def _tags(items) -> dict:
    return {t["Key"]: t["Value"] for t in items or []}


class StackReader:
    """Reads the stack's resources, found by the tags every role puts on them (Project, Environment,
    ManagedBy: webstack) and, for those without tags, through the tagged resource that uses them.
    `client(service, region)` makes the boto3 clients."""

    def __init__(self, client: Callable, settings: dict):
        self.client = client
        self.region = settings["webstack_region"]
        self.domain = settings.get("webstack_domain", "").rstrip(".").lower()
        self.ami_parameter = settings.get("autoscaling_ami_ssm_parameter")
        self.tags = {
            "Project": settings["webstack_project"],
            "Environment": settings["webstack_environment"],
            "ManagedBy": "webstack",
        }
        self.found: dict[str, dict[str, dict]] = {}

    def owns(self, tags) -> bool:
        carries_tags = collection_module_utils("aws_names").carries_tags
        return carries_tags(_tags(tags) if isinstance(tags, list) else tags, self.tags)

    def owned(self, listing, ident: str, tags: str = "Tags") -> dict[str, dict]:
        """{id: description} of the listed resources that carry the stack's tags."""
        return {item[ident]: item for item in listing if self.owns(item.get(tags))}

    def add(self, kind: str, items: dict, region: str | None = None) -> None:
        self.found.setdefault(f"{region or self.region}/{kind}", {}).update(items)

    def read(self) -> dict[str, dict[str, str]]:
        """{"<region or global>/<service>:<type>": {id: description as JSON}}, as tests/census.py
        files the whole account."""
        self._outside()
        launch_templates = self._ec2()
        self._elbv2()
        self._autoscaling()
        self._rds()
        certificates = self._acm()
        self._iam(launch_templates)
        buckets = self._cloudfront()
        self._s3(buckets)
        self._route53(certificates)
        return {
            kind: {ident: json.dumps(clean(item), sort_keys=True) for ident, item in items.items()}
            for kind, items in sorted(self.found.items())
        }

    def _outside(self) -> None:
        """What the roles read from outside the stack: the region's zones, the AMI's parameter."""
        ec2 = self.client("ec2", self.region)
        zones = ec2.describe_availability_zones()["AvailabilityZones"]
        self.add("ec2:availability-zone", {z["ZoneName"]: {k: z.get(k) for k in ("State", "ZoneId")} for z in zones})
        if self.ami_parameter:
            ssm = self.client("ssm", self.region)
            try:
                value = ssm.get_parameter(Name=self.ami_parameter)["Parameter"]["Value"]
            except ssm.exceptions.ParameterNotFound:
                value = None
            self.add("ssm:ami-parameter", {self.ami_parameter: {"Value": value}})

    def _ec2(self) -> dict[str, dict]:
        ec2 = self.client("ec2", self.region)
        owned = [{"Name": f"tag:{k}", "Values": [v]} for k, v in self.tags.items()]
        vpcs = {v["VpcId"]: v for v in pages(ec2, "describe_vpcs", "Vpcs", Filters=owned)}
        self.add("ec2:vpc", vpcs)
        # Everything in the stack's networks, made by a role or by AWS with the network (its main
        # route table, its default security group).
        inside = [{"Name": "vpc-id", "Values": sorted(vpcs)}]
        for kind, method, key, ident, where in (
            ("ec2:subnet", "describe_subnets", "Subnets", "SubnetId", inside),
            (
                "ec2:internet-gateway",
                "describe_internet_gateways",
                "InternetGateways",
                "InternetGatewayId",
                [{"Name": "attachment.vpc-id", "Values": sorted(vpcs)}],
            ),
            ("ec2:route-table", "describe_route_tables", "RouteTables", "RouteTableId", inside),
            ("ec2:security-group", "describe_security_groups", "SecurityGroups", "GroupId", inside),
        ):
            self.add(kind, {item[ident]: item for item in pages(ec2, method, key, Filters=where)} if vpcs else {})
        gateways = {
            n["NatGatewayId"]: n
            for n in (pages(ec2, "describe_nat_gateways", "NatGateways", Filter=inside) if vpcs else [])
            if n["State"] not in ("deleting", "deleted", "failed")
        }
        self.add("ec2:nat-gateway", gateways)
        # The gateways' addresses, which the gateway module allocates untagged, and any tagged one.
        used = sorted({a["AllocationId"] for n in gateways.values() for a in n.get("NatGatewayAddresses", [])})
        addresses = {a["AllocationId"]: a for a in ec2.describe_addresses(Filters=owned)["Addresses"]}
        if used:
            addresses.update({a["AllocationId"]: a for a in ec2.describe_addresses(AllocationIds=used)["Addresses"]})
        self.add("ec2:elastic-ip", addresses)
        templates = {
            t["LaunchTemplateId"]: t for t in pages(ec2, "describe_launch_templates", "LaunchTemplates", Filters=owned)
        }
        for template_id, template in templates.items():
            versions = ec2.describe_launch_template_versions(
                LaunchTemplateId=template_id, Versions=["$Latest", "$Default"]
            )
            template["Versions"] = {
                str(v["VersionNumber"]): v["LaunchTemplateData"] for v in versions["LaunchTemplateVersions"]
            }
        self.add("ec2:launch-template", templates)
        return templates

    def _elbv2(self) -> None:
        elb = self.client("elbv2", self.region)
        balancers = {lb["LoadBalancerArn"]: lb for lb in pages(elb, "describe_load_balancers", "LoadBalancers")}
        groups = {tg["TargetGroupArn"]: tg for tg in pages(elb, "describe_target_groups", "TargetGroups")}
        arns = [*balancers, *groups]
        tags = {}
        for start in range(0, len(arns), 20):  # DescribeTags takes at most 20 ARNs
            for described in elb.describe_tags(ResourceArns=arns[start : start + 20])["TagDescriptions"]:
                tags[described["ResourceArn"]] = described["Tags"]
        lbs, listeners, targets = {}, {}, {}
        for arn, lb in balancers.items():
            if not self.owns(tags.get(arn)):
                continue
            attributes = elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
            lbs[arn] = {**lb, "Attributes": attributes, "Tags": tags[arn]}
            for listener in pages(elb, "describe_listeners", "Listeners", LoadBalancerArn=arn):
                rules = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
                listeners[listener["ListenerArn"]] = {**listener, "Rules": rules}
        for arn, group in groups.items():
            if self.owns(tags.get(arn)):
                attributes = elb.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
                targets[arn] = {**group, "Attributes": attributes, "Tags": tags[arn]}
        self.add("elbv2:load-balancer", lbs)
        self.add("elbv2:listener", listeners)
        self.add("elbv2:target-group", targets)

    def _autoscaling(self) -> None:
        asg = self.client("autoscaling", self.region)
        groups = self.owned(pages(asg, "describe_auto_scaling_groups", "AutoScalingGroups"), "AutoScalingGroupName")
        policies = {
            p["PolicyARN"]: p
            for name in groups
            for p in pages(asg, "describe_policies", "ScalingPolicies", AutoScalingGroupName=name)
        }
        self.add("autoscaling:group", groups)
        self.add("autoscaling:policy", policies)

    def _rds(self) -> None:
        rds = self.client("rds", self.region)
        instances = self.owned(pages(rds, "describe_db_instances", "DBInstances"), "DBInstanceIdentifier", "TagList")
        subnet_groups, parameter_groups = {}, {}
        for db in instances.values():
            name = (db.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
            if name:
                subnet_groups[name] = rds.describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"][0]
            for group in db.get("DBParameterGroups", []):
                name = group["DBParameterGroupName"]
                if name.startswith("default."):
                    continue
                described = rds.describe_db_parameter_groups(DBParameterGroupName=name)["DBParameterGroups"][0]
                user = list(
                    pages(rds, "describe_db_parameters", "Parameters", DBParameterGroupName=name, Source="user")
                )
                parameter_groups[name] = {**described, "Parameters": user}
        self.add("rds:db-instance", instances)
        self.add("rds:db-subnet-group", subnet_groups)
        self.add("rds:db-parameter-group", parameter_groups)

    def _acm(self) -> list[dict]:
        found = []
        for region in dict.fromkeys([self.region, CLOUDFRONT_REGION]):
            acm = self.client("acm", region)
            owned = {}
            # Without Includes, ListCertificates answers only RSA certificates.
            every_key = {"keyTypes": list(collection_module_utils("acm_reuse").ALL_KEY_TYPES)}
            for summary in pages(acm, "list_certificates", "CertificateSummaryList", Includes=every_key):
                arn = summary["CertificateArn"]
                if self.owns(acm.list_tags_for_certificate(CertificateArn=arn).get("Tags")):
                    owned[arn] = acm.describe_certificate(CertificateArn=arn)["Certificate"]
            self.add("acm:certificate", owned, region)
            found += owned.values()
        return found

    def _iam(self, launch_templates: dict[str, dict]) -> None:
        iam = self.client("iam", CLOUDFRONT_REGION)
        profiles, roles = {}, {}
        for template in launch_templates.values():
            for data in template["Versions"].values():
                profile = data.get("IamInstanceProfile") or {}
                name = profile.get("Name") or (profile.get("Arn") or "").rsplit("/", 1)[-1]
                if name and name not in profiles:
                    profiles[name] = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        for profile in profiles.values():
            for role in profile.get("Roles", []):
                name = role["RoleName"]
                attached = pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)
                inline = {
                    policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                    for policy in pages(iam, "list_role_policies", "PolicyNames", RoleName=name)
                }
                roles[name] = {
                    **iam.get_role(RoleName=name)["Role"],
                    "AttachedPolicies": sorted(p["PolicyArn"] for p in attached),
                    "InlinePolicies": inline,
                }
        self.add("iam:instance-profile", profiles, "global")
        self.add("iam:role", roles, "global")

    def _cloudfront(self) -> set[str]:
        """The distributions and what they use: origin access controls, functions, policies.
        Returns the buckets their origins read."""
        cf = self.client("cloudfront", CLOUDFRONT_REGION)
        distributions, oacs, functions, policies, buckets = {}, {}, {}, {}, set()
        cloudfront = collection_module_utils("cloudfront")
        for summary in cloudfront.distributions_with_tags(cloudfront.retrying(cf), self.tags):
            config = cf.get_distribution_config(Id=summary["Id"])["DistributionConfig"]
            distributions[summary["Id"]] = {"DistributionConfig": config, "Tags": summary["Tags"]}
            for origin in config["Origins"].get("Items", []):
                if origin.get("OriginAccessControlId"):
                    oac = cf.get_origin_access_control(Id=origin["OriginAccessControlId"])
                    oacs[origin["OriginAccessControlId"]] = oac["OriginAccessControl"]
                bucket, _, rest = origin["DomainName"].partition(".s3.")
                if rest.endswith("amazonaws.com"):
                    buckets.add(bucket)
            behaviours = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", {}).get("Items", [])]
            for behaviour in behaviours:
                for association in behaviour.get("FunctionAssociations", {}).get("Items", []):
                    name = association["FunctionARN"].rsplit("/", 1)[-1]
                    described = cf.describe_function(Name=name)
                    code = cf.get_function(Name=name)["FunctionCode"].read()
                    functions[name] = {
                        "FunctionSummary": described["FunctionSummary"],
                        "Code": hashlib.sha256(code).hexdigest(),
                    }
                for kind, key, call, answer in (
                    (
                        "response-headers-policy",
                        "ResponseHeadersPolicyId",
                        "get_response_headers_policy",
                        "ResponseHeadersPolicy",
                    ),
                    ("cache-policy", "CachePolicyId", "get_cache_policy", "CachePolicy"),
                    (
                        "origin-request-policy",
                        "OriginRequestPolicyId",
                        "get_origin_request_policy",
                        "OriginRequestPolicy",
                    ),
                ):
                    if behaviour.get(key):
                        policies.setdefault(kind, {})[behaviour[key]] = _policy(cf, call, answer, behaviour[key])
        self.add("cloudfront:distribution", distributions, "global")
        self.add("cloudfront:origin-access-control", oacs, "global")
        self.add("cloudfront:function", functions, "global")
        for kind, items in policies.items():
            self.add(f"cloudfront:{kind}", items, "global")
        return buckets

    def _s3(self, buckets: set[str]) -> None:
        s3 = self.client("s3", CLOUDFRONT_REGION)
        self.add("s3:bucket", {name: bucket_settings(s3, name) for name in sorted(buckets)}, "global")

    def _route53(self, certificates: list[dict]) -> None:
        """The records at the stack's names and at its certificates' validation names."""
        if not self.domain:
            return
        r53 = self.client("route53", CLOUDFRONT_REGION)
        names = {f"{self.domain}.", f"api.{self.domain}.", f"www.{self.domain}."}
        for certificate in certificates:
            for option in certificate.get("DomainValidationOptions", []):
                record = option.get("ResourceRecord") or {}
                if record.get("Name"):
                    names.add(record["Name"].lower())
        zones = [
            z
            for z in r53.list_hosted_zones_by_name(DNSName=self.domain)["HostedZones"]
            if z["Name"].rstrip(".").lower() == self.domain
        ]
        records = {}
        for zone in zones:
            zone_id = zone["Id"].rsplit("/", 1)[-1]
            for record in pages(r53, "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone_id):
                if record["Name"].lower() in names:
                    records[f"{zone_id}/{record['Name']}/{record['Type']}/{record.get('SetIdentifier', '')}"] = record
        self.add("route53:hosted-zone", {z["Id"].rsplit("/", 1)[-1]: z["Config"] for z in zones}, "global")
        self.add("route53:record", records, "global")


BUCKET_SETTINGS = (
    ("Policy", "get_bucket_policy", "Policy"),
    ("Versioning", "get_bucket_versioning", None),
    ("Encryption", "get_bucket_encryption", "ServerSideEncryptionConfiguration"),
    ("PublicAccessBlock", "get_public_access_block", "PublicAccessBlockConfiguration"),
    ("Ownership", "get_bucket_ownership_controls", "OwnershipControls"),
    ("Lifecycle", "get_bucket_lifecycle_configuration", "Rules"),
    ("Tags", "get_bucket_tagging", "TagSet"),
)


def bucket_settings(s3, name: str) -> dict:
    """A bucket's settings; one never made reads as its error code (NoSuchBucketPolicy, ...)."""
    settings: dict = {}
    for label, call, key in BUCKET_SETTINGS:
        try:
            answer = getattr(s3, call)(Bucket=name)
        except s3.exceptions.ClientError as exc:
            settings[label] = exc.response["Error"]["Code"]
            continue
        settings[label] = answer.get(key) if key else {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    return settings


def _policy(cf, call: str, answer: str, policy_id: str) -> dict:
    """A policy a behaviour names; one that cannot be read (gone, or a managed policy the emulator
    does not serve) is its error code, which changes when it can be read again."""
    try:
        return getattr(cf, call)(Id=policy_id)[answer]
    except cf.exceptions.ClientError as exc:
        return {"Error": exc.response["Error"]["Code"]}


def state_digests(read: dict[str, dict[str, str]]) -> dict[str, str]:
    """One digest per resource type; a type the stack has none of counts as absent."""
    return {
        kind: hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()[:32]
        for kind, items in read.items()
        if items
    }


# -- the record -------------------------------------------------------------------------------------
def load_record(ssm, name: str) -> Record | None:
    try:
        return Record.decode(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None


def save_record(ssm, name: str, record: Record) -> bool:
    """Writes the record unless the parameter holds it already (an unchanged stack writes nothing)."""
    if load_record(ssm, name) == record:
        return False
    ssm.put_parameter(
        Name=name,
        Value=record.encode(),
        Type="String",
        Overwrite=True,
        Description="webstack: the digests and outputs of the last deploy (runner.py deploy's shortcut)",
    )
    return True
