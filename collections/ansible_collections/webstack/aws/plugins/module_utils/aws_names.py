# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names, ARNs, regions and zone ids that AWS fixes, in plain Python (no AWS SDK import).

The Jinja filters, tests and lookups read them in the worker Ansible forks for each task, where
importing botocore would cost about 0.4 s of CPU each time; module_utils/acm.py and
module_utils/cloudfront.py re-export them for the modules.
"""

from __future__ import annotations

import re

# CloudFront reads certificates from us-east-1 only, and Route 53 aliases every distribution
# through this one hosted zone.
CLOUDFRONT_REGION = "us-east-1"
CLOUDFRONT_HOSTED_ZONE_ID = "Z2FDTNDATAQYW2"
PURPOSES = ("alb", "cloudfront")
# Error codes CloudFront lets a distribution customise, and the response codes it may answer with.
SUPPORTED_ERROR_CODES = (400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504)
SUPPORTED_RESPONSE_CODES = (200, 400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504)

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)+[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])?$")
_ARN_RE = re.compile(r"^arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):certificate/[A-Za-z0-9-]+$")


# -- names ----------------------------------------------------------------------------------------
def normalize_name(name: str | None) -> str:
    """Lower case, no trailing dot: how DNS names are compared here (None: empty)."""
    return str(name or "").strip().lower().rstrip(".")


def is_domain_name(name, allow_wildcard: bool = True) -> bool:
    """A fully qualified DNS name of at least two labels (`example.com`), at most 253 characters;
    `*.example.com` too when allow_wildcard. No IP addresses, no single labels, no URLs."""
    if not isinstance(name, str) or not name.strip():
        return False
    value = normalize_name(name)
    if allow_wildcard and value.startswith("*."):
        value = value[2:]
    return len(value) <= 253 and bool(_DOMAIN_RE.match(value))


def name_covered(name: str, certificate_names) -> bool:
    """Whether a certificate issued for certificate_names is valid for the host `name`.

    Exact names match case-insensitively; a wildcard `*.example.com` covers exactly one more
    label (`www.example.com`), neither `example.com` itself nor `a.b.example.com` (RFC 6125 6.4.3,
    as browsers apply it)."""
    host = normalize_name(name)
    for cert_name in certificate_names or []:
        pattern = normalize_name(cert_name)
        if pattern == host:
            return True
        if pattern.startswith("*."):
            first, _, rest = host.partition(".")
            if first and first != "*" and rest == pattern[2:]:
                return True
    return False


def uncovered_names(names, certificate_names) -> list[str]:
    """The names (in order, once each) that no name of the certificate covers."""
    missing: list[str] = []
    for name in names or []:
        if not name_covered(name, certificate_names) and name not in missing:
            missing.append(name)
    return missing


def certificate_names(domain_name: str, subject_alternative_names=None) -> list[str]:
    """The certificate's names, domain first, each once, normalized."""
    names = [normalize_name(domain_name)]
    for san in subject_alternative_names or []:
        value = normalize_name(san)
        if value not in names:
            names.append(value)
    return names


def name_in_zone(name: str, zone: str) -> bool:
    """Whether `name` (or the base of a wildcard) is `zone` or below it: validation records for it
    can then be written into that zone."""
    host = normalize_name(name)
    if host.startswith("*."):
        host = host[2:]
    apex = normalize_name(zone)
    return host == apex or host.endswith("." + apex)


# -- regions --------------------------------------------------------------------------------------
def certificate_region(purpose: str, region: str | None) -> str:
    """Where a certificate for `purpose` must live: CloudFront reads only us-east-1, whatever region
    the rest of the stack is in; an ALB only its own region."""
    if purpose == "cloudfront":
        return CLOUDFRONT_REGION
    if purpose == "alb":
        if not region:
            raise ValueError("purpose=alb needs the load balancer's region (the module's region)")
        return region
    raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, got {purpose!r}")


def arn_region(arn: str) -> str:
    """The region of an ACM certificate ARN; ValueError when it is not one.

    The one reading of an ACM ARN in webstack: the filters, the test, the CloudFront helpers and
    the verify checks all call it. Surrounding blanks are refused, not stripped: AWS would refuse
    such an ARN later, after changes."""
    match = _ARN_RE.match(str(arn or ""))
    if not match:
        raise ValueError(f"{arn!r} is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)")
    return match.group("region")


def certificate_arn_problem(arn: str, purpose: str, region: str | None = None) -> str | None:
    """None when `arn` can be attached for `purpose` (in `region` for an ALB); else why not."""
    try:
        found = arn_region(arn)
    except ValueError as exc:
        return str(exc)
    wanted = certificate_region(purpose, region)
    if found == wanted:
        return None
    if purpose == "cloudfront":
        return (
            f"{arn} is in {found}, but CloudFront only accepts ACM certificates from {CLOUDFRONT_REGION} "
            f"(N. Virginia), whatever region the rest of the stack runs in: request or import the "
            f"certificate in {CLOUDFRONT_REGION}."
        )
    return (
        f"{arn} is in {found}, but a load balancer can only use an ACM certificate from its own region "
        f"({wanted}): request or import the certificate in {wanted}."
    )


# -- tags -----------------------------------------------------------------------------------------
def carries_tags(tags, wanted) -> bool:
    """Whether a resource's tags hold every wanted tag: how webstack knows its own resources.
    Compared as text, as AWS keeps tag values (a play's may be numbers)."""
    tags = tags or {}
    return all(key in tags and str(tags[key]) == str(value) for key, value in wanted.items())
