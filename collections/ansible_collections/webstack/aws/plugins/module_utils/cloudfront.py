# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudFront helpers shared by webstack.aws's cloudfront_* modules, spa_release and stack_checks.

Every AWS call is a small function over a client wrapped with ``AWSRetry.jittered_backoff()`` and
called with ``aws_retry=True``. The rest is pure data work (building, merging and normalising
DistributionConfig documents) so it can be unit-tested without a server.
"""

from __future__ import annotations

import copy

try:
    import botocore
except ImportError:  # handled by AnsibleAWSModule
    botocore = None

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper

from ansible_collections.webstack.aws.plugins.module_utils.aws_names import (  # noqa: F401 -- re-exported
    CLOUDFRONT_HOSTED_ZONE_ID,
    CLOUDFRONT_REGION,
    SUPPORTED_ERROR_CODES,
    SUPPORTED_RESPONSE_CODES,
    arn_region,
    carries_tags,
)

# Managed policies (same ids in every account).
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SECURITY_HEADERS_POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"

# Origins carry exactly one of these.
_ORIGIN_TYPE_KEYS = ("S3OriginConfig", "CustomOriginConfig", "VpcOriginConfig")
# Legacy cache settings: AWS refuses them together with a cache policy and omits them when one is set.
_LEGACY_CACHE_KEYS = ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL")
# Deprecated ViewerCertificate fields some endpoints still echo back.
_DEPRECATED_CERT_KEYS = ("Certificate", "CertificateSource")


def retrying(client):
    """amazon.aws's retrying wrapper around a plain boto3 client (module clients already have it), so
    that callers outside a module (runner.py, stack_checks) can use the helpers here."""
    if client is None or isinstance(client, RetryingBotoClientWrapper):
        return client
    return RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff())


def cloudfront_client(module):
    """A retrying CloudFront client. CloudFront is global and its API lives in us-east-1, so the
    client ignores the play's region."""
    return module.client("cloudfront", retry_decorator=AWSRetry.jittered_backoff(), region="us-east-1")


# -- validation (no AWS call) ---------------------------------------------------------------------
def certificate_region_problem(arn):
    """None when ``arn`` is an ACM certificate ARN in us-east-1, else a sentence saying why not."""
    if not arn:
        return None
    try:
        region = arn_region(arn)
    except ValueError:
        return (
            f"acm_certificate_arn {arn!r} is not an ACM certificate ARN "
            "(arn:aws:acm:us-east-1:<account>:certificate/<id>)."
        )
    if region != CLOUDFRONT_REGION:
        return (
            f"acm_certificate_arn {arn!r} is in {region}: CloudFront only uses ACM certificates "
            "issued in us-east-1 (N. Virginia), whatever region the rest of the stack runs in. Request or import "
            "the certificate in us-east-1 and pass that ARN."
        )
    return None


def error_pages_problems(error_codes, response_page_path, response_code, error_caching_min_ttl):
    """Sentences describing what is wrong with an SPA error-page request (empty when nothing is)."""
    problems = []
    if not error_codes:
        problems.append("error_codes must list at least one HTTP error code.")
    unsupported = sorted({code for code in error_codes if code not in SUPPORTED_ERROR_CODES})
    if unsupported:
        problems.append(
            f"error_codes {unsupported} cannot be customised; CloudFront supports {list(SUPPORTED_ERROR_CODES)}."
        )
    if not response_page_path or not response_page_path.startswith("/"):
        problems.append(f"response_page_path {response_page_path!r} must start with '/', like /index.html.")
    if response_code not in SUPPORTED_RESPONSE_CODES:
        problems.append(
            f"response_code {response_code} is not a status CloudFront can answer with; use one of "
            f"{list(SUPPORTED_RESPONSE_CODES)}."
        )
    if error_caching_min_ttl < 0:
        problems.append(f"error_caching_min_ttl {error_caching_min_ttl} must be 0 or more seconds.")
    return problems


# -- generic list helpers ---------------------------------------------------------------------------
def items(container):
    """The Items of a CloudFront {Quantity, Items} container (absent, None or empty -> [])."""
    return list((container or {}).get("Items") or [])


def quantity_list(values):
    values = list(values)
    result = {"Quantity": len(values)}
    if values:
        result["Items"] = values
    return result


# -- origin access control ------------------------------------------------------------------------
def list_origin_access_controls(client):
    found, marker = [], None
    while True:
        kwargs = {"Marker": marker} if marker else {}
        page = client.list_origin_access_controls(aws_retry=True, **kwargs)["OriginAccessControlList"]
        found.extend(page.get("Items") or [])
        marker = page.get("NextMarker")
        if not page.get("IsTruncated") or not marker:
            return found


