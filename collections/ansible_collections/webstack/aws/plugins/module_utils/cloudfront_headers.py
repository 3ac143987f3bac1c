# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Response headers policy helpers for webstack.aws.cloudfront_security_headers_policy.

webstack manages a policy's comment and its SecurityHeadersConfig; whatever else the policy holds
(CORS, custom or removed headers, Server-Timing) is kept as it is. Every call goes through a
client made by ``cloudfront.cloudfront_client`` (retrying) and is made with ``aws_retry=True``.
"""

from __future__ import annotations

import copy

FRAME_OPTIONS = ("DENY", "SAMEORIGIN")
REFERRER_POLICIES = (
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
)
# CloudFront's limit on a Content-Security-Policy value.
CSP_MAX = 1783
# Browsers require at least a year of HSTS for the preload list.
PRELOAD_MIN_AGE = 31536000


def problems_of(hsts_max_age, hsts_preload, hsts_include_subdomains, frame_options, referrer_policy, csp):
    problems = []
    if hsts_max_age < 0:
        problems.append(f"hsts_max_age {hsts_max_age} must be 0 or more seconds.")
    if hsts_preload and (hsts_max_age < PRELOAD_MIN_AGE or not hsts_include_subdomains):
        problems.append(
            f"hsts_preload needs hsts_max_age of at least {PRELOAD_MIN_AGE} and hsts_include_subdomains "
            "(the browsers' preload list requires both)."
        )
    if frame_options and frame_options not in FRAME_OPTIONS:
        problems.append(f"frame_options {frame_options!r} must be one of {list(FRAME_OPTIONS)} or empty.")
    if referrer_policy and referrer_policy not in REFERRER_POLICIES:
        problems.append(f"referrer_policy {referrer_policy!r} must be one of {list(REFERRER_POLICIES)} or empty.")
    if len(csp) > CSP_MAX:
        problems.append(f"content_security_policy is {len(csp)} characters; CloudFront takes at most {CSP_MAX}.")
    return problems


def security_headers_config(
    hsts_max_age, hsts_include_subdomains, hsts_preload, content_type_options, frame_options, referrer_policy, csp
):
    """A SecurityHeadersConfig; each header overrides what the origin sends."""
    config = {
        "StrictTransportSecurity": {
            "Override": True,
            "AccessControlMaxAgeSec": int(hsts_max_age),
            "IncludeSubdomains": bool(hsts_include_subdomains),
            "Preload": bool(hsts_preload),
        }
    }
    if content_type_options:
        config["ContentTypeOptions"] = {"Override": True}
    if frame_options:
        config["FrameOptions"] = {"Override": True, "FrameOption": frame_options}
    if referrer_policy:
        config["ReferrerPolicy"] = {"Override": True, "ReferrerPolicy": referrer_policy}
    if csp:
        config["ContentSecurityPolicy"] = {"Override": True, "ContentSecurityPolicy": csp}
    return config


def merge(current, name, comment, security):
    """``current`` (a ResponseHeadersPolicyConfig, or None) with webstack's parts laid over it."""
    merged = copy.deepcopy(current or {})
    merged.update(Name=name, Comment=comment, SecurityHeadersConfig=copy.deepcopy(security))
    return merged


def view(config):
    """The parts webstack manages, in a canonical form, for comparison and diffs."""
    if not config:
        return {}
    return {
        "name": config.get("Name"),
        "comment": config.get("Comment") or "",
        "security_headers": config.get("SecurityHeadersConfig") or {},
    }


def find(client, name):
    """The Id of the custom policy named ``name``, or None. Names are unique per account."""
    marker = None
    while True:
        kwargs = {"Marker": marker} if marker else {}
        page = client.list_response_headers_policies(Type="custom", aws_retry=True, **kwargs)
        listing = page["ResponseHeadersPolicyList"]
        for entry in listing.get("Items") or []:
            policy = entry["ResponseHeadersPolicy"]
            if policy["ResponseHeadersPolicyConfig"].get("Name") == name:
                return policy["Id"]
        marker = listing.get("NextMarker")
        if not marker:
            return None


def get_config(client, policy_id):
    response = client.get_response_headers_policy_config(Id=policy_id, aws_retry=True)
    return response["ResponseHeadersPolicyConfig"], response["ETag"]


def create(client, config):
    return client.create_response_headers_policy(ResponseHeadersPolicyConfig=config, aws_retry=True)[
        "ResponseHeadersPolicy"
    ]["Id"]


def update(client, policy_id, etag, config):
    client.update_response_headers_policy(
        Id=policy_id, IfMatch=etag, ResponseHeadersPolicyConfig=config, aws_retry=True
    )


def delete(client, policy_id, etag):
    client.delete_response_headers_policy(Id=policy_id, IfMatch=etag, aws_retry=True)
