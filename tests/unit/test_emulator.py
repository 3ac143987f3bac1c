"""The embedded emulator starts on loopback, answers, and leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from ansible_collections.webstack.aws.plugins.test import endpoint as endpoint_jinja_tests
from webstack import emulator
from webstack.emulator import Emulator, is_loopback_url

loopback_url_test = endpoint_jinja_tests.TestModule().tests()["loopback_url"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_ephemeral_emulator_serves_aws_on_loopback_and_stops():
    with Emulator.ephemeral() as emu:
        assert is_loopback_url(emu.url)
        sts = boto3.client("sts", region_name="ap-northeast-2", endpoint_url=emu.url, **_creds())
        assert sts.get_caller_identity()["Account"]
        pid = emu.pid
    assert _wait_gone(pid)


def test_ephemeral_emulator_stops_on_an_exception():
    with pytest.raises(RuntimeError), Emulator.ephemeral() as emu:
        pid = emu.pid
        raise RuntimeError("deploy failed")
    assert _wait_gone(pid)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_no_orphan_when_the_parent_is_interrupted_or_killed(tmp_path, how):
    pid_file = tmp_path / "pid"
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(emulator.__file__.rsplit("/", 2)[0])!r})
        from webstack.emulator import Emulator
        with Emulator.ephemeral() as emu:
            open({str(pid_file)!r}, "w").write(str(emu.pid))
            time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "emulator did not start"
        time.sleep(0.1)
    child = int(pid_file.read_text())
    parent.send_signal(how)
    parent.wait(120)  # generous: on a loaded CI machine stopping moto can take a while
    assert _wait_gone(child), f"moto server {child} outlived its parent after {how!r}"


def test_persistent_emulator_is_found_again_and_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(emulator, "STATE_FILE", tmp_path / "emulator.json")
    started = Emulator.start_persistent()
    try:
        again = Emulator.persistent()
        assert again is not None and again.url == started.url and again.pid == started.pid
        assert Emulator.start_persistent().pid == started.pid  # start is idempotent
    finally:
        assert Emulator.stop_persistent() is True
    assert _wait_gone(started.pid)
    assert Emulator.persistent() is None
    assert Emulator.stop_persistent() is False


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:5000", True),
        ("http://localhost:1", True),
        ("https://10.0.0.1", False),
        ("https://s3.aws", False),
        ("http://[::1]:4566", True),
        ("http://127.attacker.example:4566", False),  # a name, not an address on this machine
        ("http://127.999:4566", False),  # not an address at all
        ("ftp://127.0.0.1", False),  # boto3 speaks http(s) only
        ("http://127.0.0.1:port", False),
        ("", False),
    ],
)
def test_loopback_detection(url, loopback):
    # emulator.py asks the collection's definition, the one the playbooks' preflight test uses.
    assert is_loopback_url(url) is loopback
    assert loopback_url_test(url) is loopback


def _creds() -> dict:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def test_a_deleted_nat_gateway_takes_its_interface_and_frees_its_address(emulator):
    """emulator._patch_nat_gateway_release: moto 5.2 keeps both for ever; AWS does not."""
    ec2 = boto3.client("ec2", region_name="ap-northeast-2", endpoint_url=emulator.url, **_creds())
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.99.0.0/24")["Subnet"]["SubnetId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    in_subnet = [{"Name": "subnet-id", "Values": [subnet]}]
    assert len(ec2.describe_network_interfaces(Filters=in_subnet)["NetworkInterfaces"]) == 1

    ec2.delete_nat_gateway(NatGatewayId=nat)
    assert ec2.describe_network_interfaces(Filters=in_subnet)["NetworkInterfaces"] == []
    (address,) = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"]
    assert not address.get("AssociationId") and not address.get("NetworkInterfaceId")
    ec2.release_address(AllocationId=allocation)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_launch_template_versions_are_deleted_but_never_the_default(aws):
    """emulator._patch_launch_template_versions: moto 5.2 has no DeleteLaunchTemplateVersions, which
    amazon.aws.ec2_launch_template (state absent) calls before DeleteLaunchTemplate."""
    ec2 = aws("ec2")
    created = ec2.create_launch_template(
        LaunchTemplateName="t-emu-versions", LaunchTemplateData={"InstanceType": "t3.micro"}
    )
    template = created["LaunchTemplate"]["LaunchTemplateId"]
    for size in ("small", "medium"):
        ec2.create_launch_template_version(LaunchTemplateId=template, LaunchTemplateData={"InstanceType": f"t3.{size}"})
    answer = ec2.delete_launch_template_versions(LaunchTemplateId=template, Versions=["1", "2", "3", "9"])
    assert [v["VersionNumber"] for v in answer["SuccessfullyDeletedLaunchTemplateVersions"]] == [2, 3]
    refused = answer["UnsuccessfullyDeletedLaunchTemplateVersions"]
    assert {v["VersionNumber"]: v["ResponseError"]["Code"] for v in refused} == {
        1: "unexpectedError",  # the default version
        9: "launchTemplateVersionDoesNotExist",
    }
    left = ec2.describe_launch_template_versions(LaunchTemplateId=template)["LaunchTemplateVersions"]
    assert [(v["VersionNumber"], v["DefaultVersion"]) for v in left] == [(1, True)]
    again = ec2.create_launch_template_version(
        LaunchTemplateId=template, LaunchTemplateData={"InstanceType": "t3.nano"}
    )
    assert again["LaunchTemplateVersion"]["VersionNumber"] == 4  # a deleted number is not given again
    ec2.delete_launch_template(LaunchTemplateId=template)
    found = ec2.describe_launch_templates(Filters=[{"Name": "launch-template-name", "Values": ["t-emu-versions"]}])
    assert found["LaunchTemplates"] == []


def test_the_hold_switch_keeps_a_deleted_distributions_certificate_and_control_for_a_while(emulator, aws):
    """Emulator.hold_releases(N): as on AWS, what a deleted distribution used stays in use for N
    seconds (DeleteCertificate: ResourceInUseException; DeleteOriginAccessControl:
    OriginAccessControlInUse); with 0, both go at once."""
    acm, cloudfront = aws("acm", "us-east-1"), aws("cloudfront", "us-east-1")

    def distribution_using(certificate: str, control: str, reference: str) -> None:
        origin = {"Id": "site", "DomainName": "b.s3.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}
        created = cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": reference,
                "Comment": "",
                "Enabled": False,
                "Origins": {"Quantity": 1, "Items": [{**origin, "OriginAccessControlId": control}]},
                "DefaultCacheBehavior": {
                    "TargetOriginId": "site",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "MinTTL": 0,
                    "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                },
                "ViewerCertificate": {"ACMCertificateArn": certificate, "SSLSupportMethod": "sni-only"},
            }
        )
        cloudfront.delete_distribution(Id=created["Distribution"]["Id"], IfMatch=created["ETag"])

    def control(name: str) -> str:
        config = {"Name": name, "SigningProtocol": "sigv4", "SigningBehavior": "always"}
        return cloudfront.create_origin_access_control(
            OriginAccessControlConfig={**config, "OriginAccessControlOriginType": "s3"}
        )["OriginAccessControl"]["Id"]

    held_certificate = acm.request_certificate(DomainName="held.hold.test")["CertificateArn"]
    held_control = control("t-hold-held")
    emulator.hold_releases(3)
    try:
        distribution_using(held_certificate, held_control, "t-hold-1")
        with pytest.raises(ClientError, match="OriginAccessControlInUse"):
            cloudfront.delete_origin_access_control(Id=held_control, IfMatch="any")
        with pytest.raises(ClientError, match="ResourceInUseException"):
            acm.delete_certificate(CertificateArn=held_certificate)
        time.sleep(3.5)
    finally:
        emulator.hold_releases(0)
    cloudfront.delete_origin_access_control(Id=held_control, IfMatch="any")
    acm.delete_certificate(CertificateArn=held_certificate)

    free_certificate = acm.request_certificate(DomainName="free.hold.test")["CertificateArn"]
    free_control = control("t-hold-free")
    distribution_using(free_certificate, free_control, "t-hold-2")
    cloudfront.delete_origin_access_control(Id=free_control, IfMatch="any")
    acm.delete_certificate(CertificateArn=free_certificate)


def _distribution_config(reference: str, **behaviour) -> dict:
    origin = {"Id": "site", "DomainName": "b.s3.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}
    return {
        "CallerReference": reference,
        "Comment": "",
        "Enabled": False,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "site",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            **behaviour,
        },
    }


def test_a_function_has_a_development_and_a_live_stage_behind_if_match(aws):
    """emulator._patch_cloudfront_functions: moto 5.2 can neither update nor publish a function."""
    cloudfront = aws("cloudfront", "us-east-1")
    config = {"Comment": "v1", "Runtime": "cloudfront-js-2.0"}
    created = cloudfront.create_function(Name="t-emu-fn", FunctionConfig=config, FunctionCode=b"// v1")
    with pytest.raises(ClientError, match="NoSuchFunctionExists"):
        cloudfront.describe_function(Name="t-emu-fn", Stage="LIVE")  # not published yet

    updated = cloudfront.update_function(
        Name="t-emu-fn", IfMatch=created["ETag"], FunctionConfig={**config, "Comment": "v2"}, FunctionCode=b"// v2"
    )
    with pytest.raises(ClientError, match="PreconditionFailed"):
        cloudfront.publish_function(Name="t-emu-fn", IfMatch=created["ETag"])  # a stale ETag
    published = cloudfront.publish_function(Name="t-emu-fn", IfMatch=updated["ETag"])["FunctionSummary"]
    assert published["FunctionMetadata"]["Stage"] == "LIVE"

    cloudfront.update_function(
        Name="t-emu-fn", IfMatch=updated["ETag"], FunctionConfig={**config, "Comment": "v3"}, FunctionCode=b"// v3"
    )
    assert cloudfront.get_function(Name="t-emu-fn", Stage="LIVE")["FunctionCode"].read() == b"// v2"
    assert cloudfront.get_function(Name="t-emu-fn")["FunctionCode"].read() == b"// v3"
    live = cloudfront.describe_function(Name="t-emu-fn", Stage="LIVE")["FunctionSummary"]
    assert live["FunctionConfig"]["Comment"] == "v2"
    development = cloudfront.describe_function(Name="t-emu-fn")
    cloudfront.delete_function(Name="t-emu-fn", IfMatch=development["ETag"])


def test_a_behaviour_runs_only_published_functions_and_holds_them_while_it_does(aws):
    """emulator._patch_cloudfront_function_associations: moto 5.2 forgets FunctionAssociations."""
    cloudfront = aws("cloudfront", "us-east-1")
    config = {"Comment": "", "Runtime": "cloudfront-js-2.0"}
    created = cloudfront.create_function(Name="t-emu-assoc", FunctionConfig=config, FunctionCode=b"// code")
    arn = created["FunctionSummary"]["FunctionMetadata"]["FunctionARN"]
    associations = {"Quantity": 1, "Items": [{"FunctionARN": arn, "EventType": "viewer-request"}]}
    with pytest.raises(ClientError, match="InvalidFunctionAssociation"):
        cloudfront.create_distribution(
            DistributionConfig=_distribution_config("t-emu-a1", FunctionAssociations=associations)
        )

    cloudfront.publish_function(Name="t-emu-assoc", IfMatch=created["ETag"])
    dist = cloudfront.create_distribution(
        DistributionConfig=_distribution_config("t-emu-a2", FunctionAssociations=associations)
    )
    dist_id = dist["Distribution"]["Id"]
    read = cloudfront.get_distribution_config(Id=dist_id)
    assert read["DistributionConfig"]["DefaultCacheBehavior"]["FunctionAssociations"] == associations
    with pytest.raises(ClientError, match="FunctionInUse"):
        cloudfront.delete_function(Name="t-emu-assoc", IfMatch=created["ETag"])

    cloudfront.delete_distribution(Id=dist_id, IfMatch=read["ETag"])
    cloudfront.delete_function(Name="t-emu-assoc", IfMatch=created["ETag"])


def test_response_headers_policies_live_behind_if_match_and_stay_while_in_use(aws):
    """emulator._patch_cloudfront_response_headers_policies: moto 5.2 has no such API."""
    cloudfront = aws("cloudfront", "us-east-1")
    security = {"ContentTypeOptions": {"Override": True}}
    config = {"Name": "t-emu-headers", "Comment": "one", "SecurityHeadersConfig": security}
    created = cloudfront.create_response_headers_policy(ResponseHeadersPolicyConfig=config)
    policy_id = created["ResponseHeadersPolicy"]["Id"]
    with pytest.raises(ClientError, match="ResponseHeadersPolicyAlreadyExists"):
        cloudfront.create_response_headers_policy(ResponseHeadersPolicyConfig=config)
    listing = cloudfront.list_response_headers_policies(Type="custom")["ResponseHeadersPolicyList"]["Items"]
    assert [(e["Type"], e["ResponseHeadersPolicy"]["Id"]) for e in listing] == [("custom", policy_id)]
    assert "Items" not in cloudfront.list_response_headers_policies(Type="managed")["ResponseHeadersPolicyList"]

    with pytest.raises(ClientError, match="PreconditionFailed"):
        cloudfront.update_response_headers_policy(Id=policy_id, IfMatch="stale", ResponseHeadersPolicyConfig=config)
    updated = cloudfront.update_response_headers_policy(
        Id=policy_id, IfMatch=created["ETag"], ResponseHeadersPolicyConfig={**config, "Comment": "two"}
    )
    read = cloudfront.get_response_headers_policy_config(Id=policy_id)
    assert (read["ResponseHeadersPolicyConfig"]["Comment"], read["ETag"]) == ("two", updated["ETag"])

    dist = cloudfront.create_distribution(
        DistributionConfig=_distribution_config("t-emu-h1", ResponseHeadersPolicyId=policy_id)
    )
    with pytest.raises(ClientError, match="ResponseHeadersPolicyInUse"):
        cloudfront.delete_response_headers_policy(Id=policy_id, IfMatch=updated["ETag"])
    dist_etag = cloudfront.get_distribution_config(Id=dist["Distribution"]["Id"])["ETag"]
    cloudfront.delete_distribution(Id=dist["Distribution"]["Id"], IfMatch=dist_etag)
    cloudfront.delete_response_headers_policy(Id=policy_id, IfMatch=updated["ETag"])
    with pytest.raises(ClientError, match="NoSuchResponseHeadersPolicy"):
        cloudfront.get_response_headers_policy(Id=policy_id)


def test_the_legacy_lists_answer_empty_as_for_an_account_without_them(aws):
    """emulator._patch_cloudfront_legacy_lists: moto 5.2 answers 404 to ListStreamingDistributions
    and ListCloudFrontOriginAccessIdentities, which cloudfront_distribution_info's summary calls."""
    cloudfront = aws("cloudfront", "us-east-1")
    streaming = cloudfront.list_streaming_distributions()["StreamingDistributionList"]
    assert streaming == {"Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}
    identities = cloudfront.list_cloud_front_origin_access_identities(Marker="m", MaxItems="5")
    assert identities["CloudFrontOriginAccessIdentityList"] == {
        "Marker": "m",
        "MaxItems": 5,
        "IsTruncated": False,
        "Quantity": 0,
    }
    pages = cloudfront.get_paginator("list_streaming_distributions").paginate().build_full_result()
    assert pages.get("StreamingDistributionList", {}).get("Items", []) == []


def test_the_patches_are_for_the_pinned_moto_and_refuse_another():
    """emulator._check_moto_version: the patches replace moto internals of one release."""
    import moto

    pins = (Path(emulator.__file__).parents[1] / "requirements.txt").read_text().splitlines()
    assert f"moto=={emulator.PATCHED_MOTO_VERSION}" in pins
    assert moto.__version__ == emulator.PATCHED_MOTO_VERSION
    emulator._check_moto_version(emulator.PATCHED_MOTO_VERSION)
    with pytest.raises(emulator.EmulatorError, match=r"moto 5\.3\.0 is installed"):
        emulator._check_moto_version("5.3.0")


def test_an_origin_keeps_its_origin_access_control(aws):
    """emulator._patch_cloudfront_origins: moto 5.2 drops OriginAccessControlId and S3OriginConfig."""
    cloudfront = aws("cloudfront", "us-east-1")
    config = _distribution_config("t-emu-oac")
    config["Origins"]["Items"][0]["OriginAccessControlId"] = "E2EMUOAC"
    created = cloudfront.create_distribution(DistributionConfig=config)
    read = cloudfront.get_distribution_config(Id=created["Distribution"]["Id"])
    (origin,) = read["DistributionConfig"]["Origins"]["Items"]
    assert (origin["OriginAccessControlId"], origin["S3OriginConfig"]) == ("E2EMUOAC", {"OriginAccessIdentity": ""})
    cloudfront.delete_distribution(Id=created["Distribution"]["Id"], IfMatch=read["ETag"])


def test_a_bucket_policy_applies_its_conditions_and_principals_as_iam_does(aws):
    """emulator._patch_bucket_policy_conditions: moto 5.2 applied a Deny whatever its condition
    (aws:SecureTransport) or its service principal, so the TLS-only statement refused every call."""
    s3 = aws("s3")
    s3.create_bucket(Bucket="t-emu-policy", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    arn = "arn:aws:s3:::t-emu-policy"
    statements = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyCloudFrontWrites",
            "Effect": "Deny",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{arn}/*",
        },
    ]
    s3.put_bucket_policy(Bucket="t-emu-policy", Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    s3.put_object(Bucket="t-emu-policy", Key="index.html", Body=b"ok")  # neither Deny applies to this caller
    assert s3.get_object(Bucket="t-emu-policy", Key="index.html")["Body"].read() == b"ok"
    everyone = {**statements[0], "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    s3.put_bucket_policy(Bucket="t-emu-policy", Policy=json.dumps({"Version": "2012-10-17", "Statement": [everyone]}))
    with pytest.raises(ClientError, match=r"\(403\)"):
        s3.get_object(Bucket="t-emu-policy", Key="index.html")  # a condition that holds does apply
    s3.delete_bucket_policy(Bucket="t-emu-policy")
    s3.delete_object(Bucket="t-emu-policy", Key="index.html")
    s3.delete_bucket(Bucket="t-emu-policy")


def test_a_deleted_load_balancer_releases_its_certificate(aws):
    """emulator._patch_certificate_release: moto 5.2 never forgets a listener's certificate, so
    the certificate could never be deleted."""
    acm, ec2, elbv2 = aws("acm"), aws("ec2"), aws("elbv2")
    arn = acm.request_certificate(DomainName="release.emu.test")["CertificateArn"]
    vpc = ec2.create_vpc(CidrBlock="10.98.0.0/16")["Vpc"]["VpcId"]
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"][:2]]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.98.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for i, zone in enumerate(zones)
    ]
    balancer = elbv2.create_load_balancer(Name="t-emu-release", Subnets=subnets)["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="t-emu-release", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": arn}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"]  # the listener
    with pytest.raises(ClientError, match="ResourceInUseException"):
        acm.delete_certificate(CertificateArn=arn)
    elbv2.delete_load_balancer(LoadBalancerArn=balancer["LoadBalancerArn"])
    acm.delete_certificate(CertificateArn=arn)
    elbv2.delete_target_group(TargetGroupArn=group["TargetGroupArn"])
    for subnet in subnets:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_an_application_load_balancer_describes_every_attribute_at_its_default(aws):
    """emulator._patch_load_balancer_attributes: moto 5.2 described only attributes a request had
    set, so amazon.aws.elb_application_lb failed (KeyError) on a new ALB; AWS describes them all."""
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.97.0.0/16")["Vpc"]["VpcId"]
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"][:2]]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.97.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for i, zone in enumerate(zones)
    ]
    arn = elbv2.create_load_balancer(Name="t-emu-attributes", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]

    def described() -> dict[str, str]:
        answer = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
        return {a["Key"]: a["Value"] for a in answer}

    assert described() == emulator.ALB_ATTRIBUTE_DEFAULTS
    assert described()["idle_timeout.timeout_seconds"] == "60"
    assert described()["routing.http.desync_mitigation_mode"] == "defensive"
    assert described()["load_balancing.cross_zone.enabled"] == "true"

    changes = {"idle_timeout.timeout_seconds": "120", "routing.http.drop_invalid_header_fields.enabled": "true"}
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": key, "Value": value} for key, value in changes.items()]
    )
    assert described() == {**emulator.ALB_ATTRIBUTE_DEFAULTS, **changes}

    internal = elbv2.create_load_balancer(Name="t-emu-internal", Subnets=subnets, Scheme="internal")["LoadBalancers"]
    internal_attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=internal[0]["LoadBalancerArn"])
    assert {"Key": "ipv6.deny_all_igw_traffic", "Value": "true"} in internal_attributes["Attributes"]
    for balancer in (arn, internal[0]["LoadBalancerArn"]):
        elbv2.delete_load_balancer(LoadBalancerArn=balancer)
    for subnet in subnets:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def _raw_request(conn, method: str, path: str, body: bytes | None = None, **headers):
    conn.request(method, path, body=body, headers={"Host": conn.host, **headers})
    response = conn.getresponse()
    return response, response.read()


def test_a_connection_stays_open_and_a_body_left_unread_does_not_leak_into_the_next_request(emulator):
    """emulator_http: one TCP connection serves request after request, and whatever of a body
    moto did not read is read before the next request line (a health check's GET here, which
    ignores its body)."""
    import http.client

    port = int(emulator.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    first, _ = _raw_request(conn, "GET", "/moto-api/", body=b"an unread body " * 1000)
    sock = conn.sock
    second, _ = _raw_request(conn, "GET", "/moto-api/")
    assert (first.status, second.status) == (200, 200)
    assert sock is not None and conn.sock is sock, "the second request needed a new connection"
    conn.close()


def test_a_chunked_upload_is_read_to_its_end_and_the_connection_serves_on(emulator, aws):
    import http.client

    s3 = aws("s3")
    s3.create_bucket(Bucket="keep-alive-chunked", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "keep-alive-chunked", "Key": "k"})
    path = url[len(emulator.url) :]
    conn = http.client.HTTPConnection("127.0.0.1", int(emulator.url.rsplit(":", 1)[1]), timeout=10)
    conn.request("PUT", path, body=iter([b"one ", b"two ", b"three"]), encode_chunked=True, headers={"Host": conn.host})
    put = conn.getresponse()
    put.read()
    sock = conn.sock
    health, _ = _raw_request(conn, "GET", "/moto-api/")
    assert (put.status, health.status) == (200, 200)
    assert sock is not None and conn.sock is sock, "the second request needed a new connection"
    assert s3.get_object(Bucket="keep-alive-chunked", Key="k")["Body"].read() == b"one two three"
    conn.close()


def test_a_client_that_asks_to_close_is_answered_and_closed(emulator):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", int(emulator.url.rsplit(":", 1)[1]), timeout=10)
    response, _ = _raw_request(conn, "GET", "/moto-api/", Connection="close")
    assert response.status == 200
    assert response.getheader("Connection") == "close"
    assert response.will_close


def test_s3_metadata_keeps_its_underscores_and_dashes_apart(aws):
    """moto restores underscored header names (emulator_http records them, and
    emulator._speed_up_server renames only for a request that has one): `a_b` and `a-b` are two
    metadata keys, as on S3."""
    s3 = aws("s3")
    s3.create_bucket(Bucket="metadata-names", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    s3.put_object(Bucket="metadata-names", Key="both", Body=b"x", Metadata={"a_b": "under", "c-d": "dash"})
    s3.put_object(Bucket="metadata-names", Key="dashed", Body=b"x", Metadata={"a-b": "dash"})
    assert s3.head_object(Bucket="metadata-names", Key="both")["Metadata"] == {"a_b": "under", "c-d": "dash"}
    assert s3.head_object(Bucket="metadata-names", Key="dashed")["Metadata"] == {"a-b": "dash"}


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-05T12:34:56Z",
        "2026-12-05T12:34:56.000Z",
        "2026-12-05T12:34:56.123456Z",
        "2026-12-05T12:34:56+09:00",
        "2026-12-05T12:34:56.5-03:30",
        "2026-12-05T12:34:56",
        "2026-12-05",
        "20261205",  # seconds since 1970 to botocore, a date to datetime.fromisoformat
        "1700000000",
        datetime(2026, 12, 5, 12, 34, 56),
        datetime(2026, 12, 5, 12, 34, 56, 789000, tzinfo=UTC),
    ],
)
def test_timestamps_are_read_as_botocore_reads_them(value):
    """emulator.aware_datetime stands in for botocore's parse_to_aware_datetime in moto's
    serializer: the same instant, in UTC, and the same text in each of moto's wire formats."""
    from botocore.utils import parse_to_aware_datetime
    from moto.core.serialize import TimestampSerializer

    fast, slow = emulator.aware_datetime(value), parse_to_aware_datetime(value)
    assert fast == slow
    assert fast.utcoffset() == timedelta(0)
    serializer = TimestampSerializer(TimestampSerializer.TIMESTAMP_FORMAT_ISO8601)
    for form in ("iso8601", "iso8601_zeroed", "rfc822", "unixtimestamp"):
        convert = getattr(serializer, f"_timestamp_{form}")
        assert convert(fast) == convert(slow)
