"""The certificate module's pure logic: regions by purpose, reuse matching, name coverage with
wildcards, the refusal of CloudFront certificates from other regions, and the in-use refusal on
delete (botocore Stubber: moto never raises ResourceInUseException, it deletes attached ones)."""

from __future__ import annotations

import boto3
import pytest
from ansible.module_utils.common.dict_transformations import snake_dict_to_camel_dict
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber

from ansible_collections.webstack.aws.plugins.filter.acm import acm_arn_region
from ansible_collections.webstack.aws.plugins.module_utils import acm
from ansible_collections.webstack.aws.plugins.test.acm import acm_arn, domain_name, in_zone

CF_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
SEOUL_ARN = "arn:aws:acm:ap-northeast-2:123456789012:certificate/11111111-2222-3333-4444-555555555555"
TAGS = {"Project": "shop", "Environment": "prod", "ManagedBy": "webstack", "Purpose": "cloudfront"}


# -- regions --------------------------------------------------------------------------------------
@pytest.mark.parametrize("region", ["ap-northeast-2", "eu-west-1", "us-east-1", None])
def test_cloudfront_certificates_always_live_in_us_east_1(region):
    assert acm.certificate_region("cloudfront", region) == "us-east-1"


@pytest.mark.parametrize("region", ["ap-northeast-2", "eu-west-1", "us-east-1"])
def test_alb_certificates_live_in_the_load_balancers_region(region):
    assert acm.certificate_region("alb", region) == region


def test_alb_certificate_needs_a_region_and_purpose_must_be_known():
    with pytest.raises(ValueError, match="region"):
        acm.certificate_region("alb", None)
    with pytest.raises(ValueError, match="purpose"):
        acm.certificate_region("apigateway", "us-east-1")


def test_arn_region_reads_the_region_and_rejects_other_arns():
    assert acm.arn_region(SEOUL_ARN) == "ap-northeast-2"
    assert acm_arn_region(CF_ARN) == "us-east-1"
    for bad in ["", "arn:aws:iam::123456789012:server-certificate/x", "not-an-arn"]:
        with pytest.raises(ValueError, match="not an ACM certificate ARN"):
            acm.arn_region(bad)


def test_the_acm_arn_test_reads_the_region_with_the_same_parser():
    assert acm_arn(CF_ARN) and acm_arn(SEOUL_ARN)
    assert acm_arn(CF_ARN, "us-east-1") and not acm_arn(SEOUL_ARN, "us-east-1")
    # What AWS would refuse after changes is refused here: other services' ARNs and blanks around one.
    for bad in ["", None, "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1", f" {CF_ARN}"]:
        assert not acm_arn(bad)


def test_a_cloudfront_certificate_from_another_region_is_refused_with_the_reason():
    problem = acm.certificate_arn_problem(SEOUL_ARN, "cloudfront")
    assert "ap-northeast-2" in problem and "only accepts ACM certificates from us-east-1" in problem
    assert acm.certificate_arn_problem(CF_ARN, "cloudfront") is None


def test_an_alb_certificate_must_be_in_the_albs_region():
    assert acm.certificate_arn_problem(SEOUL_ARN, "alb", "ap-northeast-2") is None
    assert "its own region (ap-northeast-2)" in acm.certificate_arn_problem(CF_ARN, "alb", "ap-northeast-2")


# -- names ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("example.com", True),
        ("api.shop.example.co.uk", True),
        ("Example.COM.", True),
        ("xn--bcher-kva.example", True),
        ("localhost", False),
        ("https://example.com", False),
        ("example..com", False),
        ("-bad.example.com", False),
        ("10.0.0.1", False),
        ("*.example.com", False),
        ("", False),
        (None, False),
        ("a" * 64 + ".com", False),
    ],
)
def test_domain_names(name, ok):
    assert domain_name(name) is ok


def test_wildcards_are_names_only_where_allowed():
    assert acm.is_domain_name("*.example.com") and not acm.is_domain_name("*.example.com", allow_wildcard=False)
    assert not acm.is_domain_name("www.*.example.com")


