"""Jinja tests for validating certificate and DNS input before any AWS call.

webstack_domain is webstack.aws.domain_name          -> a DNS name of two labels or more
webstack_domain is webstack.aws.in_zone('example.com') -> a name within that zone
cdn_certificate_arn is webstack.aws.acm_arn             -> an ACM certificate ARN
cdn_certificate_arn is webstack.aws.acm_arn('us-east-1') -> one in that region
"""

from __future__ import annotations

from ansible_collections.webstack.aws.plugins.module_utils.aws_names import arn_region, is_domain_name, name_in_zone


def domain_name(value, allow_wildcard: bool = False) -> bool:
    return is_domain_name(value, allow_wildcard=allow_wildcard)


def in_zone(name, zone) -> bool:
    return isinstance(name, str) and name_in_zone(name, zone)


def acm_arn(value, region: str | None = None) -> bool:
    try:
        found = arn_region(value)
    except ValueError:
        return False
    return region is None or found == region


class TestModule:
    def tests(self):
        return {"acm_arn": acm_arn, "domain_name": domain_name, "in_zone": in_zone}
