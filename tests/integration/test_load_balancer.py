"""The load_balancer layer against the test run's moto server: create, check mode, update, the
certificate and prod deletion-protection rules, and absent, each asserted on what Elastic Load
Balancing then holds. Idempotence: the molecule scenario and the site test; bad input:
tests/integration/test_bad_input.py.

The network comes from tests.support.make_network (boto3, milliseconds); the main deploy hands its
ids in as variables, the plan finds them by tag."""

from __future__ import annotations

import datetime
import time

import pytest

from tests.census import capture
from tests.support import assert_ok, assert_unchanged, changed, destroy_unless_gone, make_network

PROJECT = "t-lb"
LAYER = {"layers": "backend", "tags": "load_balancer"}


@pytest.fixture(scope="module")
def elbv2(aws):
    return aws("elbv2")


@pytest.fixture(scope="module")
def network(aws):
    return make_network(aws, PROJECT, "10.61.0.0/16")


@pytest.fixture(scope="module")
def certificate(aws):
    # moto issues a DNS-validated certificate at once (MOTO_ACM_VALIDATION_WAIT=0).
    acm = aws("acm")
    arn = acm.request_certificate(DomainName="api.t-lb.test", ValidationMethod="DNS")["CertificateArn"]
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED"
    return arn


@pytest.fixture(scope="module")
def base(network, certificate):
    return {
        "webstack_project": PROJECT,
        "load_balancer_vpc_id": network["vpc_id"],
        "load_balancer_subnet_ids": network["public_subnet_ids"],
        "load_balancer_security_group_ids": [network["security_group_ids"]["alb"]],
        "load_balancer_certificate_arn": certificate,
    }


@pytest.fixture(scope="module")
def before(aws, base):
    return capture(aws)


@pytest.fixture(scope="module")
def deployed(stack, base, aws, before):
    summary = assert_ok(stack.deploy(extra=base, **LAYER))
    yield summary
    destroy_unless_gone(stack, aws, before, extra={"webstack_project": PROJECT}, **LAYER)


def alb(elbv2) -> dict:
    (found,) = elbv2.describe_load_balancers(Names=[f"{PROJECT}-local-alb"])["LoadBalancers"]
    return found


def target_group(elbv2) -> dict:
    (found,) = elbv2.describe_target_groups(Names=[f"{PROJECT}-local-app"])["TargetGroups"]
    return found


def listeners(elbv2) -> dict[int, dict]:
    return {
        item["Port"]: item
        for item in elbv2.describe_listeners(LoadBalancerArn=alb(elbv2)["LoadBalancerArn"])["Listeners"]
    }


def test_internet_facing_in_the_public_subnets_with_the_alb_group(deployed, elbv2, network):
    lb = alb(elbv2)
    assert lb["Scheme"] == "internet-facing" and lb["Type"] == "application"
    assert sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == sorted(network["public_subnet_ids"])
    assert len({z["ZoneName"] for z in lb["AvailabilityZones"]}) >= 2  # ELB.13
    assert lb["SecurityGroups"] == [network["security_group_ids"]["alb"]]
    tags = {
        t["Key"]: t["Value"]
        for t in elbv2.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    }
    assert tags == {"Project": PROJECT, "Environment": "local", "ManagedBy": "webstack", "Name": f"{PROJECT}-local-alb"}


def test_https_with_modern_tls_and_http_redirects(deployed, elbv2, certificate):
    by_port = listeners(elbv2)
    assert set(by_port) == {80, 443}
    https = by_port[443]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"  # ELB.17
    assert [c["CertificateArn"] for c in https["Certificates"]] == [certificate]
    assert https["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": target_group(elbv2)["TargetGroupArn"]}]
    (redirect,) = by_port[80]["DefaultActions"]  # ELB.1
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS" and redirect["RedirectConfig"]["Port"] == "443"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"


def attributes(elbv2) -> dict[str, str]:
    arn = alb(elbv2)["LoadBalancerArn"]
    return {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}