@pytest.mark.parametrize(
    ("name", "cert_names", "covered"),
    [
        ("example.com", ["example.com"], True),
        ("WWW.example.com.", ["www.example.com"], True),
        ("www.example.com", ["*.example.com"], True),
        ("example.com", ["*.example.com"], False),  # a wildcard does not cover the apex
        ("a.b.example.com", ["*.example.com"], False),  # nor two labels
        ("api.example.com", ["example.com", "www.example.com"], False),
        ("api.example.com", ["example.com", "*.example.com"], True),
        ("www.example.org", ["*.example.com"], False),
        ("x.example.com", [], False),
    ],
)
def test_name_coverage(name, cert_names, covered):
    assert acm.name_covered(name, cert_names) is covered


def test_uncovered_names_lists_each_missing_name_once():
    assert (
        acm.uncovered_names(
            ["example.com", "www.example.com", "api.example.com", "api.example.com"], ["example.com", "*.example.com"]
        )
        == []
    )
    assert acm.uncovered_names(["example.com", "www.example.com", "www.example.com"], ["example.com"]) == [
        "www.example.com"
    ]


def test_names_must_be_in_the_zone_that_validates_them():
    assert in_zone("api.example.com", "example.com") and in_zone("*.example.com", "example.com")
    assert in_zone("example.com", "example.com")
    assert not in_zone("example.org", "example.com") and not in_zone("badexample.com", "example.com")


# -- reuse ----------------------------------------------------------------------------------------
def detail(status="ISSUED", domain="example.com", sans=("example.com", "www.example.com"), **extra):
    return {
        "CertificateArn": CF_ARN,
        "DomainName": domain,
        "SubjectAlternativeNames": list(sans),
        "Status": status,
        "Type": "AMAZON_ISSUED",
        **extra,
    }


NAMES = ["example.com", "www.example.com"]


def test_reuse_needs_the_same_names_in_any_order_and_case():
    assert acm.is_reusable(detail(), TAGS, NAMES, TAGS)
    assert acm.is_reusable(detail(sans=("WWW.example.com", "example.com")), TAGS, NAMES, TAGS)
    assert not acm.is_reusable(detail(sans=("example.com",)), TAGS, NAMES, TAGS)  # fewer names
    assert not acm.is_reusable(detail(sans=(*NAMES, "api.example.com")), TAGS, NAMES, TAGS)  # more names
    assert not acm.is_reusable(detail(domain="www.example.com"), TAGS, NAMES, TAGS)  # another subject


def test_reuse_needs_the_stacks_tags_and_purpose():
    assert not acm.is_reusable(detail(), {**TAGS, "Project": "other"}, NAMES, TAGS)
    assert not acm.is_reusable(detail(), {**TAGS, "Purpose": "alb"}, NAMES, TAGS)
    assert acm.is_reusable(detail(), {**TAGS, "Owner": "someone"}, NAMES, TAGS)
    assert acm.identity_tags({**TAGS, "CostCenter": "42"}) == TAGS


@pytest.mark.parametrize("status", ["FAILED", "EXPIRED", "REVOKED", "VALIDATION_TIMED_OUT", "INACTIVE"])
def test_dead_certificates_are_never_reused_but_are_deleted(status):
    assert not acm.is_reusable(detail(status=status), TAGS, NAMES, TAGS)
    assert acm.is_reusable(detail(status=status), TAGS, NAMES, TAGS, any_status=True)
    assert acm.is_reusable(detail(status=status), TAGS, [], TAGS, any_status=True)  # absent: any names


def test_imported_certificates_are_not_reused():
    assert not acm.is_reusable(detail(Type="IMPORTED"), TAGS, NAMES, TAGS)


def test_an_issued_certificate_wins_over_a_newer_pending_one():
    issued = detail(CreatedAt=100.0)
    pending = detail(status="PENDING_VALIDATION", CreatedAt=200.0)
    newer_issued = detail(CreatedAt=150.0)
    assert acm.pick_reusable([pending, issued]) is issued
    assert acm.pick_reusable([issued, pending, newer_issued]) is newer_issued
    assert acm.pick_reusable([]) is None


def info_output(**certificates) -> list[dict]:
    """What community.aws.acm_certificate_info returns for certificates described by moto: snake_cased,
    tags as a dict, through the JSON a module's result travels in (datetimes as ISO strings)."""
    import json

    from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
    from ansible.module_utils.common.json import AnsibleJSONEncoder
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("acm", region_name="us-east-1")
        found = []
        for names, tags in certificates.values():
            arn = client.request_certificate(
                DomainName=names[0],
                SubjectAlternativeNames=names,
                ValidationMethod="DNS",
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            )["CertificateArn"]
            described = camel_dict_to_snake_dict(client.describe_certificate(CertificateArn=arn)["Certificate"])
            found.append({**described, "tags": tags})
    return json.loads(json.dumps(found, cls=AnsibleJSONEncoder))