def find_origin_access_control(client, name):
    """The summary of the OAC named ``name``, or None. Names are unique per account."""
    for summary in list_origin_access_controls(client):
        if summary.get("Name") == name:
            return summary
    return None


def get_origin_access_control(client, oac_id):
    """(config, etag) of one OAC."""
    response = client.get_origin_access_control(Id=oac_id, aws_retry=True)
    return response["OriginAccessControl"]["OriginAccessControlConfig"], response["ETag"]


def create_origin_access_control(client, config):
    response = client.create_origin_access_control(OriginAccessControlConfig=config, aws_retry=True)
    return response["OriginAccessControl"]


def update_origin_access_control(client, oac_id, config, etag):
    response = client.update_origin_access_control(
        Id=oac_id, IfMatch=etag, OriginAccessControlConfig=config, aws_retry=True
    )
    return response["OriginAccessControl"]


def delete_origin_access_control(client, oac_id, etag):
    client.delete_origin_access_control(Id=oac_id, IfMatch=etag, aws_retry=True)


def oac_config(name, description, origin_type, signing_behavior, signing_protocol):
    return {
        "Name": name,
        "Description": description,
        "SigningProtocol": signing_protocol,
        "SigningBehavior": signing_behavior,
        "OriginAccessControlOriginType": origin_type,
    }


# -- distributions --------------------------------------------------------------------------------
def list_distributions(client):
    found, marker = [], None
    while True:
        kwargs = {"Marker": marker} if marker else {}
        page = client.list_distributions(aws_retry=True, **kwargs)["DistributionList"]
        found.extend(page.get("Items") or [])
        marker = page.get("NextMarker")
        if not page.get("IsTruncated") or not marker:
            return found


def distributions_using_origin_access_control(client, oac_id):
    """ARNs of the distributions with an origin signed by this OAC."""
    return [
        summary["ARN"]
        for summary in list_distributions(client)
        if any(origin.get("OriginAccessControlId") == oac_id for origin in items(summary.get("Origins")))
    ]


def get_tags(client, arn):
    response = client.list_tags_for_resource(Resource=arn, aws_retry=True)
    return {tag["Key"]: tag.get("Value", "") for tag in items(response.get("Tags"))}


def distributions_with_tags(client, match_tags):
    """Each distribution's summary (plus its ``Tags``) that carries every tag in ``match_tags``, as
    the listing reaches it: CloudFront cannot filter by tag, so every distribution's tags are read,
    and a caller content with the first match stops reading there."""
    for summary in list_distributions(client):
        tags = get_tags(client, summary["ARN"])
        if carries_tags(tags, match_tags):
            yield dict(summary, Tags=tags)


def find_distribution_by_tags(client, match_tags):
    """The summary (plus its ``Tags``) of the one distribution carrying every tag in ``match_tags``.

    Raises ValueError when more than one matches: webstack will not guess which one it owns.
    """
    matches = list(distributions_with_tags(client, match_tags))
    if len(matches) > 1:
        ids = ", ".join(m["Id"] for m in matches)
        raise ValueError(f"{len(matches)} distributions carry the tags {match_tags}: {ids}")
    return matches[0] if matches else None


def get_distribution(client, distribution_id):
    response = client.get_distribution(Id=distribution_id, aws_retry=True)
    return response["Distribution"], response["ETag"]


def get_distribution_config(client, distribution_id):
    """(DistributionConfig, ETag): the ETag is what UpdateDistribution's If-Match needs."""
    response = client.get_distribution_config(Id=distribution_id, aws_retry=True)
    return response["DistributionConfig"], response["ETag"]


def update_distribution(client, distribution_id, config, etag):
    response = client.update_distribution(Id=distribution_id, IfMatch=etag, DistributionConfig=config, aws_retry=True)
    return response["Distribution"], response["ETag"]


