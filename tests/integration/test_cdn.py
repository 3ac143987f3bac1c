"""The cdn layer (playbooks/frontend.yml --tags cdn) against the test run's moto server: the
distribution, its OAC, TLS, SPA routing function and security headers policy as CloudFront then
holds them; check mode; an update, then a re-run with changed=0; a switch to error_pages routing and
the managed headers policy and back, each converging with changed=0 after; absent. Bad input:
tests/integration/test_bad_input.py; the function's routing: tests/unit/test_spa_routing.py.

moto 5.2 drops an origin's S3OriginConfig and OriginAccessControlId, cannot update or publish a
function nor keep a behaviour's FunctionAssociations, and has no response headers policies; the
project's emulator patches those (emulator._patch_moto), so all is read back here as on AWS."""

from __future__ import annotations

import pytest

from ansible_collections.webstack.aws.plugins.module_utils import spa_release, stack_checks
from tests.census import capture
from tests.integration.test_publish import make_distribution
from tests.spa_routing import rendered
from tests.support import assert_ok, assert_unchanged, changed, destroy_unless_gone, identity_tags

PROJECT = "t-cdn"
DOMAIN = "t-cdn.example.com"
NAME = f"{PROJECT}-local-cdn"
OAC_NAME = f"{PROJECT}-local-site-oac"
FUNCTION = f"{PROJECT}-local-spa-routing"
HEADERS_POLICY = f"{PROJECT}-local-headers"
MANAGED_SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
SITE_SECURITY_HEADERS = {
    "StrictTransportSecurity": {
        "Override": True,
        "AccessControlMaxAgeSec": 63072000,
        "IncludeSubdomains": True,
        "Preload": False,
    },
    "ContentTypeOptions": {"Override": True},
    "FrameOptions": {"Override": True, "FrameOption": "DENY"},
    "ReferrerPolicy": {"Override": True, "ReferrerPolicy": "strict-origin-when-cross-origin"},
}
REGION = "ap-northeast-2"


def find_distribution(cloudfront, name: str) -> dict | None:
    found = []
    for item in cloudfront.list_distributions()["DistributionList"].get("Items") or []:
        tags = cloudfront.list_tags_for_resource(Resource=item["ARN"])["Tags"].get("Items") or []
        if {"Key": "Name", "Value": name} in tags:
            found.append(dict(item, Tags={t["Key"]: t["Value"] for t in tags}))
    assert len(found) <= 1, found
    return found[0] if found else None


def find_oac(cloudfront, name: str) -> dict | None:
    items = cloudfront.list_origin_access_controls()["OriginAccessControlList"].get("Items") or []
    return next((oac for oac in items if oac["Name"] == name), None)


def functions(cloudfront) -> list[str]:
    return [f["Name"] for f in cloudfront.list_functions()["FunctionList"].get("Items") or []]


def headers_policies(cloudfront) -> dict[str, str]:
    """Name -> id of every custom response headers policy."""
    listing = cloudfront.list_response_headers_policies(Type="custom")["ResponseHeadersPolicyList"]
    return {
        entry["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"]["Name"]: entry["ResponseHeadersPolicy"]["Id"]
        for entry in listing.get("Items") or []
    }


def error_responses(config) -> list[dict]:
    return sorted(config["CustomErrorResponses"].get("Items") or [], key=lambda e: e["ErrorCode"])


def assert_function_mode(cloudfront, config) -> None:
    """The routing function, published, on viewer-request; no error answered with the app's page."""
    (association,) = config["DefaultCacheBehavior"]["FunctionAssociations"]["Items"]
    live = cloudfront.describe_function(Name=FUNCTION, Stage="LIVE")["FunctionSummary"]
    assert association == {"EventType": "viewer-request", "FunctionARN": live["FunctionMetadata"]["FunctionARN"]}
    assert live["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert cloudfront.get_function(Name=FUNCTION, Stage="LIVE")["FunctionCode"].read().decode() == rendered()
    assert error_responses(config) == []


def assert_site_headers(cloudfront, config) -> None:
    policy_id = config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]
    assert headers_policies(cloudfront) == {HEADERS_POLICY: policy_id}
    policy = cloudfront.get_response_headers_policy_config(Id=policy_id)["ResponseHeadersPolicyConfig"]
    assert policy["SecurityHeadersConfig"] == SITE_SECURITY_HEADERS


