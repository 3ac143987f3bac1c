"""Certificate checks for playbooks and roles: regions of ACM ARNs and names covered by a certificate.

certificate_cloudfront_arn | webstack.aws.acm_arn_problem('cloudfront')   -> '' or why not
certificate_cloudfront_arn | webstack.aws.acm_arn_region                  -> 'us-east-1'
['example.com', 'www.example.com'] | webstack.aws.acm_uncovered(cert_names) -> names not covered
'cloudfront' | webstack.aws.acm_certificate_region(certificate_region)     -> 'us-east-1'
lookup.results | webstack.aws.acm_reusable(tags, key_algorithm)
    -> per result of community.aws.acm_certificate_info looped over {purpose, names} items: the
       certificate webstack.aws.acm_certificate would reuse, in its return shape
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.webstack.aws.plugins.module_utils.acm_reuse import reusable_found
from ansible_collections.webstack.aws.plugins.module_utils.aws_names import (
    arn_region,
    certificate_arn_problem,
    certificate_region,
    uncovered_names,
)


def acm_arn_region(arn: str) -> str:
    try:
        return arn_region(arn)
    except ValueError as exc:
        raise AnsibleFilterError(f"acm_arn_region: {exc}") from exc


def acm_arn_problem(arn: str, purpose: str = "cloudfront", region: str | None = None) -> str:
    return certificate_arn_problem(arn, purpose, region) or ""


def acm_uncovered(names, certificate_names) -> list[str]:
    if isinstance(names, str):
        names = [names]
    return uncovered_names(names, certificate_names)


def acm_certificate_region(purpose: str, region: str | None = None) -> str:
    try:
        return certificate_region(purpose, region)
    except ValueError as exc:
        raise AnsibleFilterError(f"acm_certificate_region: {exc}") from exc


def _plain(value):
    """Ansible's lazy templated containers as the dicts and lists module_utils code rebuilds."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def acm_reusable(results: list[dict], tags: dict, key_algorithm: str | None = None) -> list[dict]:
    """Each looped acm_certificate_info result as {item, certificate, validation_records}."""
    found = []
    for result in _plain(results):
        item = result["item"]
        wanted = {**tags, "Purpose": item["purpose"]}
        chosen = reusable_found(result.get("certificates", []), item["names"], wanted, key_algorithm)
        found.append({"item": item, **chosen})
    return found


class FilterModule:
    def filters(self):
        return {
            "acm_arn_region": acm_arn_region,
            "acm_arn_problem": acm_arn_problem,
            "acm_uncovered": acm_uncovered,
            "acm_certificate_region": acm_certificate_region,
            "acm_reusable": acm_reusable,
        }
