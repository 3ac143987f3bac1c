"""webstack.aws.cloudfront_spa_error_pages: its functions against the test run's moto server, which
implements Get/UpdateDistribution(Config); botocore's Stubber only for the one thing moto cannot
show -- it ignores If-Match, so the ETag the module sends is checked on a stubbed client."""

from __future__ import annotations

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber

from ansible_collections.webstack.aws.plugins.module_utils import cloudfront as cf
from ansible_collections.webstack.aws.plugins.modules import cloudfront_spa_error_pages as mod
from tests.unit.test_cloudfront_distribution_config import spec as distribution_spec

SPA = [
    {"ErrorCode": 403, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10},
    {"ErrorCode": 404, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10},
]


def params(**overrides):
    base = {
        "distribution_id": "",
        "error_codes": [403, 404],
        "response_page_path": "/index.html",
        "response_code": 200,
        "error_caching_min_ttl": 10,
        "state": "present",
    }
    return {**base, **overrides}


@pytest.fixture(scope="module")
def client(aws):
    return RetryingBotoClientWrapper(aws("cloudfront", "us-east-1"), AWSRetry.jittered_backoff())


@pytest.fixture
def distribution(client, request):
    """A fresh distribution with one unrelated error response (500 -> /500.html) to keep."""
    parts = cf.desired_distribution_parts(
        distribution_spec(
            comment="spa error pages unit test",
            origin_domain_name="t-spa-unit.s3.ap-northeast-2.amazonaws.com",
            origin_access_control_id="",
            aliases=[],
            acm_certificate_arn="",
            custom_error_responses=[
                {"ErrorCode": 500, "ResponsePagePath": "/500.html", "ResponseCode": "500", "ErrorCachingMinTTL": 5}
            ],
        )
    )
    config = cf.new_distribution_config(f"t-spa-unit-{request.node.name}", parts)
    dist, etag = cf.create_distribution(client, config, {"Project": "t-spa-unit"})
    yield dist["Id"]
    _current, etag = cf.get_distribution_config(client, dist["Id"])
    cf.delete_distribution(client, dist["Id"], etag)


def error_responses(client, dist_id):
    config, _ = cf.get_distribution_config(client, dist_id)
    return cf.error_pages_view(config)


def test_create_sets_403_and_404_and_keeps_other_error_responses(client, distribution):
    changed, before, after, _etag = mod.converge(client, params(distribution_id=distribution), check_mode=False)
    assert changed
    assert [e["ErrorCode"] for e in before] == [500]
    stored = error_responses(client, distribution)
    assert stored == [
        *SPA,
        {"ErrorCode": 500, "ResponsePagePath": "/500.html", "ResponseCode": "500", "ErrorCachingMinTTL": 5},
    ]
    assert after == stored


def test_second_run_changes_nothing(client, distribution):
    mod.converge(client, params(distribution_id=distribution), check_mode=False)
    changed, before, after, _etag = mod.converge(client, params(distribution_id=distribution), check_mode=False)
    assert not changed and before == after


def test_update_changes_only_the_error_responses(client, distribution):
    mod.converge(client, params(distribution_id=distribution), check_mode=False)
    config_before, _ = cf.get_distribution_config(client, distribution)
    changed, _before, _after, _etag = mod.converge(
        client, params(distribution_id=distribution, error_caching_min_ttl=60), check_mode=False
    )
    assert changed
    assert [e["ErrorCachingMinTTL"] for e in error_responses(client, distribution)] == [60, 60, 5]
    config_after, _ = cf.get_distribution_config(client, distribution)
    config_before.pop("CustomErrorResponses")
    config_after.pop("CustomErrorResponses")
    assert config_after == config_before


def test_check_mode_reports_the_change_and_writes_nothing(client, distribution):
    changed, before, after, _etag = mod.converge(client, params(distribution_id=distribution), check_mode=True)
    assert changed
    assert [e["ErrorCode"] for e in after] == [403, 404, 500]
    assert error_responses(client, distribution) == before
    assert [e["ErrorCode"] for e in before] == [500]


def test_diff_shows_before_and_after(client, distribution):
    mod.converge(client, params(distribution_id=distribution), check_mode=False)
    changed, before, after, _etag = mod.converge(
        client,
        params(distribution_id=distribution, error_codes=[404], response_page_path="/404.html", response_code=404),
        check_mode=False,
    )
    assert changed
    assert {
        "ErrorCode": 404,
        "ResponsePagePath": "/index.html",
        "ResponseCode": "200",
        "ErrorCachingMinTTL": 10,
    } in before
    assert {"ErrorCode": 404, "ResponsePagePath": "/404.html", "ResponseCode": "404", "ErrorCachingMinTTL": 10} in after
    assert [e for e in after if e["ErrorCode"] == 403] == [e for e in before if e["ErrorCode"] == 403]


def test_absent_removes_only_the_given_codes(client, distribution):
    mod.converge(client, params(distribution_id=distribution), check_mode=False)
    changed, *_ = mod.converge(client, params(distribution_id=distribution, state="absent"), check_mode=False)
    assert changed
    assert [e["ErrorCode"] for e in error_responses(client, distribution)] == [500]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"response_page_path": "index.html"}, "must start with '/'"),
        ({"response_page_path": ""}, "must start with '/'"),
        ({"response_code": 299}, "response_code 299"),
        ({"response_code": 302}, "response_code 302"),
        ({"error_codes": [404, 999]}, "error_codes [999]"),
        ({"error_codes": [402]}, "error_codes [402]"),
        ({"error_codes": []}, "at least one"),
        ({"error_caching_min_ttl": -1}, "error_caching_min_ttl -1"),
    ],
)
def test_bad_input_is_named_before_any_call(overrides, fragment):
    problems = mod.validate(params(distribution_id="EXAMPLE", **overrides))
    assert any(fragment in problem for problem in problems), problems


def test_good_input_has_no_problems():
    assert mod.validate(params(distribution_id="EXAMPLE")) == []
    assert mod.validate(params(distribution_id="EXAMPLE", error_codes=[404], response_code=404)) == []


def test_update_sends_the_etag_it_read_as_if_match(aws):
    """Stubber: moto accepts any If-Match value, so only a stub shows which one the module sends."""
    raw = aws("cloudfront", "us-east-1")
    config = {
        "CallerReference": "ref",
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "b.s3.amazonaws.com"}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https"},
        "CustomErrorResponses": {"Quantity": 0},
    }
    wanted = cf.apply_error_pages(config, [403, 404], "/index.html", 200, 10, "present")
    with Stubber(raw) as stub:
        stub.add_response("get_distribution_config", {"DistributionConfig": config, "ETag": "E-READ"}, {"Id": "D1"})
        stub.add_response(
            "update_distribution",
            {"Distribution": {**_distribution_stub(), "DistributionConfig": wanted}, "ETag": "E-NEW"},
            {"Id": "D1", "IfMatch": "E-READ", "DistributionConfig": wanted},
        )
        changed, _before, _after, etag = mod.converge(
            RetryingBotoClientWrapper(raw, AWSRetry.jittered_backoff()), params(distribution_id="D1"), check_mode=False
        )
        stub.assert_no_pending_responses()
    assert changed and etag == "E-NEW"


def _distribution_stub():
    return {
        "Id": "D1",
        "ARN": "arn:aws:cloudfront::123456789012:distribution/D1",
        "Status": "InProgress",
        "LastModifiedTime": "2026-01-01T00:00:00Z",
        "InProgressInvalidationBatches": 0,
        "DomainName": "d1.cloudfront.net",
    }
