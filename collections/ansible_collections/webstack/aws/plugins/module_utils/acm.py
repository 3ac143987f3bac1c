# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACM logic shared by webstack.aws.acm_certificate and the acm filters.

The names and regions are module_utils/aws_names.py's (re-exported here); the matching functions
import nothing from boto3 either, so unit tests use them without AWS; the functions that call ACM
take a client made by AnsibleAWSModule.client(..., retry_decorator=AWSRetry.jittered_backoff())
and pass aws_retry=True.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import datetime

from ansible.module_utils.common.dict_transformations import snake_dict_to_camel_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# Re-exported for the module and the tests: defined, without any AWS import, in aws_names.py.
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

# Certificates worth reusing: one on its way (PENDING_VALIDATION) or usable (ISSUED). FAILED,
# EXPIRED, REVOKED, INACTIVE and VALIDATION_TIMED_OUT ones are never reused.
REUSABLE_STATUSES = ("PENDING_VALIDATION", "ISSUED")
FAILED_STATUSES = ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE")
IDENTITY_TAG_KEYS = ("Project", "Environment", "ManagedBy", "Purpose")
KEY_ALGORITHMS = ("RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1")
# Every key type ListCertificates knows: it lists RSA_2048 certificates only unless told.
ALL_KEY_TYPES = ("RSA_1024", *KEY_ALGORITHMS, "EC_secp521r1")


# -- matching -------------------------------------------------------------------------------------
def identity_tags(tags: dict) -> dict:
    """The tags that identify the stack's certificate (all of them when none of the identity keys is there)."""
    found = {key: value for key, value in (tags or {}).items() if key in IDENTITY_TAG_KEYS}
    return found or dict(tags or {})


def tags_match(actual: dict, wanted: dict) -> bool:
    """Every wanted tag is present with the same value (other tags may exist)."""
    return all(actual.get(key) == value for key, value in (wanted or {}).items())


def is_reusable(detail: dict, tags: dict, names, wanted_tags: dict, any_status: bool = False) -> bool:
    """Whether the described certificate `detail` (DescribeCertificate's Certificate) with `tags`
    is the one asked for: an ACM-issued certificate for exactly `names` (domain first), in a
    status worth waiting for or using, carrying the stack's tags. Empty `names` match any names."""
    if detail.get("Type", "AMAZON_ISSUED") != "AMAZON_ISSUED":
        return False
    if not any_status and detail.get("Status") not in REUSABLE_STATUSES:
        return False
    if not names:  # any name: every certificate of the stack (absent)
        return tags_match(tags, wanted_tags)
    wanted = certificate_names(names[0], names[1:])
    if normalize_name(detail.get("DomainName", "")) != wanted[0]:
        return False
    have = {normalize_name(n) for n in detail.get("SubjectAlternativeNames") or [detail.get("DomainName", "")]}
    have.add(normalize_name(detail.get("DomainName", "")))
    return have == set(wanted) and tags_match(tags, wanted_tags)


def _sort_key(detail: dict):
    created = detail.get("CreatedAt") or 0
    if isinstance(created, str):  # as an info module returns it, through Ansible
        created = datetime.fromisoformat(created)
    if hasattr(created, "timestamp"):
        created = created.timestamp()
    return (detail.get("Status") == "ISSUED", float(created))


def pick_reusable(candidates: list[dict]) -> dict | None:
    """The best of several matching certificates: an ISSUED one before a pending one, then the newest."""
    return max(candidates, key=_sort_key) if candidates else None


def summary(detail: dict) -> dict:
    """A described certificate (DescribeCertificate's, with a `Tags` dict) as webstack.aws.acm_certificate
    returns it; empty for none."""
    if not detail:
        return {}
    return {
        "arn": detail["CertificateArn"],
        "region": arn_region(detail["CertificateArn"]),
        "domain_name": detail.get("DomainName"),
        "subject_alternative_names": detail.get("SubjectAlternativeNames", []),
        "status": detail.get("Status"),
        "key_algorithm": detail.get("KeyAlgorithm"),
        "in_use_by": detail.get("InUseBy", []),
        "tags": detail.get("Tags", {}),
    }


def reusable_found(certificates: list[dict], names, tags: dict, key_algorithm: str | None) -> dict:
    """Of community.aws.acm_certificate_info's `certificates` (snake_cased), the one
    webstack.aws.acm_certificate would reuse for exactly `names` with the identity tags of `tags` and
    `key_algorithm`: {"certificate": summary, "validation_records": [...]}, both empty for none."""
    candidates = []
    for certificate in certificates:
        found_tags = certificate.get("tags") or {}
        detail = snake_dict_to_camel_dict({k: v for k, v in certificate.items() if k != "tags"}, capitalize_first=True)
        if key_algorithm and detail.get("KeyAlgorithm", key_algorithm) != key_algorithm:
            continue
        if is_reusable(detail, found_tags, names, identity_tags(tags)):
            candidates.append({**detail, "Tags": found_tags})
    chosen = pick_reusable(candidates)
    return {"certificate": summary(chosen), "validation_records": (validation_records(chosen) or []) if chosen else []}


def validation_records(detail: dict) -> list[dict] | None:
    """The DNS validation CNAMEs of a certificate, once each (several names, and the same name in
    two regions, share one record). None while ACM has not published all of them yet."""
    records: list[dict] = []
    seen: dict[str, str] = {}
    for option in detail.get("DomainValidationOptions") or []:
        if option.get("ValidationMethod", "DNS") != "DNS":
            continue
        record = option.get("ResourceRecord")
        if not record:
            return None
        name, value = normalize_name(record["Name"]) + ".", record["Value"]
        if seen.get(name) == value:
            continue
        seen[name] = value
        records.append({"name": name, "type": record.get("Type", "CNAME"), "value": value})
    return records


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
    for summary in list_certificates(client, None) if wanted else []:
        arn = summary["CertificateArn"]
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
    for summary in list_certificates(client, key_algorithm, any_status):
        if domain and normalize_name(summary.get("DomainName", "")) != domain:
            continue
        detail = describe_certificate(client, summary["CertificateArn"])
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
