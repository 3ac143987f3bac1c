# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACM calls for webstack.aws.acm_certificate.

The names and regions (module_utils/aws_names.py) and the judgement of which certificate to reuse
(module_utils/acm_reuse.py, which the acm filters load without boto3) are re-exported here; the
functions that call ACM take a client made by
AnsibleAWSModule.client(..., retry_decorator=AWSRetry.jittered_backoff()) and pass aws_retry=True.
"""

from __future__ import annotations

import hashlib
import time
import uuid

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.webstack.aws.plugins.module_utils.acm_reuse import (  # noqa: F401
    ALL_KEY_TYPES,
    FAILED_STATUSES,
    IDENTITY_TAG_KEYS,
    KEY_ALGORITHMS,
    REUSABLE_STATUSES,
    identity_tags,
    is_reusable,
    pick_reusable,
    reusable_found,
    summary,
    tags_match,
    validation_records,
)

# Re-exported for the module and the tests: defined, without any AWS import, in aws_names.py and
# acm_reuse.py.
from ansible_collections.webstack.aws.plugins.module_utils.aws_names import (  # noqa: F401
    CLOUDFRONT_REGION,
    PURPOSES,
    arn_region,
    certificate_arn_problem,
    certificate_names,
    certificate_region,
    is_domain_name,
    name_covered,
    name_in_zone,
    normalize_name,
    uncovered_names,
)


def idempotency_token(*parts) -> str:
    """An ACM IdempotencyToken (\\w, at most 32 characters) for one run of the module: retries of
    RequestCertificate inside that run return the same certificate. It is not stable across runs
    on purpose: reuse across runs is found by domain + names + tags, and a stable token would hand
    back, for an hour, a certificate deleted in between."""
    digest = hashlib.sha256("\x1f".join(map(str, (*parts, uuid.uuid4().hex))).encode()).hexdigest()
    return digest[:32]


# -- ACM calls ------------------------------------------------------------------------------------
@AWSRetry.jittered_backoff()
def list_certificates(client, key_algorithm: str | None, any_status: bool = False) -> list[dict]:
    """The certificates of one key algorithm (None: of any) in a status worth keeping (any_status:
    in any status)."""
    paginator = client.get_paginator("list_certificates")
    statuses = list(REUSABLE_STATUSES) + (list(FAILED_STATUSES) if any_status else [])
    key_types = [key_algorithm] if key_algorithm else list(ALL_KEY_TYPES)
    pages = paginator.paginate(CertificateStatuses=statuses, Includes={"keyTypes": key_types})
    return pages.build_full_result().get("CertificateSummaryList", [])


def validation_records_in_use(client, records: list[dict], except_arns=()) -> dict[str, list[str]]:
    """Which of `records` a certificate in the client's region other than `except_arns` still
    needs (one pending validation, or issued: ACM renews it through the record), as record name ->
    the ARNs needing it. ACM gives every certificate of an account the same validation CNAME for a
    name, whatever its region, so a record the stack wrote may be someone else's certificate's too."""
    wanted = {record["name"] for record in records}
    in_use: dict[str, list[str]] = {}
    for listed in list_certificates(client, None) if wanted else []:
        arn = listed["CertificateArn"]
        if arn in except_arns:
            continue
        for option in (describe_certificate(client, arn) or {}).get("DomainValidationOptions") or []:
            name = normalize_name((option.get("ResourceRecord") or {}).get("Name", "")) + "."
            if name in wanted and arn not in in_use.setdefault(name, []):
                in_use[name].append(arn)
    return in_use


def describe_certificate(client, arn: str) -> dict | None:
    try:
        return client.describe_certificate(CertificateArn=arn, aws_retry=True)["Certificate"]
    except is_boto3_error_code("ResourceNotFoundException"):
        return None


def get_tags(client, arn: str) -> dict:
    tags = client.list_tags_for_certificate(CertificateArn=arn, aws_retry=True).get("Tags", [])
    return {tag["Key"]: tag.get("Value", "") for tag in tags}


def find_certificates(client, names, wanted_tags: dict, key_algorithm: str, any_status: bool = False) -> list[dict]:
    """Every certificate reusable for exactly `names` (any names when empty) with `wanted_tags`, each
    as its description plus a `Tags` dict. any_status: failed and expired ones too (to delete them)."""
    domain = normalize_name(names[0]) if names else None
    found = []
    for listed in list_certificates(client, key_algorithm, any_status):
        if domain and normalize_name(listed.get("DomainName", "")) != domain:
            continue
        detail = describe_certificate(client, listed["CertificateArn"])
        if detail is None:
            continue
        tags = get_tags(client, detail["CertificateArn"])
        if is_reusable(detail, tags, names, wanted_tags, any_status):
            found.append({**detail, "Tags": tags})
    return found


def request_certificate(client, names, tags: dict, key_algorithm: str, token: str) -> str:
    params = {
        "DomainName": names[0],
        "ValidationMethod": "DNS",
        "IdempotencyToken": token,
        "KeyAlgorithm": key_algorithm,
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
    }
    if len(names) > 1:
        params["SubjectAlternativeNames"] = list(names[1:])
    return client.request_certificate(aws_retry=True, **params)["CertificateArn"]


def add_tags(client, arn: str, tags: dict) -> None:
    client.add_tags_to_certificate(
        CertificateArn=arn, Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())], aws_retry=True
    )


def delete_certificate(client, arn: str) -> None:
    client.delete_certificate(CertificateArn=arn, aws_retry=True)


def wait_for_validation_records(client, arn: str, timeout: float, sleep=time.sleep) -> tuple[dict, list | None]:
    """ACM publishes the validation CNAMEs a few seconds after the request (moto at once)."""
    deadline = time.monotonic() + timeout
    while True:
        detail = describe_certificate(client, arn) or {}
        records = validation_records(detail)
        if records is not None or time.monotonic() >= deadline:
            return detail, records
        sleep(3)


def wait_for_issued(client, arn: str, timeout: float, sleep=time.sleep) -> tuple[dict, str | None]:
    """Poll until ISSUED. Returns the last description and None, or an error message on FAILED
    (or another dead end) or on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        detail = describe_certificate(client, arn) or {}
        status = detail.get("Status")
        if status == "ISSUED":
            return detail, None
        if status in FAILED_STATUSES or detail == {}:
            reason = detail.get("FailureReason", "no reason given") if detail else "it no longer exists"
            return detail, f"certificate {arn} is {status or 'gone'} ({reason}); it will not be issued."
        if time.monotonic() >= deadline:
            return detail, (
                f"certificate {arn} is still {status} after {int(timeout)}s: ACM issues it once it sees the "
                "validation CNAME records in public DNS. Check that the hosted zone is the one the domain's "
                "registrar delegates to (its NS records), then run again; raise wait_timeout if DNS is slow."
            )
        sleep(10)