def test_security_attributes(deployed, elbv2):
    attrs = attributes(elbv2)
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"  # ELB.4
    assert attrs["routing.http.desync_mitigation_mode"] == "defensive"  # ELB.12
    assert attrs["deletion_protection.enabled"] == "false"  # on in prod via the inventory
    assert attrs["access_logs.s3.enabled"] == "false"


def test_target_group_checks_health_on_the_app_port(deployed, elbv2, network):
    tg = target_group(elbv2)
    assert (tg["Protocol"], tg["Port"], tg["VpcId"], tg["TargetType"]) == ("HTTP", 8080, network["vpc_id"], "instance")
    assert tg["HealthCheckPath"] == "/health" and tg["Matcher"] == {"HttpCode": "200"}
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (15, 3, 3)
    attrs = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])["Attributes"]
    }
    assert attrs["deregistration_delay.timeout_seconds"] == "30"


def test_outputs_name_the_alb_and_its_zone(deployed, elbv2):
    lb, outputs = alb(elbv2), deployed["outputs"]["load_balancer"]
    assert outputs["arn"] == lb["LoadBalancerArn"]
    assert outputs["dns_name"] == lb["DNSName"]
    assert outputs["zone_id"] == lb["CanonicalHostedZoneId"] and outputs["zone_id"]
    assert outputs["target_group_arn"] == target_group(elbv2)["TargetGroupArn"]


def test_plan_finds_the_network_by_tag_and_writes_nothing_then_deploy_applies(deployed, stack, base, elbv2, aws):
    by_tag = {"webstack_project": PROJECT, "load_balancer_certificate_arn": base["load_balancer_certificate_arn"]}
    unplanned = capture(aws)
    plan = assert_ok(stack.plan(extra={**by_tag, "load_balancer_health_check_path": "/healthz"}, **LAYER))
    assert changed(plan) > 0
    assert_unchanged(aws, unplanned)

    assert_ok(stack.deploy(extra={**by_tag, "load_balancer_health_check_path": "/healthz"}, **LAYER))
    assert target_group(elbv2)["HealthCheckPath"] == "/healthz"
    assert changed(assert_ok(stack.plan(extra={**by_tag, "load_balancer_health_check_path": "/healthz"}, **LAYER))) == 0