def test_the_info_modules_certificates_are_judged_as_the_module_judges_them():
    listed = info_output(
        theirs=(NAMES, {**TAGS, "Project": "other"}), fewer=(NAMES[:1], TAGS), ec=(NAMES, TAGS), ours=(NAMES, TAGS)
    )
    # moto describes every certificate as RSA_2048; this one would win as the newest if reused.
    listed[2].update(key_algorithm="EC_prime256v1", created_at="2999-01-01T00:00:00+00:00")
    ours = listed[3]
    found = acm.reusable_found(listed, NAMES, {**TAGS, "CostCenter": "42"}, "RSA_2048")
    assert found["certificate"]["arn"] == ours["certificate_arn"]
    assert found["certificate"]["region"] == "us-east-1" and found["certificate"]["tags"] == TAGS
    assert sorted(found["certificate"]["subject_alternative_names"]) == sorted(NAMES)
    expected = acm.validation_records(snake_dict_to_camel_dict(ours, capitalize_first=True))
    assert expected and found["validation_records"] == expected
    # The newest of two reusable ones, with created_at as the ISO string Ansible hands over.
    newer = {**ours, "certificate_arn": CF_ARN, "created_at": "2999-01-01T00:00:00+00:00"}
    assert acm.reusable_found([ours, newer], NAMES, TAGS, None)["certificate"]["arn"] == CF_ARN
    assert acm.reusable_found(listed[:3], NAMES, TAGS, "RSA_2048") == {"certificate": {}, "validation_records": []}


def test_the_reusable_filter_answers_each_looped_lookup_in_the_modules_shape():
    from ansible_collections.webstack.aws.plugins.filter.acm import acm_certificate_region, acm_reusable

    ours = info_output(ours=(NAMES, TAGS))
    results = [
        {"item": {"purpose": "cloudfront", "names": NAMES}, "certificates": ours},
        {"item": {"purpose": "alb", "names": NAMES}, "certificates": ours},  # tagged Purpose=cloudfront
    ]
    cloudfront, alb = acm_reusable(results, {k: v for k, v in TAGS.items() if k != "Purpose"}, "RSA_2048")
    assert cloudfront["item"]["purpose"] == "cloudfront"
    assert cloudfront["certificate"]["arn"] == ours[0]["certificate_arn"]
    assert alb == {"item": results[1]["item"], "certificate": {}, "validation_records": []}
    assert acm_certificate_region("cloudfront", "eu-west-1") == "us-east-1"
    assert acm_certificate_region("alb", "eu-west-1") == "eu-west-1"


def test_validation_records_are_merged_and_wait_until_published():
    rec = {"Name": "_a.example.com.", "Type": "CNAME", "Value": "_b.acm-validations.aws."}
    options = [
        {"DomainName": "example.com", "ValidationMethod": "DNS", "ResourceRecord": rec},
        {"DomainName": "*.example.com", "ValidationMethod": "DNS", "ResourceRecord": rec},
    ]
    assert acm.validation_records({"DomainValidationOptions": options}) == [
        {"name": "_a.example.com.", "type": "CNAME", "value": "_b.acm-validations.aws."}
    ]
    options.append({"DomainName": "www.example.com", "ValidationMethod": "DNS"})
    assert acm.validation_records({"DomainValidationOptions": options}) is None


def test_idempotency_tokens_are_valid_and_differ_between_runs():
    first, second = acm.idempotency_token("a", "b"), acm.idempotency_token("a", "b")
    assert len(first) == 32 and first.isalnum() and first != second


# -- waiting and deleting (Stubber: moto issues at once and never refuses a delete) ---------------
@pytest.fixture
def stubbed():
    client = boto3.client("acm", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    with Stubber(client) as stub:
        # Wrapped like AnsibleAWSModule.client(retry_decorator=...): the module passes aws_retry=True.
        yield RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1)), stub


def described(status, **extra):
    return {"Certificate": {"CertificateArn": CF_ARN, "DomainName": "example.com", "Status": status, **extra}}