def create_distribution(client, config, tags):
    tag_list = [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
    response = client.create_distribution_with_tags(
        DistributionConfigWithTags={"DistributionConfig": config, "Tags": {"Items": tag_list}}, aws_retry=True
    )
    return response["Distribution"], response["ETag"]


def delete_distribution(client, distribution_id, etag):
    client.delete_distribution(Id=distribution_id, IfMatch=etag, aws_retry=True)


def tag_distribution(client, arn, tags):
    tag_list = [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
    client.tag_resource(Resource=arn, Tags={"Items": tag_list}, aws_retry=True)


def untag_distribution(client, arn, keys):
    client.untag_resource(Resource=arn, TagKeys={"Items": sorted(keys)}, aws_retry=True)


def wait_deployed(client, distribution_id, timeout, delay=15):
    """Wait until the distribution's status is Deployed (real AWS: 3-20 min after a change)."""
    delay = max(1, min(delay, timeout))
    waiter = client.get_waiter("distribution_deployed")
    waiter.wait(Id=distribution_id, WaiterConfig={"Delay": delay, "MaxAttempts": max(1, timeout // delay)})


# -- desired configuration ------------------------------------------------------------------------
def s3_origin(origin_id, domain_name, oac_id):
    """An S3 REST origin read through an Origin Access Control (empty OAI: OAC, not legacy OAI)."""
    return {
        "Id": origin_id,
        "DomainName": domain_name,
        "OriginPath": "",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
        "OriginAccessControlId": oac_id,
    }


def viewer_certificate(acm_certificate_arn, minimum_protocol_version):
    if acm_certificate_arn:
        return {
            "CloudFrontDefaultCertificate": False,
            "ACMCertificateArn": acm_certificate_arn,
            "SSLSupportMethod": "sni-only",
            "MinimumProtocolVersion": minimum_protocol_version,
        }
    # The *.cloudfront.net certificate: AWS pins its minimum protocol at TLSv1.
    return {"CloudFrontDefaultCertificate": True, "MinimumProtocolVersion": "TLSv1"}


def custom_error_responses(error_codes, response_page_path, response_code, error_caching_min_ttl):
    return [
        {
            "ErrorCode": int(code),
            "ResponsePagePath": response_page_path,
            "ResponseCode": str(response_code),
            "ErrorCachingMinTTL": int(error_caching_min_ttl),
        }
        for code in sorted(set(error_codes))
    ]


def desired_distribution_parts(spec):
    """The parts of a DistributionConfig webstack manages, from the module's compact spec.

    ``spec`` keys: comment, enabled, origin_id, origin_domain_name, origin_access_control_id,
    default_root_object, viewer_protocol_policy, cache_policy_id, response_headers_policy_id,
    compress, http_version, ipv6_enabled, price_class, aliases, acm_certificate_arn,
    minimum_protocol_version, function_associations ([{"EventType", "FunctionARN"}]),
    custom_error_responses (None = leave alone).
    """
    parts = {
        "Comment": spec["comment"],
        "Enabled": spec["enabled"],
        "DefaultRootObject": spec["default_root_object"],
        "Aliases": quantity_list(sorted(spec["aliases"])),
        "Origins": [s3_origin(spec["origin_id"], spec["origin_domain_name"], spec["origin_access_control_id"])],
        "DefaultCacheBehavior": {
            "TargetOriginId": spec["origin_id"],
            "ViewerProtocolPolicy": spec["viewer_protocol_policy"],
            "Compress": spec["compress"],
            "CachePolicyId": spec["cache_policy_id"],
            "ResponseHeadersPolicyId": spec["response_headers_policy_id"],
            "FunctionAssociations": quantity_list(
                sorted(spec.get("function_associations") or [], key=lambda a: a["EventType"])
            ),
            "AllowedMethods": {
                "Quantity": 2,
                "Items": ["GET", "HEAD"],
                "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
            },
        },
        "HttpVersion": spec["http_version"],
        "IsIPV6Enabled": spec["ipv6_enabled"],
        "PriceClass": spec["price_class"],
        "ViewerCertificate": viewer_certificate(spec["acm_certificate_arn"], spec["minimum_protocol_version"]),
    }
    if spec.get("custom_error_responses") is not None:
        parts["CustomErrorResponses"] = quantity_list(spec["custom_error_responses"])
    return parts


def new_distribution_config(caller_reference, parts):
    """A complete DistributionConfig for CreateDistribution."""
    config = {
        "CallerReference": caller_reference,
        "Aliases": {"Quantity": 0},
        "CustomErrorResponses": {"Quantity": 0},
        "CacheBehaviors": {"Quantity": 0},
        "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
    }
    return merge_distribution_config(config, parts)


def merge_distribution_config(current, parts):
    """``current`` with webstack's ``parts`` laid over it; whatever webstack does not manage is kept.

    The one origin webstack manages replaces the origin list (keeping unmanaged keys of the origin
    with the same Id, such as ConnectionAttempts); the default cache behaviour keeps unmanaged keys
    too, except the legacy cache settings AWS refuses next to a cache policy.
    """
    merged = copy.deepcopy(current)
    for key, value in parts.items():
        if key == "Origins":
            existing = {origin.get("Id"): origin for origin in items(merged.get("Origins"))}
            origins = []
            for wanted in value:
                origin = copy.deepcopy(existing.get(wanted["Id"], {}))
                for other in _ORIGIN_TYPE_KEYS:
                    origin.pop(other, None)
                origin.update(copy.deepcopy(wanted))
                origins.append(origin)
            merged["Origins"] = quantity_list(origins)
        elif key == "DefaultCacheBehavior":
            behavior = copy.deepcopy(merged.get("DefaultCacheBehavior") or {})
            behavior.update(copy.deepcopy(value))
            if behavior.get("CachePolicyId"):
                for legacy in _LEGACY_CACHE_KEYS:
                    behavior.pop(legacy, None)
            merged["DefaultCacheBehavior"] = behavior
        else:
            merged[key] = copy.deepcopy(value)
    if merged.get("ViewerCertificate"):
        for deprecated in _DEPRECATED_CERT_KEYS:
            merged["ViewerCertificate"].pop(deprecated, None)
    return merged


def normalise_distribution_config(config):
    """A canonical form of a DistributionConfig for comparison.

    Drops Quantity counters (derived from Items), treats a missing Items as empty, sorts the
    order-free lists (aliases, error responses, HTTP methods), drops the legacy cache settings next
    to a cache policy and the deprecated certificate fields, and types error responses the way the
    API does (ErrorCode int, ResponseCode str).
    """
    result = _strip_quantities(copy.deepcopy(config))
    result.pop("CallerReference", None)
    result["Aliases"] = sorted(result.get("Aliases") or [])
    result["CustomErrorResponses"] = sorted(
        (
            {
                "ErrorCode": int(entry["ErrorCode"]),
                "ResponsePagePath": entry.get("ResponsePagePath") or "",
                "ResponseCode": str(entry.get("ResponseCode") or ""),
                "ErrorCachingMinTTL": int(entry.get("ErrorCachingMinTTL") or 0),
            }
            for entry in result.get("CustomErrorResponses") or []
        ),
        key=lambda entry: entry["ErrorCode"],
    )
    behavior = result.get("DefaultCacheBehavior") or {}
    if behavior.get("CachePolicyId"):
        for legacy in _LEGACY_CACHE_KEYS:
            behavior.pop(legacy, None)
    if behavior:
        behavior["FunctionAssociations"] = sorted(
            behavior.get("FunctionAssociations") or [], key=lambda a: a.get("EventType", "")
        )
    methods = behavior.get("AllowedMethods")
    if isinstance(methods, dict):
        methods["Items"] = sorted(methods.get("Items") or [])
        methods["CachedMethods"] = sorted(methods.get("CachedMethods") or [])
    certificate = result.get("ViewerCertificate") or {}
    for deprecated in _DEPRECATED_CERT_KEYS:
        certificate.pop(deprecated, None)
    if certificate.get("CloudFrontDefaultCertificate"):
        # AWS echoes empty strings / defaults for the fields a default-certificate config leaves out.
        certificate = {"CloudFrontDefaultCertificate": True}
    else:
        certificate = {key: value for key, value in certificate.items() if value not in ("", None)}
    result["ViewerCertificate"] = certificate
    origins = result.get("Origins") or []
    result["Origins"] = sorted(origins, key=lambda origin: origin.get("Id", ""))
    return result


def _strip_quantities(value):
    if isinstance(value, dict):
        if ("Quantity" in value or set(value) == {"Items"}) and set(value) <= {
            "Quantity",
            "Items",
            "Enabled",
            "CachedMethods",
        }:
            if set(value) <= {"Quantity", "Items"}:
                return [_strip_quantities(item) for item in value.get("Items") or []]
            stripped = {key: _strip_quantities(val) for key, val in value.items() if key != "Quantity"}
            stripped["Items"] = [_strip_quantities(item) for item in value.get("Items") or []]
            return stripped
        return {key: _strip_quantities(val) for key, val in value.items()}
    if isinstance(value, list):
        return [_strip_quantities(item) for item in value]
    return value


def compare_distribution_config(current, wanted):
    """(changed, before, after) for two DistributionConfigs, each normalised."""
    before = normalise_distribution_config(current)
    after = normalise_distribution_config(wanted)
    return before != after, before, after


# -- SPA error pages ------------------------------------------------------------------------------
def apply_error_pages(config, error_codes, response_page_path, response_code, error_caching_min_ttl, state):
    """``config`` with the error responses for ``error_codes`` set (present) or removed (absent);
    every other error response and every other setting is kept as it is."""
    merged = copy.deepcopy(config)
    codes = {int(code) for code in error_codes}
    kept = [entry for entry in items(merged.get("CustomErrorResponses")) if int(entry["ErrorCode"]) not in codes]
    if state == "present":
        kept += custom_error_responses(codes, response_page_path, response_code, error_caching_min_ttl)
    merged["CustomErrorResponses"] = quantity_list(sorted(kept, key=lambda entry: int(entry["ErrorCode"])))
    return merged


def error_pages_view(config):
    """The custom error responses of a config, normalised, for results and diffs."""
    return normalise_distribution_config({"CustomErrorResponses": config.get("CustomErrorResponses")})[
        "CustomErrorResponses"
    ]
