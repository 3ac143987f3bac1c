# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks behind webstack.aws.stack_verify (playbooks/verify.yml, `runner.py verify`): a
deployed stack read through the AWS APIs against the seed's flow.

Every resource is found by the stack's tags (Project, Environment, ManagedBy: webstack), the way
the roles find each other, and each check yields one pass/fail line:

    records -> targets, listeners, certificates' regions and status, OAC and bucket policy,
    Auto Scaling group in private subnets behind the target group, database private.

On real AWS (no endpoint override) it also makes HTTPS requests: the API's health path, an SPA
deep link (200 HTML), a missing asset (404 in function routing) and the site's root (the security
headers). Moto serves no content through CloudFront or the ALB, so those are skipped there and
reported as such.

Plain boto3 clients from an injected ``client(service, region)`` factory, so the module and
`runner.py outputs --diagram` (webstack/diagram.py) share the finders; the facts they check
against (CloudFront's alias zone, an ACM ARN's region) come from the collection's other
module_utils. Every listing is paginated; retries are botocore's, configured where the clients
are made.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from ansible_collections.webstack.aws.plugins.module_utils.aws_names import CLOUDFRONT_REGION, arn_region
from ansible_collections.webstack.aws.plugins.module_utils.cloudfront import (
    CLOUDFRONT_HOSTED_ZONE_ID,
    SECURITY_HEADERS_POLICY_ID,
    distributions_with_tags,
    retrying,
)

# What a site's own headers policy must send: HSTS of a year or more, nosniff, frame options and a
# referrer policy (the managed SecurityHeadersPolicy's set).
HSTS_MIN_AGE = 31536000
SECURITY_HEADERS = ("strict-transport-security", "x-content-type-options", "x-frame-options", "referrer-policy")


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

    def __init__(
        self,
        client: Callable,
        project: str,
        environment: str,
        region: str,
        domain: str,
        *,
        spa_routing: str = "function",
        response_headers: str = "custom",
    ):
        self.client = client
        self.tags = {"Project": project, "Environment": environment, "ManagedBy": "webstack"}
        self.region = region
        self.domain = domain.rstrip(".")
        self.spa_routing = spa_routing
        self.response_headers = response_headers

    def owns(self, tags) -> bool:
        if isinstance(tags, list):
            tags = {t["Key"]: t["Value"] for t in tags}
        return all(tags.get(k) == v for k, v in self.tags.items())

    def tag_filters(self) -> list[dict]:
        return [{"Name": f"tag:{k}", "Values": [v]} for k, v in self.tags.items()]

    # -- finders -------------------------------------------------------------------------------
    def private_subnets(self) -> set[str]:
        subnets = pages(self.client("ec2"), "describe_subnets", "Subnets", Filters=self.tag_filters())
        return {s["SubnetId"] for s in subnets if {"Key": "Tier", "Value": "private"} in s.get("Tags", [])}

    def load_balancer(self) -> dict | None:
        elb = self.client("elbv2")
        for lb in pages(elb, "describe_load_balancers", "LoadBalancers"):
            tags = elb.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
            if self.owns(tags):
                return lb
        return None

    def auto_scaling_group(self) -> dict | None:
        groups = pages(self.client("autoscaling"), "describe_auto_scaling_groups", "AutoScalingGroups")
        return next((g for g in groups if self.owns(g.get("Tags", []))), None)

    def databases(self) -> list[dict]:
        instances = pages(self.client("rds"), "describe_db_instances", "DBInstances")
        return [db for db in instances if self.owns(db.get("TagList", []))]

    def distribution(self) -> dict | None:
        cloudfront = self.client("cloudfront", "us-east-1")
        found = next(distributions_with_tags(retrying(cloudfront), self.tags), None)
        return cloudfront.get_distribution(Id=found["Id"])["Distribution"] if found else None

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


def pages(client, method: str, key: str, **kwargs) -> list:
    """Every item of a paginated listing; ``key`` may be dotted (CloudFront nests its lists)."""
    found = []
    for page in client.get_paginator(method).paginate(**kwargs):
        part = page
        for name in key.split("."):
            part = (part or {}).get(name)
        found.extend(part or [])
    return found