def test_wait_reports_failed_with_the_reason(stubbed):
    client, stub = stubbed
    stub.add_response("describe_certificate", described("PENDING_VALIDATION"), {"CertificateArn": CF_ARN})
    stub.add_response(
        "describe_certificate", described("FAILED", FailureReason="CAA_ERROR"), {"CertificateArn": CF_ARN}
    )
    _, problem = acm.wait_for_issued(client, CF_ARN, 60, sleep=lambda _: None)
    assert "FAILED (CAA_ERROR)" in problem


def test_wait_times_out_with_advice(stubbed):
    client, stub = stubbed
    stub.add_response("describe_certificate", described("PENDING_VALIDATION"), {"CertificateArn": CF_ARN})
    _, problem = acm.wait_for_issued(client, CF_ARN, 0, sleep=lambda _: None)
    assert "still PENDING_VALIDATION after 0s" in problem and "NS records" in problem


def test_wait_returns_when_issued(stubbed):
    client, stub = stubbed
    stub.add_response("describe_certificate", described("ISSUED"), {"CertificateArn": CF_ARN})
    found, problem = acm.wait_for_issued(client, CF_ARN, 60, sleep=lambda _: None)
    assert problem is None and found["Status"] == "ISSUED"


def test_delete_of_a_certificate_in_use_raises_resource_in_use(stubbed):
    client, stub = stubbed
    stub.add_client_error("delete_certificate", "ResourceInUseException", "in use", 400, {"CertificateArn": CF_ARN})
    with pytest.raises(client.client.exceptions.ResourceInUseException):
        acm.delete_certificate(client, CF_ARN)


def test_validation_records_another_certificate_needs_are_named_with_their_users(stubbed):
    """Every certificate of the account for a name shares its validation record: the records the
    stack's deleted certificate used are checked against every other certificate, of any key type."""
    client, stub = stubbed
    other = CF_ARN.replace("11111111", "99999999")
    records = [
        {"name": "_x1.example.com.", "type": "CNAME", "value": "_v1.acm-validations.aws."},
        {"name": "_x2.www.example.com.", "type": "CNAME", "value": "_v2.acm-validations.aws."},
    ]
    listed = {"CertificateSummaryList": [{"CertificateArn": CF_ARN}, {"CertificateArn": other}]}
    stub.add_response(
        "list_certificates",
        listed,
        {"CertificateStatuses": ["PENDING_VALIDATION", "ISSUED"], "Includes": {"keyTypes": list(acm.ALL_KEY_TYPES)}},
    )
    option = {
        "DomainName": "EXAMPLE.com",
        "ResourceRecord": {"Name": "_X1.example.com", "Type": "CNAME", "Value": "_v1"},
    }
    stub.add_response(
        "describe_certificate",
        {"Certificate": {"CertificateArn": other, "DomainValidationOptions": [option]}},
        {"CertificateArn": other},
    )
    # The deleted certificate itself (CF_ARN) is not asked about.
    assert acm.validation_records_in_use(client, records, [CF_ARN]) == {"_x1.example.com.": [other]}
    assert acm.validation_records_in_use(client, [], [CF_ARN]) == {}  # nothing to check: no call


def test_the_controller_loads_webstacks_filters_and_tests_without_the_aws_sdk():
    """Every job's controller loads all of webstack's filters and tests at its start (the acm ones
    judge certificates with module_utils/acm_reuse.py): importing boto3 there would cost each job a
    third of a CPU-second."""
    import subprocess
    import sys
    from pathlib import Path

    collection = Path(__file__).resolve().parents[2] / "collections"
    plugins = sorted(
        f"ansible_collections.webstack.aws.plugins.{path.parent.name}.{path.stem}"
        for kind in ("filter", "test")
        for path in (collection / "ansible_collections/webstack/aws/plugins" / kind).glob("*.py")
    )
    code = (
        "import importlib, sys\n"
        "from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder\n"
        f"_AnsibleCollectionFinder(paths=[{str(collection)!r}, *sys.path])._install()\n"
        f"for name in {plugins!r}: importlib.import_module(name)\n"
        "print(sorted({'boto3', 'botocore'} & set(sys.modules)))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert len(plugins) >= 8 and run.stdout.strip() == "[]", run.stdout + run.stderr
