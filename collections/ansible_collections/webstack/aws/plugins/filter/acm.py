"""Certificate checks for playbooks and roles: regions of ACM ARNs and names covered by a certificate.

certificate_cloudfront_arn | webstack.aws.acm_arn_problem('cloudfront')   -> '' or why not
certificate_cloudfront_arn | webstack.aws.acm_arn_region                  -> 'us-east-1'
['example.com', 'www.example.com'] | webstack.aws.acm_uncovered(cert_names) -> names not covered
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.webstack.aws.plugins.module_utils.aws_names import (
    arn_region,
    certificate_arn_problem,
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


class FilterModule:
    def filters(self):
        return {
            "acm_arn_region": acm_arn_region,
            "acm_arn_problem": acm_arn_problem,
            "acm_uncovered": acm_uncovered,
        }
