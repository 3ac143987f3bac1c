"""`runner.py verify`: checks a deployed stack through the AWS APIs against the seed's flow.

Every resource is found by the stack's tags (Project, Environment, ManagedBy: webstack), the way
the roles find each other, and each check yields one pass/fail line:

    records -> targets, listeners, certificates' regions and status, OAC and bucket policy,
    Auto Scaling group in private subnets behind the target group, database private.

On real AWS (no endpoint override) it also makes HTTPS requests to the API's health path and to an
SPA deep link. Moto serves no content through CloudFront or the ALB, so those two are skipped there
and reported as such.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"


@dataclass
class Check:
    name: str
    passed: bool | None  # None: not applicable here (said why in detail)
    detail: str

    @property
    def word(self) -> str:
        return {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]


class Stack:
    """Finds the stack's resources by tag with boto3 clients made by `client(service, region)`."""

    def __init__(self, client: Callable, project: str, environment: str, region: str, domain: str):
        self.client = client
        self.tags = {"Project": project, "Environment": environment, "ManagedBy": "webstack"}
        self.region = region
        self.domain = domain.rstrip(".")

    def owns(self, tags) -> bool:
        if isinstance(tags, list):
            tags = {t["Key"]: t["Value"] for t in tags}
        return all(tags.get(k) == v for k, v in self.tags.items())

    def tag_filters(self) -> list[dict]:
        return [{"Name": f"tag:{k}", "Values": [v]} for k, v in self.tags.items()]

    # -- finders -------------------------------------------------------------------------------
    def private_subnets(self) -> set[str]:
        subnets = self.client("ec2").describe_subnets(Filters=self.tag_filters())["Subnets"]
        return {s["SubnetId"] for s in subnets if {"Key": "Tier", "Value": "private"} in s.get("Tags", [])}

    def load_balancer(self) -> dict | None:
        elb = self.client("elbv2")
        lbs = elb.describe_load_balancers()["LoadBalancers"]
        for lb in lbs:
            tags = elb.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
            if self.owns(tags):
                return lb
        return None

    def auto_scaling_group(self) -> dict | None:
        groups = self.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
        return next((g for g in groups if self.owns(g.get("Tags", []))), None)

    def databases(self) -> list[dict]:
        instances = self.client("rds").describe_db_instances()["DBInstances"]
        return [db for db in instances if self.owns(db.get("TagList", []))]

    def distribution(self) -> dict | None:
        cloudfront = self.client("cloudfront", "us-east-1")
        items = cloudfront.list_distributions().get("DistributionList", {}).get("Items", [])
        for item in items:
            tags = cloudfront.list_tags_for_resource(Resource=item["ARN"])["Tags"].get("Items", [])
            if self.owns(tags):
                return cloudfront.get_distribution(Id=item["Id"])["Distribution"]
        return None

    def hosted_zone(self) -> dict | None:
        zones = self.client("route53").list_hosted_zones_by_name(DNSName=self.domain)["HostedZones"]
        return next((z for z in zones if z["Name"].rstrip(".") == self.domain and not z["Config"]["PrivateZone"]), None)

    def records(self, zone_id: str) -> dict[tuple[str, str], dict]:
        route53 = self.client("route53")
        found = {}
        for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id):
            for record in page["ResourceRecordSets"]:
                found[(record["Name"].rstrip(".").lower(), record["Type"])] = record
        return found


def _certificate(stack: Stack, arn: str) -> dict:
    region = arn.split(":")[3]
    return stack.client("acm", region).describe_certificate(CertificateArn=arn)["Certificate"]