def test_access_logs_go_to_the_bucket_when_one_is_named_and_stop_when_it_is_not(deployed, stack, base, elbv2, aws):
    """README: ALB access logs are optional and off by default (load_balancer_access_logs_bucket)."""
    aws("s3").create_bucket(Bucket="t-lb-logs", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    try:
        logged = {**base, "load_balancer_access_logs_bucket": "t-lb-logs", "load_balancer_access_logs_prefix": "alb"}
        assert changed(assert_ok(stack.deploy(extra=logged, **LAYER))) > 0
        logs = {key: value for key, value in attributes(elbv2).items() if key.startswith("access_logs.s3.")}
        assert logs == {
            "access_logs.s3.enabled": "true",
            "access_logs.s3.bucket": "t-lb-logs",
            "access_logs.s3.prefix": "alb",
        }
        assert changed(assert_ok(stack.deploy(extra=base, **LAYER))) > 0
        assert attributes(elbv2)["access_logs.s3.enabled"] == "false"
    finally:
        aws("s3").delete_bucket(Bucket="t-lb-logs")


def test_without_certificate_port_80_forwards(deployed, stack, base, elbv2):
    assert_ok(stack.deploy(extra={**base, "load_balancer_certificate_arn": ""}, **LAYER))
    by_port = listeners(elbv2)
    assert set(by_port) == {80}
    assert by_port[80]["DefaultActions"] == [
        {"Type": "forward", "TargetGroupArn": target_group(elbv2)["TargetGroupArn"]}
    ]


def expired_certificate(acm) -> str:
    """An imported certificate that expires two seconds after its import (ACM refuses to import an
    expired one): ACM then reports it EXPIRED, not ISSUED."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.t-lb-expired.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=30))
        .not_valid_after(now + datetime.timedelta(seconds=2))
        .sign(key, hashes.SHA256())
    )
    arn = acm.import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ),
    )["CertificateArn"]
    time.sleep(max(0.0, (now + datetime.timedelta(seconds=3) - datetime.datetime.now(datetime.UTC)).total_seconds()))
    assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "EXPIRED"
    return arn


def test_a_certificate_that_is_not_issued_is_refused_before_any_change(deployed, stack, base, aws, capsys):
    arn = expired_certificate(aws("acm"))
    unchanged = capture(aws)
    summary = stack.deploy(
        extra={**base, "webstack_project": "t-lb-expired", "load_balancer_certificate_arn": arn}, **LAYER
    )
    assert summary["exit_code"] != 0
    assert f"load_balancer_certificate_arn: {arn} is EXPIRED, not ISSUED." in capsys.readouterr().err
    assert_unchanged(aws, unchanged)
    aws("acm").delete_certificate(CertificateArn=arn)


def test_a_same_named_load_balancer_that_is_not_the_stacks_is_refused_and_left_as_it_was(
    deployed, stack, base, elbv2, aws, network, capsys
):
    """A load balancer at the stack's name without the stack's tags is someone else's: deploy fails
    naming load_balancer_project before changing anything (elb_application_lb would take it over:
    its tags and listeners replaced), and destroy leaves it."""
    name = "t-lb-foreign-local-alb"
    theirs = elbv2.create_load_balancer(
        Name=name, Subnets=network["public_subnet_ids"], Tags=[{"Key": "Project", "Value": "someone-else"}]
    )["LoadBalancers"][0]["LoadBalancerArn"]
    try:
        unchanged = capture(aws)
        summary = stack.deploy(extra={**base, "webstack_project": "t-lb-foreign"}, **LAYER)
        assert summary["exit_code"] != 0
        assert f"load_balancer_project: a load balancer {name} or target group" in capsys.readouterr().err
        assert_unchanged(aws, unchanged)
        assert_ok(stack.destroy(extra={"webstack_project": "t-lb-foreign"}, **LAYER))
        tags = elbv2.describe_tags(ResourceArns=[theirs])["TagDescriptions"][0]["Tags"]
        assert tags == [{"Key": "Project", "Value": "someone-else"}]
    finally:
        elbv2.delete_load_balancer(LoadBalancerArn=theirs)


def test_prod_protects_the_load_balancer_from_deletion_until_told_otherwise(deployed, stack, base, elbv2, aws, capsys):
    prod = {**base, "webstack_project": "t-lbprod"}
    assert_ok(stack.deploy(extra=prod, env="prod", **LAYER))
    (lb,) = elbv2.describe_load_balancers(Names=["t-lbprod-prod-alb"])["LoadBalancers"]
    attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]
    assert {"Key": "deletion_protection.enabled", "Value": "true"} in attributes  # ELB.6

    refused = stack.destroy(extra={"webstack_project": "t-lbprod"}, env="prod", **LAYER)
    assert refused["exit_code"] != 0
    assert "load_balancer_deletion_protection: t-lbprod-prod-alb has deletion protection on" in capsys.readouterr().err
    assert elbv2.describe_load_balancers(Names=["t-lbprod-prod-alb"])["LoadBalancers"]

    unprotected = {"webstack_project": "t-lbprod", "load_balancer_deletion_protection": False}
    assert_ok(stack.destroy(extra=unprotected, env="prod", **LAYER))
    names = [lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]]
    assert "t-lbprod-prod-alb" not in names


def test_destroy_leaves_nothing(deployed, stack, elbv2, aws, before):
    assert_ok(stack.destroy(extra={"webstack_project": PROJECT}, **LAYER))
    assert f"{PROJECT}-local-alb" not in [
        lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]
    ]
    assert_unchanged(aws, before)
    assert changed(assert_ok(stack.destroy(extra={"webstack_project": PROJECT}, **LAYER))) == 0
