"""The DistributionConfig building, merging, normalising and comparing behind
webstack.aws.cloudfront_distribution_spa, and its checks that run before any AWS call. Pure data,
no server: the configs below are shaped like real AWS answers and like the project's moto's."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleError

from ansible_collections.webstack.aws.plugins.lookup.cloudfront_hosted_zone_id import LookupModule
from ansible_collections.webstack.aws.plugins.lookup.cloudfront_status_codes import LookupModule as StatusCodes
from ansible_collections.webstack.aws.plugins.module_utils import cloudfront as cf
from ansible_collections.webstack.aws.plugins.modules import cloudfront_distribution_spa as mod

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
ORIGIN = "t-site-123456789012.s3.ap-northeast-2.amazonaws.com"
FUNCTION = "arn:aws:cloudfront::123456789012:function/t-local-spa-routing"


def spec(**overrides):
    base = {
        "comment": "t single-page app",
        "enabled": True,
        "origin_id": "s3-site",
        "origin_domain_name": ORIGIN,
        "origin_access_control_id": "E2OAC",
        "default_root_object": "index.html",
        "viewer_protocol_policy": "redirect-to-https",
        "cache_policy_id": cf.CACHING_OPTIMIZED_POLICY_ID,
        "response_headers_policy_id": cf.SECURITY_HEADERS_POLICY_ID,
        "compress": True,
        "http_version": "http2and3",
        "ipv6_enabled": True,
        "price_class": "PriceClass_100",
        "aliases": ["www.example.com", "example.com"],
        "acm_certificate_arn": CERT,
        "minimum_protocol_version": "TLSv1.2_2021",
        "custom_error_responses": None,
    }
    return {**base, **overrides}


def aws_shaped(parts):
    """What real AWS returns for a config built from ``parts``: counters, defaults webstack does
    not set, deprecated certificate fields, error responses it did not make, lists in its order."""
    config = cf.new_distribution_config("t-cdn-1700000000", parts)
    config["Aliases"] = {"Quantity": 2, "Items": ["www.example.com", "example.com"]}
    origin = config["Origins"]["Items"][0]
    origin.update(
        ConnectionAttempts=3, ConnectionTimeout=10, CustomHeaders={"Quantity": 0}, OriginShield={"Enabled": False}
    )
    config["DefaultCacheBehavior"].update(
        TrustedSigners={"Enabled": False, "Quantity": 0},
        TrustedKeyGroups={"Enabled": False, "Quantity": 0},
        SmoothStreaming=False,
        LambdaFunctionAssociations={"Quantity": 0},
        FunctionAssociations={"Quantity": 0},
        FieldLevelEncryptionId="",
    )
    config["DefaultCacheBehavior"]["AllowedMethods"] = {
        "Quantity": 2,
        "Items": ["HEAD", "GET"],
        "CachedMethods": {"Quantity": 2, "Items": ["HEAD", "GET"]},
    }
    config["ViewerCertificate"].update(Certificate=CERT, CertificateSource="acm")
    config["CustomErrorResponses"] = {
        "Quantity": 2,
        "Items": [
            {"ErrorCode": 404, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10},
            {"ErrorCode": 403, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10},
        ],
    }
    config["Logging"] = {"Enabled": False, "IncludeCookies": False, "Bucket": "", "Prefix": ""}
    config["WebACLId"] = ""
    return config


def moto_shaped(parts):
    """What the project's moto returns: the legacy cache settings next to the cache policy, and an
    IAM certificate field AWS leaves out."""
    config = aws_shaped(parts)
    config["DefaultCacheBehavior"].update(
        ForwardedValues={"QueryString": False, "Cookies": {"Forward": "none"}}, MinTTL=0, DefaultTTL=0, MaxTTL=0
    )
    config["ViewerCertificate"].update(IAMCertificateId="")
    return config


def test_desired_config_uses_the_oac_not_an_origin_access_identity():
    parts = cf.desired_distribution_parts(spec())
    (origin,) = parts["Origins"]
    assert origin["OriginAccessControlId"] == "E2OAC"
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert origin["DomainName"] == ORIGIN
    behavior = parts["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    assert behavior["ResponseHeadersPolicyId"] == "67f7725c-6f97-4210-82d7-5512b31e9d03"
    assert behavior["Compress"] is True
    assert parts["DefaultRootObject"] == "index.html"
    assert parts["HttpVersion"] == "http2and3" and parts["IsIPV6Enabled"] is True
    assert parts["ViewerCertificate"] == {
        "CloudFrontDefaultCertificate": False,
        "ACMCertificateArn": CERT,
        "SSLSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    assert parts["Aliases"] == {"Quantity": 2, "Items": ["example.com", "www.example.com"]}
    assert "CustomErrorResponses" not in parts


def test_without_a_certificate_the_default_certificate_is_used():
    parts = cf.desired_distribution_parts(spec(acm_certificate_arn="", aliases=[]))
    assert parts["ViewerCertificate"]["CloudFrontDefaultCertificate"] is True
    assert "ACMCertificateArn" not in parts["ViewerCertificate"]
    assert parts["Aliases"] == {"Quantity": 0}


@pytest.mark.parametrize("shape", [aws_shaped, moto_shaped])
def test_an_unchanged_distribution_compares_equal(shape):
    parts = cf.desired_distribution_parts(spec())
    current = shape(parts)
    changed, before, after = cf.compare_distribution_config(current, cf.merge_distribution_config(current, parts))
    assert not changed, (before, after)


def test_merge_keeps_what_webstack_does_not_manage():
    parts = cf.desired_distribution_parts(spec())
    current = aws_shaped(parts)
    current["Logging"] = {"Enabled": True, "IncludeCookies": False, "Bucket": "logs.s3.amazonaws.com", "Prefix": "cf/"}
    current["WebACLId"] = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/1"
    merged = cf.merge_distribution_config(current, parts)
    assert merged["Logging"] == current["Logging"] and merged["WebACLId"] == current["WebACLId"]
    assert merged["CustomErrorResponses"] == current["CustomErrorResponses"]
    assert merged["CallerReference"] == "t-cdn-1700000000"
    assert merged["Origins"]["Items"][0]["ConnectionAttempts"] == 3


def test_merge_drops_legacy_cache_settings_and_deprecated_certificate_fields():
    parts = cf.desired_distribution_parts(spec())
    merged = cf.merge_distribution_config(moto_shaped(parts), parts)
    assert not {"ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"} & set(merged["DefaultCacheBehavior"])
    assert not {"Certificate", "CertificateSource"} & set(merged["ViewerCertificate"])


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"price_class": "PriceClass_200"}, ("PriceClass",)),
        ({"aliases": ["example.com"]}, ("Aliases",)),
        ({"minimum_protocol_version": "TLSv1.2_2019"}, ("ViewerCertificate", "MinimumProtocolVersion")),
        ({"default_root_object": "home.html"}, ("DefaultRootObject",)),
        ({"response_headers_policy_id": "custom-policy"}, ("DefaultCacheBehavior", "ResponseHeadersPolicyId")),
        ({"origin_domain_name": "other.s3.ap-northeast-2.amazonaws.com"}, ("Origins",)),
        ({"origin_access_control_id": "E2OTHER"}, ("Origins",)),
        ({"enabled": False}, ("Enabled",)),
        (
            {"function_associations": [{"EventType": "viewer-request", "FunctionARN": FUNCTION}]},
            ("DefaultCacheBehavior",),
        ),
    ],
)
def test_a_changed_setting_is_detected(overrides, path):
    current = aws_shaped(cf.desired_distribution_parts(spec()))
    wanted = cf.merge_distribution_config(current, cf.desired_distribution_parts(spec(**overrides)))
    changed, before, after = cf.compare_distribution_config(current, wanted)
    assert changed
    for key in path[:1]:
        assert before[key] != after[key]


def test_error_responses_left_alone_unless_given_then_owned():
    current = aws_shaped(cf.desired_distribution_parts(spec()))
    given = [{"ErrorCode": 404, "ResponsePagePath": "/404.html", "ResponseCode": "404", "ErrorCachingMinTTL": 0}]
    wanted = cf.merge_distribution_config(current, cf.desired_distribution_parts(spec(custom_error_responses=given)))
    changed, _before, after = cf.compare_distribution_config(current, wanted)
    assert changed and after["CustomErrorResponses"] == given


def test_normalisation_ignores_counters_order_and_types():
    a = {"Aliases": {"Quantity": 2, "Items": ["b", "a"]}, "CustomErrorResponses": {"Quantity": 0}}
    b = {
        "Aliases": {"Items": ["a", "b"]},
        "CustomErrorResponses": {"Quantity": 0, "Items": []},
    }
    assert cf.normalise_distribution_config(a) == cf.normalise_distribution_config(b)
    c = {"CustomErrorResponses": {"Items": [{"ErrorCode": "404", "ResponsePagePath": "/i", "ResponseCode": 200}]}}
    d = {"CustomErrorResponses": {"Items": [{"ErrorCode": 404, "ResponsePagePath": "/i", "ResponseCode": "200"}]}}
    assert cf.normalise_distribution_config(c) == cf.normalise_distribution_config(d)
    assert copy.deepcopy(a) == a  # the input is not modified


def params(**overrides):
    base = {
        "name": "t-cdn",
        "state": "present",
        "acm_certificate_arn": CERT,
        "aliases": ["example.com"],
        "origin_domain_name": ORIGIN,
        "origin_access_control_id": "E2OAC",
        "function_associations": [],
        "custom_error_responses": None,
    }
    return {**base, **overrides}


@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_certificate_outside_us_east_1_is_refused_before_any_call(state):
    problems = mod.validate(
        params(state=state, acm_certificate_arn=CERT.replace("us-east-1", "ap-northeast-2")), check_mode=False
    )
    assert len(problems) == 1
    assert "ap-northeast-2" in problems[0] and "only uses ACM certificates issued in us-east-1" in problems[0]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"acm_certificate_arn": "arn:aws:iam::123456789012:server-certificate/x"}, "not an ACM certificate ARN"),
        ({"acm_certificate_arn": ""}, "aliases need acm_certificate_arn"),
        ({"origin_domain_name": ""}, "origin_domain_name is required"),
        ({"origin_access_control_id": ""}, "origin_access_control_id is required"),
        (
            {
                "custom_error_responses": [
                    {"error_code": 404, "response_page_path": "x", "response_code": 200, "error_caching_min_ttl": 1}
                ]
            },
            "must start with '/'",
        ),
    ],
)
def test_bad_input_is_named(overrides, fragment):
    problems = mod.validate(params(**overrides), check_mode=False)
    assert any(fragment in problem for problem in problems), problems


def test_good_input_and_check_mode_without_an_oac_yet():
    assert mod.validate(params(), check_mode=False) == []
    assert mod.validate(params(origin_access_control_id=""), check_mode=True) == []


def test_function_associations_compare_equal_as_aws_returns_them_and_go_when_emptied():
    association = {"EventType": "viewer-request", "FunctionARN": FUNCTION}
    parts = cf.desired_distribution_parts(spec(function_associations=[association]))
    assert parts["DefaultCacheBehavior"]["FunctionAssociations"] == {"Quantity": 1, "Items": [association]}
    current = aws_shaped(parts)
    current["DefaultCacheBehavior"]["FunctionAssociations"] = {"Quantity": 1, "Items": [dict(association)]}
    changed, before, after = cf.compare_distribution_config(current, cf.merge_distribution_config(current, parts))
    assert not changed, (before, after)

    emptied = cf.merge_distribution_config(current, cf.desired_distribution_parts(spec()))
    assert emptied["DefaultCacheBehavior"]["FunctionAssociations"] == {"Quantity": 0}
    assert cf.compare_distribution_config(current, emptied)[0]


def test_one_function_per_event_type():
    twice = [{"event_type": "viewer-request", "function_arn": FUNCTION}] * 2
    (problem,) = mod.validate(params(function_associations=twice), check_mode=False)
    assert "one function per event type" in problem


def test_the_roles_read_cloudfronts_alias_zone_from_the_one_constant():
    # The literal is this test's own oracle: AWS documents the zone for every distribution.
    assert LookupModule().run([]) == [cf.CLOUDFRONT_HOSTED_ZONE_ID] == ["Z2FDTNDATAQYW2"]


def test_the_cdn_role_and_the_module_check_the_same_status_codes():
    codes = StatusCodes()
    assert codes.run(["error"]) == list(cf.SUPPORTED_ERROR_CODES)
    assert codes.run(["response"]) == list(cf.SUPPORTED_RESPONSE_CODES)
    # CloudFront customises errors only; a response may be a success.
    assert 200 not in codes.run(["error"]) and 200 in codes.run(["response"])
    with pytest.raises(AnsibleError, match="error or response"):
        codes.run(["redirect"])