def check_backend(stack: Stack) -> Iterator[Check]:
    lb = stack.load_balancer()
    if lb is None:
        yield Check("backend: load balancer", False, "no ALB tagged by the stack")
        return
    yield Check(
        "backend: load balancer is internet-facing",
        lb["Scheme"] == "internet-facing",
        f"{lb['LoadBalancerName']} {lb['Scheme']}",
    )
    elb = stack.client("elbv2")
    listeners = {li["Port"]: li for li in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    https = listeners.get(443)
    if https:
        arn = https["Certificates"][0]["CertificateArn"]
        cert = _certificate(stack, arn)
        yield Check(
            "backend: HTTPS listener certificate is in the ALB's region and issued",
            arn.split(":")[3] == stack.region and cert["Status"] == "ISSUED",
            f"{arn.split(':')[3]} {cert['Status']} (ALB in {stack.region})",
        )
        yield Check(
            "backend: HTTPS listener TLS policy", "TLS13" in (https.get("SslPolicy") or ""), https.get("SslPolicy")
        )
        actions = listeners.get(80, {}).get("DefaultActions", [])
        redirect = next((a.get("RedirectConfig") for a in actions if a["Type"] == "redirect"), None)
        yield Check(
            "backend: HTTP :80 redirects to HTTPS with 301",
            bool(redirect) and redirect.get("Protocol") == "HTTPS" and redirect.get("StatusCode") == "HTTP_301",
            json.dumps(redirect),
        )
    else:
        yield Check("backend: HTTPS listener", False, "no listener on :443")

    group = stack.auto_scaling_group()
    if group is None:
        yield Check("backend: Auto Scaling group", False, "no Auto Scaling group tagged by the stack")
    else:
        target_groups = {
            tg["TargetGroupArn"]
            for tg in elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
        }
        attached = set(group.get("TargetGroupARNs", []))
        yield Check(
            "backend: Auto Scaling group is behind the ALB's target group",
            bool(attached & target_groups) and group["HealthCheckType"] == "ELB",
            f"health check {group['HealthCheckType']}, {len(attached & target_groups)} target group(s)",
        )
        subnets = set(filter(None, group["VPCZoneIdentifier"].split(",")))
        private = stack.private_subnets()
        yield Check(
            "backend: Auto Scaling group runs in private subnets across AZs",
            bool(subnets) and subnets <= private and len(group["AvailabilityZones"]) >= 2,
            f"{len(subnets)} subnets, all private: {subnets <= private}, AZs {group['AvailabilityZones']}",
        )

    databases = stack.databases()
    yield Check("backend: database exists", bool(databases), f"{len(databases)} instance(s)")
    for db in databases:
        yield Check(
            f"backend: database {db['DBInstanceIdentifier']} is private and encrypted",
            not db["PubliclyAccessible"] and db["StorageEncrypted"],
            f"public={db['PubliclyAccessible']} encrypted={db['StorageEncrypted']}",
        )


def check_frontend(stack: Stack) -> Iterator[Check]:
    dist = stack.distribution()
    if dist is None:
        yield Check("frontend: CloudFront distribution", False, "no distribution tagged by the stack")
        return
    config = dist["DistributionConfig"]
    origin = config["Origins"]["Items"][0]
    yield Check(
        "frontend: origin is the S3 bucket through Origin Access Control",
        bool(origin.get("OriginAccessControlId"))
        and not origin.get("S3OriginConfig", {}).get("OriginAccessIdentity")
        and ".s3." in origin["DomainName"],
        f"{origin['DomainName']} OAC={origin.get('OriginAccessControlId')}",
    )
    behaviour = config["DefaultCacheBehavior"]
    yield Check(
        "frontend: viewers are redirected to HTTPS",
        behaviour["ViewerProtocolPolicy"] == "redirect-to-https",
        behaviour["ViewerProtocolPolicy"],
    )
    errors = {e["ErrorCode"]: e for e in config.get("CustomErrorResponses", {}).get("Items", [])}
    spa = all(
        errors.get(code, {}).get("ResponsePagePath") == "/index.html" and str(errors[code].get("ResponseCode")) == "200"
        for code in (403, 404)
    )
    yield Check("frontend: SPA deep links answered by /index.html 200", spa, json.dumps(sorted(errors)))
    yield Check(
        "frontend: default root object",
        config.get("DefaultRootObject") == "index.html",
        config.get("DefaultRootObject"),
    )
    cert_arn = config.get("ViewerCertificate", {}).get("ACMCertificateArn")
    if cert_arn:
        cert = _certificate(stack, cert_arn)
        yield Check(
            "frontend: CloudFront certificate is in us-east-1 and issued",
            cert_arn.split(":")[3] == "us-east-1" and cert["Status"] == "ISSUED",
            f"{cert_arn.split(':')[3]} {cert['Status']}",
        )
        names = {cert["DomainName"], *cert.get("SubjectAlternativeNames", [])}
        aliases = config.get("Aliases", {}).get("Items", [])
        yield Check(
            "frontend: the certificate covers every alias",
            all(_covered(alias, names) for alias in aliases),
            f"aliases {aliases}",
        )
    else:
        yield Check("frontend: CloudFront certificate", False, "the distribution has no ACM certificate")

    bucket = origin["DomainName"].split(".s3.")[0]
    s3 = stack.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    readers = [
        st
        for st in policy["Statement"]
        if st.get("Effect") == "Allow" and st.get("Principal", {}).get("Service") == "cloudfront.amazonaws.com"
    ]
    source_arns = {
        st.get("Condition", {}).get("StringEquals", {}).get("AWS:SourceArn")
        or st.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        for st in readers
    }
    others = [st for st in policy["Statement"] if st.get("Effect") == "Allow" and st not in readers]
    yield Check(
        "frontend: only this distribution may read the bucket",
        bool(readers) and source_arns == {dist["ARN"]} and not others,
        f"{bucket}: {len(readers)} CloudFront statement(s), source {sorted(map(str, source_arns))}",
    )
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    yield Check("frontend: bucket blocks all public access", all(block.values()), json.dumps(block))


def check_dns(stack: Stack) -> Iterator[Check]:
    zone = stack.hosted_zone()
    if zone is None:
        yield Check("dns: hosted zone", False, f"no public hosted zone for {stack.domain}")
        return
    records = stack.records(zone["Id"])
    lb = stack.load_balancer()
    dist = stack.distribution()
    targets = []
    if lb:
        targets.append((f"api.{stack.domain}", lb["DNSName"], lb["CanonicalHostedZoneId"]))
    if dist:
        targets.append((stack.domain, dist["DomainName"], CLOUDFRONT_ZONE_ID))
        if f"www.{stack.domain}" in dist["DistributionConfig"].get("Aliases", {}).get("Items", []):
            targets.append((f"www.{stack.domain}", dist["DomainName"], CLOUDFRONT_ZONE_ID))
    if dist:
        aliases = {a.lower() for a in dist["DistributionConfig"].get("Aliases", {}).get("Items", [])}
        for name, kind in records:
            alias = records[(name, kind)].get("AliasTarget", {})
            points_at_cdn = alias.get("DNSName", "").rstrip(".").lower() == dist["DomainName"].lower()
            if kind in ("A", "AAAA") and points_at_cdn and name not in aliases:
                yield Check(
                    f"dns: {name} {kind} is an alias the distribution answers for",
                    False,
                    f"the distribution's aliases are {sorted(aliases)}: CloudFront would refuse {name}",
                )
    for name, dns_name, zone_id in targets:
        for kind in ("A", "AAAA"):
            alias = records.get((name.lower(), kind), {}).get("AliasTarget", {})
            yield Check(
                f"dns: {name} {kind} -> {dns_name}",
                alias.get("DNSName", "").rstrip(".").lower().removeprefix("dualstack.") == dns_name.lower()
                and alias.get("HostedZoneId") == zone_id,
                f"alias {alias.get('DNSName')} zone {alias.get('HostedZoneId')} (want zone {zone_id})",
            )


def check_https(domain: str, deep_link: str = "/users/42", health_path: str = "/health") -> Iterator[Check]:
    for name, url in (
        ("API health", f"https://api.{domain}{health_path}"),
        ("SPA deep link", f"https://{domain}{deep_link}"),
    ):
        try:
            with urllib.request.urlopen(url, timeout=15) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError) as exc:
            yield Check(f"https: {name} {url}", False, str(exc))
            continue
        yield Check(f"https: {name} {url}", status == 200, f"HTTP {status}")


def _covered(name: str, certificate_names: set[str]) -> bool:
    for pattern in certificate_names:
        if pattern == name:
            return True
        if pattern.startswith("*.") and name.count(".") == pattern.count(".") and name.endswith(pattern[1:]):
            return True
    return False


def verify(stack: Stack, layers: list[str], *, live_https: bool) -> list[Check]:
    checks: list[Check] = []
    for layer, check in (("backend", check_backend), ("frontend", check_frontend), ("dns", check_dns)):
        if layer in layers:
            try:
                checks.extend(check(stack))
            except (BotoCoreError, ClientError, KeyError, IndexError) as exc:  # unreadable counts as failed
                checks.append(Check(f"{layer}: read from AWS", False, f"{type(exc).__name__}: {exc}"))
    if live_https:
        checks.extend(check_https(stack.domain))
    else:
        checks.append(Check("https: live requests", None, "skipped: the emulator serves no content"))
    return checks