def config_of(cloudfront) -> dict:
    return cloudfront.get_distribution_config(Id=find_distribution(cloudfront, NAME)["Id"])["DistributionConfig"]


def certificate(acm, domain: str) -> str:
    return acm.request_certificate(
        DomainName=domain, ValidationMethod="DNS", SubjectAlternativeNames=[f"www.{domain}"]
    )["CertificateArn"]


@pytest.fixture(scope="module")
def cloudfront(aws):
    return aws("cloudfront", "us-east-1")


@pytest.fixture(scope="module")
def bucket(aws):
    """The origin bucket, named as static_site names it, so the cdn role finds it when run alone."""
    account = aws("sts").get_caller_identity()["Account"]
    name = f"{PROJECT}-local-site-{account}"
    aws("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture(scope="module")
def base(aws, bucket):
    arn = certificate(aws("acm", "us-east-1"), DOMAIN)
    return {
        "webstack_project": PROJECT,
        "webstack_domain": DOMAIN,
        "cdn_certificate_arn": arn,
        "cdn_include_www": True,
    }


@pytest.fixture(scope="module")
def before(aws, base):
    return capture(aws)


@pytest.fixture(scope="module")
def deployed(stack, base, aws, before):
    summary = assert_ok(stack.deploy(layers="frontend", tags="cdn", extra=base))
    yield summary
    destroy_unless_gone(stack, aws, before, layers="frontend", tags="cdn", extra=base)


def test_distribution_serves_the_bucket_through_its_oac(deployed, cloudfront, bucket):
    outputs = deployed["outputs"]["cdn"]
    oac = find_oac(cloudfront, OAC_NAME)
    assert oac is not None
    assert (oac["SigningProtocol"], oac["SigningBehavior"], oac["OriginAccessControlOriginType"]) == (
        "sigv4",
        "always",
        "s3",
    )
    assert outputs["oac_id"] == oac["Id"]
    config = config_of(cloudfront)
    (origin,) = config["Origins"]["Items"]
    assert origin["DomainName"] == f"{bucket}.s3.{REGION}.amazonaws.com"
    assert "CustomOriginConfig" not in origin
    assert origin["OriginAccessControlId"] == oac["Id"]
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == origin["Id"]


def test_distribution_settings(deployed, cloudfront):
    config = config_of(cloudfront)
    behavior = config["DefaultCacheBehavior"]
    assert config["DefaultRootObject"] == "index.html"
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["Compress"] is True
    assert behavior["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    assert config["HttpVersion"] == "http2and3"
    assert config["IsIPV6Enabled"] is True
    assert config["PriceClass"] == "PriceClass_100"
    assert config["Enabled"] is True


def test_tls_uses_the_us_east_1_certificate_for_the_aliases(deployed, cloudfront, base):
    config = config_of(cloudfront)
    certificate_config = config["ViewerCertificate"]
    assert certificate_config["ACMCertificateArn"] == base["cdn_certificate_arn"]
    assert certificate_config["SSLSupportMethod"] == "sni-only"
    assert certificate_config["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert certificate_config["CloudFrontDefaultCertificate"] is False
    assert sorted(config["Aliases"]["Items"]) == [DOMAIN, f"www.{DOMAIN}"]


def test_client_routes_go_through_the_published_routing_function(deployed, cloudfront):
    assert_function_mode(cloudfront, config_of(cloudfront))


def test_the_sites_own_security_headers_policy_is_attached(deployed, cloudfront):
    assert_site_headers(cloudfront, config_of(cloudfront))


def test_outputs_and_tags(deployed, cloudfront):
    outputs = deployed["outputs"]["cdn"]
    dist = find_distribution(cloudfront, NAME)
    assert outputs["distribution_id"] == dist["Id"]
    assert outputs["distribution_arn"] == dist["ARN"]
    assert outputs["domain_name"] == dist["DomainName"]
    assert outputs["hosted_zone_id"] == "Z2FDTNDATAQYW2"
    assert {"Project": PROJECT, "Environment": "local", "ManagedBy": "webstack", "Name": NAME}.items() <= dist[
        "Tags"
    ].items()


def test_plan_of_a_price_class_change_writes_nothing_then_deploy_applies_it(deployed, stack, base, cloudfront, aws):
    update = {**base, "cdn_price_class": "PriceClass_200"}
    unplanned = capture(aws)
    plan = assert_ok(stack.plan(layers="frontend", tags="cdn", extra=update))
    assert changed(plan) > 0
    assert_unchanged(aws, unplanned)

    assert changed(assert_ok(stack.deploy(layers="frontend", tags="cdn", extra=update))) > 0
    config = config_of(cloudfront)
    assert config["PriceClass"] == "PriceClass_200"
    assert_function_mode(cloudfront, config)
    assert_site_headers(cloudfront, config)
    assert changed(assert_ok(stack.deploy(layers="frontend", tags="cdn", extra=update))) == 0


def test_switching_to_error_pages_and_the_managed_policy_and_back_converges(deployed, stack, base, cloudfront, aws):
    legacy = {**base, "cdn_spa_routing": "error_pages", "cdn_response_headers": "managed"}
    unplanned = capture(aws)
    assert changed(assert_ok(stack.plan(layers="frontend", tags="cdn", extra=legacy))) > 0
    assert_unchanged(aws, unplanned)

    assert changed(assert_ok(stack.deploy(layers="frontend", tags="cdn", extra=legacy))) > 0
    config = config_of(cloudfront)
    assert config["DefaultCacheBehavior"]["FunctionAssociations"]["Quantity"] == 0
    assert config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == MANAGED_SECURITY_HEADERS
    assert error_responses(config) == [
        {"ErrorCode": code, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10}
        for code in (403, 404)
    ]
    assert FUNCTION not in functions(cloudfront)
    assert HEADERS_POLICY not in headers_policies(cloudfront)
    # verify's checks for these modes pass on this distribution; the default modes' fail on it.
    for modes, all_pass in [({"spa_routing": "error_pages", "response_headers": "managed"}, True), ({}, False)]:
        checked = stack_checks.Stack(aws, PROJECT, "local", "ap-northeast-2", "t-cdn.local.test", **modes)
        results = [c.passed for c in stack_checks.check_spa_routing(checked, config)]
        results += [c.passed for c in stack_checks.check_security_headers(checked, config["DefaultCacheBehavior"])]
        assert all(results) is all_pass and len(results) >= 2, (modes, results)
    assert changed(assert_ok(stack.deploy(layers="frontend", tags="cdn", extra=legacy))) == 0

    assert changed(assert_ok(stack.deploy(layers="frontend", tags="cdn", extra=base))) > 0
    config = config_of(cloudfront)
    assert_function_mode(cloudfront, config)
    assert_site_headers(cloudfront, config)
    assert changed(assert_ok(stack.deploy(layers="frontend", tags="cdn", extra=base))) == 0


def test_plan_on_a_fresh_stack_writes_nothing(stack, aws):
    untouched = capture(aws)
    plan = assert_ok(stack.plan(layers="frontend", tags="cdn", extra={"webstack_project": "t-cdn-plan"}))
    assert changed(plan) > 0
    assert_unchanged(aws, untouched)


def test_absent_leaves_no_distribution_and_no_oac(deployed, stack, base, cloudfront, aws, before):
    assert_ok(stack.destroy(layers="frontend", tags="cdn", extra=base))
    assert find_distribution(cloudfront, NAME) is None
    assert find_oac(cloudfront, OAC_NAME) is None
    assert FUNCTION not in functions(cloudfront)
    assert HEADERS_POLICY not in headers_policies(cloudfront)
    assert_unchanged(aws, before)
    assert changed(assert_ok(stack.destroy(layers="frontend", tags="cdn", extra=base))) == 0


def test_a_same_named_distribution_oac_function_and_policy_that_are_not_the_stacks_are_refused_and_left_as_they_were(
    stack, aws, cloudfront
):
    """A distribution with the stack's Name tag but not its other tags, and an origin access
    control, a function and a headers policy at the stack's names whose description or comment
    is not the one the role writes, are someone else's: deploy fails naming all four before any
    is changed, and destroy fails the same way, deleting none. runner.py publish, which finds the
    distribution to invalidate as the role does, refuses it too."""
    project = "t-cdn-foreign"
    prefix = f"{project}-local"
    distribution = make_distribution(
        cloudfront, "theirs", {"Name": f"{prefix}-cdn", "Project": "someone-else", "ManagedBy": "webstack"}
    )
    oac = cloudfront.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": f"{prefix}-site-oac",
            "Description": "theirs",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "no-override",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]
    code = b"function handler(event) { return event.request; }"
    cloudfront.create_function(
        Name=f"{prefix}-spa-routing",
        FunctionConfig={"Comment": "theirs", "Runtime": "cloudfront-js-2.0"},
        FunctionCode=code,
    )
    theirs_headers = {"FrameOptions": {"Override": False, "FrameOption": "SAMEORIGIN"}}
    policy_id = cloudfront.create_response_headers_policy(
        ResponseHeadersPolicyConfig={
            "Name": f"{prefix}-headers",
            "Comment": "theirs",
            "SecurityHeadersConfig": theirs_headers,
        }
    )["ResponseHeadersPolicy"]["Id"]
    s3, bucket = aws("s3"), f"{prefix}-site"  # the stack's own bucket, for publish to get as far as the distribution
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": identity_tags(project)})
    try:
        for run in (stack.deploy, stack.destroy):
            extra = {"webstack_project": project, "cdn_origin_domain_name": f"{prefix}-site.s3.{REGION}.amazonaws.com"}
            summary = run(layers="frontend", tags="cdn", extra=extra)
            assert summary["status"] == "failed"
            message = stack.output[-1]
            assert (
                f"cdn_project / cdn_environment: the distribution {distribution['Id']} (Name {prefix}-cdn)" in message
            )
            assert (
                f"the origin access control {prefix}-site-oac exists but its description does not start with" in message
            )
            assert f"the CloudFront function {prefix}-spa-routing exists but its comment does not start with" in message
            assert f"the response headers policy {prefix}-headers exists but its comment does not start with" in message
            assert "they are not this stack's; nothing was changed" in message
        with pytest.raises(
            spa_release.ReleaseError, match=rf"cdn_project / cdn_environment: the distribution {distribution['Id']}"
        ):
            spa_release.find_site(s3, aws("sts"), cloudfront, project=project, environment="local", bucket_name=bucket)
        found = find_distribution(cloudfront, f"{prefix}-cdn")
        assert (found["Id"], found["Enabled"], found["Tags"]["Project"]) == (distribution["Id"], True, "someone-else")
        config = cloudfront.get_distribution_config(Id=distribution["Id"])["DistributionConfig"]
        assert config["Comment"] == "test distribution" and config["DefaultCacheBehavior"]["TargetOriginId"] == "site"
        kept_oac = cloudfront.get_origin_access_control(Id=oac["Id"])["OriginAccessControl"][
            "OriginAccessControlConfig"
        ]
        assert (kept_oac["Description"], kept_oac["SigningBehavior"]) == ("theirs", "no-override")
        function = cloudfront.describe_function(Name=f"{prefix}-spa-routing")["FunctionSummary"]
        assert function["FunctionConfig"]["Comment"] == "theirs"
        assert cloudfront.get_function(Name=f"{prefix}-spa-routing")["FunctionCode"].read() == code
        policy = cloudfront.get_response_headers_policy_config(Id=policy_id)["ResponseHeadersPolicyConfig"]
        assert (policy["Comment"], policy["SecurityHeadersConfig"]) == ("theirs", theirs_headers)
    finally:
        current = cloudfront.get_distribution_config(Id=distribution["Id"])
        disabled = cloudfront.update_distribution(
            Id=distribution["Id"],
            DistributionConfig={**current["DistributionConfig"], "Enabled": False},
            IfMatch=current["ETag"],
        )
        cloudfront.delete_distribution(Id=distribution["Id"], IfMatch=disabled["ETag"])
        cloudfront.delete_origin_access_control(
            Id=oac["Id"], IfMatch=cloudfront.get_origin_access_control(Id=oac["Id"])["ETag"]
        )
        etag = cloudfront.describe_function(Name=f"{prefix}-spa-routing")["ETag"]
        cloudfront.delete_function(Name=f"{prefix}-spa-routing", IfMatch=etag)
        etag = cloudfront.get_response_headers_policy(Id=policy_id)["ETag"]
        cloudfront.delete_response_headers_policy(Id=policy_id, IfMatch=etag)
        s3.delete_bucket(Bucket=bucket)
