# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which ACM certificate is the stack's to reuse, judged from descriptions alone. Nothing here
imports boto3 or botocore: the controller loads every webstack filter at the start of each job
(webstack.aws.acm_reusable among them), and the AWS SDK would cost each job a third of a CPU-second
there. module_utils/acm.py re-exports it for webstack.aws.acm_certificate, beside the ACM calls.
"""

from __future__ import annotations

from datetime import datetime

from ansible.module_utils.common.dict_transformations import snake_dict_to_camel_dict

from ansible_collections.webstack.aws.plugins.module_utils.aws_names import (
    arn_region,
    certificate_names,
    normalize_name,
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