def _certificate(stack: Stack, arn: str) -> dict:
    return stack.client("acm", arn_region(arn)).describe_certificate(CertificateArn=arn)["Certificate"]


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
    listeners = {
        li["Port"]: li for li in pages(elb, "describe_listeners", "Listeners", LoadBalancerArn=lb["LoadBalancerArn"])
    }
    https = listeners.get(443)
    if https:
        arn = https["Certificates"][0]["CertificateArn"]
        cert, region = _certificate(stack, arn), arn_region(arn)
        yield Check(
            "backend: HTTPS listener certificate is in the ALB's region and issued",
            region == stack.region and cert["Status"] == "ISSUED",
            f"{region} {cert['Status']} (ALB in {stack.region})",
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
            for tg in pages(elb, "describe_target_groups", "TargetGroups", LoadBalancerArn=lb["LoadBalancerArn"])
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
    yield from check_spa_routing(stack, config)
    yield from check_security_headers(stack, behaviour)
    yield Check(
        "frontend: default root object",
        config.get("DefaultRootObject") == "index.html",
        config.get("DefaultRootObject"),
    )
    cert_arn = config.get("ViewerCertificate", {}).get("ACMCertificateArn")
    if cert_arn:
        cert, region = _certificate(stack, cert_arn), arn_region(cert_arn)
        yield Check(
            "frontend: CloudFront certificate is in us-east-1 and issued",
            region == CLOUDFRONT_REGION and cert["Status"] == "ISSUED",
            f"{region} {cert['Status']}",
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


def _answers_with_the_page(entry: dict) -> bool:
    return entry.get("ResponsePagePath") == "/index.html" and str(entry.get("ResponseCode")) == "200"


def check_spa_routing(stack: Stack, config: dict) -> Iterator[Check]:
    errors = {e["ErrorCode"]: e for e in config.get("CustomErrorResponses", {}).get("Items", [])}
    associations = config["DefaultCacheBehavior"].get("FunctionAssociations", {}).get("Items", [])
    viewer_request = next((a["FunctionARN"] for a in associations if a["EventType"] == "viewer-request"), None)
    if stack.spa_routing == "error_pages":
        yield Check(
            "frontend: SPA deep links answered by /index.html 200",
            all(_answers_with_the_page(errors.get(code, {})) for code in (403, 404)),
            json.dumps(sorted(errors)),
        )
        return
    live = None
    if viewer_request:
        cloudfront = stack.client("cloudfront", "us-east-1")
        name = viewer_request.rsplit("/", 1)[-1]
        try:
            live = cloudfront.describe_function(Name=name, Stage="LIVE")["FunctionSummary"]
            code = cloudfront.get_function(Name=name, Stage="LIVE")["FunctionCode"].read().decode()
        except ClientError as exc:
            live, code = None, str(exc)
    yield Check(
        "frontend: client routes answered by the published routing function",
        live is not None and "webstack SPA routing" in code,
        f"viewer-request {viewer_request or 'has no function'}"
        + (f", LIVE {live['FunctionConfig'].get('Runtime')}" if live else ", not published"),
    )
    wrong = sorted(code for code, entry in errors.items() if _answers_with_the_page(entry))
    yield Check(
        "frontend: a missing file is a 404, not the app's page",
        not wrong,
        f"error responses answering with /index.html 200: {wrong}" if wrong else "no error answers with the page",
    )


def check_security_headers(stack: Stack, behaviour: dict) -> Iterator[Check]:
    policy_id = behaviour.get("ResponseHeadersPolicyId") or ""
    if stack.response_headers == "managed":
        yield Check(
            "frontend: the managed SecurityHeadersPolicy is attached",
            policy_id == SECURITY_HEADERS_POLICY_ID,
            policy_id or "no response headers policy",
        )
        return
    try:
        policy = stack.client("cloudfront", "us-east-1").get_response_headers_policy_config(Id=policy_id)
        config = policy["ResponseHeadersPolicyConfig"]
    except (ClientError, ParamValidationError) as exc:
        yield Check("frontend: the site's security headers policy", False, f"{policy_id or 'none'}: {exc}")
        return
    headers = config.get("SecurityHeadersConfig", {})
    hsts = headers.get("StrictTransportSecurity", {})
    missing = [
        name
        for name, present in (
            (f"HSTS max-age >= {HSTS_MIN_AGE}", hsts.get("AccessControlMaxAgeSec", 0) >= HSTS_MIN_AGE),
            ("X-Content-Type-Options", "ContentTypeOptions" in headers),
            ("X-Frame-Options", "FrameOptions" in headers),
            ("Referrer-Policy", "ReferrerPolicy" in headers),
        )
        if not present
    ]
    yield Check(
        "frontend: the site's security headers policy sends HSTS, nosniff, frame options, referrer policy",
        config.get("Name") == f"{stack.tags['Project']}-{stack.tags['Environment']}-headers" and not missing,
        f"{config.get('Name')}: " + (f"missing {', '.join(missing)}" if missing else "all set"),
    )


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
        targets.append((stack.domain, dist["DomainName"], CLOUDFRONT_HOSTED_ZONE_ID))
        if f"www.{stack.domain}" in dist["DistributionConfig"].get("Aliases", {}).get("Items", []):
            targets.append((f"www.{stack.domain}", dist["DomainName"], CLOUDFRONT_HOSTED_ZONE_ID))
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


def _fetch(url: str) -> tuple[int, dict[str, str]]:
    """(status, lower-cased headers) of a GET that follows no redirect."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=15) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}


def check_live(site_url: str, api_url: str, spa_routing: str, health_path: str = "/health") -> Iterator[Check]:
    """Requests to the running stack: the API's health, an SPA deep link (200 HTML), a missing
    asset (404 unless error_pages routing answers it with the page) and the root's security headers."""
    probes = [
        ("API health", f"{api_url}{health_path}", lambda status, _h: (status == 200, f"HTTP {status}")),
        (
            "SPA deep link",
            f"{site_url}/webstack-verify/deep/link",
            lambda status, h: (
                status == 200 and h.get("content-type", "").startswith("text/html"),
                f"HTTP {status} {h.get('content-type', '')}",
            ),
        ),
        (
            "site root's security headers",
            f"{site_url}/",
            lambda status, h: (
                status == 200 and all(name in h for name in SECURITY_HEADERS),
                f"HTTP {status}, missing {[n for n in SECURITY_HEADERS if n not in h] or 'none'}",
            ),
        ),
    ]
    if spa_routing == "function":
        probes.append(
            (
                "missing asset",
                f"{site_url}/assets/webstack-verify-missing.js",
                lambda status, h: (status == 404, f"HTTP {status} {h.get('content-type', '')}"),
            )
        )
    for name, url, judge in probes:
        try:
            status, headers = _fetch(url)
        except (urllib.error.URLError, OSError) as exc:
            yield Check(f"https: {name} {url}", False, str(exc))
            continue
        passed, detail = judge(status, headers)
        yield Check(f"https: {name} {url}", passed, detail)


def _covered(name: str, certificate_names: set[str]) -> bool:
    for pattern in certificate_names:
        if pattern == name:
            return True
        if pattern.startswith("*.") and name.count(".") == pattern.count(".") and name.endswith(pattern[1:]):
            return True
    return False


def line(check: Check) -> str:
    """How a check is printed, by the playbook and by runner.py alike."""
    return f"{check.word}  {check.name} — {check.detail}"


def tally(counts: dict[str, int]) -> str:
    return f"{counts.get('PASS', 0)} passed, {counts.get('FAIL', 0)} failed, {counts.get('SKIP', 0)} skipped"


def verify(stack: Stack, layers: list[str], *, live_https: bool) -> list[Check]:
    checks: list[Check] = []
    for layer, check in (("backend", check_backend), ("frontend", check_frontend), ("dns", check_dns)):
        if layer in layers:
            try:
                checks.extend(check(stack))
            except (BotoCoreError, ClientError, KeyError, IndexError, ValueError) as exc:  # unreadable counts as failed
                checks.append(Check(f"{layer}: read from AWS", False, f"{type(exc).__name__}: {exc}"))
    if live_https:
        checks.extend(check_live(f"https://{stack.domain}", f"https://api.{stack.domain}", stack.spa_routing))
    else:
        checks.append(Check("https: live requests", None, "skipped: the emulator serves no content"))
    return checks
