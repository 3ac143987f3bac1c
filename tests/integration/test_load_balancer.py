"""The load_balancer layer against the test run's moto server: create, idempotence, check mode,
update, bad input and absent, each asserted on what Elastic Load Balancing then holds.

The network comes from tests.support.make_network (boto3, milliseconds); the main deploy hands its
ids in as variables, the plan finds them by tag."""

from __future__ import annotations

import pytest

from tests.support import assert_ok, changed, make_network

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
def deployed(stack, base):
    summary = assert_ok(stack.deploy(extra=base, **LAYER))
    yield summary
    stack.destroy(extra={"webstack_project": PROJECT}, **LAYER)


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


def test_security_attributes(deployed, elbv2):
    attrs = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=alb(elbv2)["LoadBalancerArn"])["Attributes"]
    }
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


def test_second_deploy_changes_nothing(deployed, stack, base):
    assert changed(assert_ok(stack.deploy(extra=base, **LAYER))) == 0


def test_plan_finds_the_network_by_tag_and_writes_nothing_then_deploy_applies(deployed, stack, base, elbv2):
    by_tag = {"webstack_project": PROJECT, "load_balancer_certificate_arn": base["load_balancer_certificate_arn"]}
    plan = assert_ok(stack.plan(extra={**by_tag, "load_balancer_health_check_path": "/healthz"}, **LAYER))
    assert changed(plan) > 0
    assert target_group(elbv2)["HealthCheckPath"] == "/health"

    assert_ok(stack.deploy(extra={**by_tag, "load_balancer_health_check_path": "/healthz"}, **LAYER))
    assert target_group(elbv2)["HealthCheckPath"] == "/healthz"
    assert changed(assert_ok(stack.plan(extra={**by_tag, "load_balancer_health_check_path": "/healthz"}, **LAYER))) == 0


def test_without_certificate_port_80_forwards(deployed, stack, base, elbv2):
    assert_ok(stack.deploy(extra={**base, "load_balancer_certificate_arn": ""}, **LAYER))
    by_port = listeners(elbv2)
    assert set(by_port) == {80}
    assert by_port[80]["DefaultActions"] == [
        {"Type": "forward", "TargetGroupArn": target_group(elbv2)["TargetGroupArn"]}
    ]


@pytest.mark.parametrize(
    ("extra", "variable"),
    [
        ({"load_balancer_health_check_path": "health"}, "load_balancer_health_check_path"),
        (
            {"load_balancer_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"},
            "load_balancer_certificate_arn",
        ),
        ({"load_balancer_health_check_matcher": "ok"}, "load_balancer_health_check_matcher"),
    ],
)
def test_bad_input_fails_before_any_aws_call(stack, elbv2, extra, variable, capsys):
    project = f"t-lb-bad-{variable[-7:].replace('_', '-')}"
    summary = stack.deploy(extra={"webstack_project": project, **extra}, **LAYER)
    assert summary["exit_code"] != 0
    assert variable in capsys.readouterr().err
    names = [lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]]
    assert f"{project}-local-alb" not in names


def test_destroy_leaves_nothing_tagged(deployed, stack, elbv2, aws):
    assert_ok(stack.destroy(extra={"webstack_project": PROJECT}, **LAYER))
    assert f"{PROJECT}-local-alb" not in [
        lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]
    ]
    assert f"{PROJECT}-local-app" not in [
        tg["TargetGroupName"] for tg in elbv2.describe_target_groups()["TargetGroups"]
    ]
    tagging = aws("resourcegroupstaggingapi")
    left = tagging.get_resources(
        TagFilters=[{"Key": "Project", "Values": [PROJECT]}], ResourceTypeFilters=["elasticloadbalancing"]
    )["ResourceTagMappingList"]
    assert left == []
    assert_ok(stack.destroy(extra={"webstack_project": PROJECT}, **LAYER))  # a second destroy is a no-op
