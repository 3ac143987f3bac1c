#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudfront_distribution_spa
short_description: An idempotent CloudFront distribution in front of a private S3 bucket, for a single-page app
version_added: 0.1.0
description:
  - Creates, updates or deletes one CloudFront distribution with one S3 origin read through an
    Origin Access Control, from a compact spec.
  - Written because C(community.aws.cloudfront_distribution) reports a change on every run, has no
    check mode and cannot attach an Origin Access Control (it creates a legacy origin access
    identity instead).
  - The distribution is found by its C(Name) tag (O(name)); it is created with O(caller_reference).
  - Builds the settings it manages (origin, default cache behaviour with its function
    associations, certificate, aliases, price
    class, HTTP version, IPv6, root object, comment, enabled, and error responses when
    O(custom_error_responses) is given) on top of the current configuration, keeps everything else,
    compares the two normalised, and calls UpdateDistribution with the config's ETag as C(If-Match)
    only when they differ. Tags are compared and changed separately.
  - O(custom_error_responses) left unset leaves the distribution's error responses alone, so
    M(webstack.aws.cloudfront_spa_error_pages) can own them without the two modules fighting.
  - A certificate ARN outside us-east-1 fails before any AWS call; CloudFront only uses us-east-1
    certificates.
  - O(state=absent) disables the distribution, waits until it is deployed (on AWS typically 3 to 20
    minutes) and deletes it.
options:
  name:
    description: Name of the distribution; its C(Name) tag, and how the module finds it.
    type: str
    required: true
  caller_reference:
    description:
      - Caller reference used when creating the distribution (unique per account). Defaults to O(name)
        and the creation time, so a distribution deleted and made again never reuses one.
    type: str
  comment:
    description: The distribution's comment. Defaults to O(name).
    type: str
  state:
    description: Whether the distribution should exist.
    type: str
    choices: [present, absent]
    default: present
  enabled:
    description: Whether the distribution serves requests.
    type: bool
    default: true
  origin_domain_name:
    description:
      - The S3 bucket's regional domain name, C(<bucket>.s3.<region>.amazonaws.com).
      - Required when O(state=present).
    type: str
  origin_id:
    description: Id of the origin inside the distribution.
    type: str
    default: s3-site
  origin_access_control_id:
    description: Id of the Origin Access Control the origin uses. Required when O(state=present) outside check mode.
    type: str
    default: ""
  default_root_object:
    description: Object returned for the root URL.
    type: str
    default: index.html
  viewer_protocol_policy:
    description: How viewers may use HTTP.
    type: str
    choices: [redirect-to-https, https-only, allow-all]
    default: redirect-to-https
  cache_policy_id:
    description: Cache policy of the default behaviour. Default is the managed CachingOptimized policy.
    type: str
    default: 658327ea-f89d-4fab-a63d-7e88639e58f6
  response_headers_policy_id:
    description:
      - Response headers policy of the default behaviour. Default is the managed SecurityHeadersPolicy
        (HSTS max-age 31536000, X-Content-Type-Options nosniff, X-Frame-Options SAMEORIGIN,
        Referrer-Policy strict-origin-when-cross-origin, X-XSS-Protection). Empty string for none.
    type: str
    default: 67f7725c-6f97-4210-82d7-5512b31e9d03
  function_associations:
    description:
      - The CloudFront Functions the default cache behaviour runs; all of them (an empty list
        removes every association). Each function must be published.
    type: list
    elements: dict
    default: []
    suboptions:
      event_type:
        description: When the function runs.
        type: str
        choices: [viewer-request, viewer-response]
        required: true
      function_arn:
        description: ARN of the function (see M(webstack.aws.cloudfront_function)).
        type: str
        required: true
  compress:
    description: Whether CloudFront compresses responses.
    type: bool
    default: true
  http_version:
    description: Highest HTTP version viewers may use.
    type: str
    choices: [http1.1, http2, http3, http2and3]
    default: http2and3
  ipv6_enabled:
    description: Whether the distribution answers over IPv6.
    type: bool
    default: true
  price_class:
    description: Which edge locations serve the distribution.
    type: str
    choices: [PriceClass_100, PriceClass_200, PriceClass_All]
    default: PriceClass_100
  aliases:
    description: Alternate domain names. Need O(acm_certificate_arn).
    type: list
    elements: str
    default: []
  acm_certificate_arn:
    description:
      - ARN of an ACM certificate in us-east-1 covering O(aliases). Empty uses CloudFront's default
        C(*.cloudfront.net) certificate.
    type: str
    default: ""
  minimum_protocol_version:
    description: Minimum TLS policy for viewers when a certificate is set.
    type: str
    default: TLSv1.2_2021
  custom_error_responses:
    description:
      - All the distribution's custom error responses. Unset leaves them as they are.
    type: list
    elements: dict
    suboptions:
      error_code:
        description: HTTP error code.
        type: int
        required: true
      response_page_path:
        description: Page to answer with; starts with C(/).
        type: str
        required: true
      response_code:
        description: Status to answer with.
        type: int
        required: true
      error_caching_min_ttl:
        description: Seconds to cache the error answer.
        type: int
        default: 10
  tags:
    description: Tags of the distribution; the C(Name) tag is always O(name).
    type: dict
    default: {}
  purge_tags:
    description: Remove tags not listed in O(tags).
    type: bool
    default: true
  wait:
    description:
      - After a change, wait until the distribution is C(Deployed).
      - O(state=absent) always waits before deleting.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for C(Deployed).
    type: int
    default: 1800
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the site's distribution exists
  webstack.aws.cloudfront_distribution_spa:
    name: webstack-prod-cdn
    origin_domain_name: webstack-prod-site-123456789012.s3.ap-northeast-2.amazonaws.com
    origin_access_control_id: "{{ oac.origin_access_control.id }}"
    aliases: [example.com, www.example.com]
    acm_certificate_arn: arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666
    price_class: PriceClass_200
    tags:
      Project: webstack
      Environment: prod

- name: Remove it (disable, wait until deployed, delete)
  webstack.aws.cloudfront_distribution_spa:
    name: webstack-prod-cdn
    state: absent
"""

RETURN = r"""
distribution:
  description: The distribution after the task; empty when absent or not yet created in check mode.
  returned: always
  type: dict
  contains:
    id:
      description: Distribution id.
      type: str
    arn:
      description: Distribution ARN (what an S3 bucket policy's AWS:SourceArn condition names).
      type: str
    domain_name:
      description: The C(*.cloudfront.net) domain name.
      type: str
    hosted_zone_id:
      description: Hosted zone id for Route 53 alias records to CloudFront (always Z2FDTNDATAQYW2).
      type: str
    status:
      description: C(InProgress) or C(Deployed).
      type: str
    etag:
      description: ETag of the current configuration.
      type: str
    tags:
      description: The distribution's tags.
      type: dict
    config:
      description: The DistributionConfig as read back (or as it would be, in check mode).
      type: dict
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
import contextlib  # noqa: E402
import time  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils import cloudfront as cf  # noqa: E402


def validate(params, check_mode):
    """Sentences saying what is wrong with the parameters, found without any AWS call."""
    problems = []
    certificate_problem = cf.certificate_region_problem(params["acm_certificate_arn"])
    if certificate_problem:
        problems.append(certificate_problem)
    if params["state"] == "absent":
        return problems
    if params["aliases"] and not params["acm_certificate_arn"]:
        problems.append("aliases need acm_certificate_arn: a us-east-1 ACM certificate covering them.")
    if not params["origin_domain_name"]:
        problems.append("origin_domain_name is required: the S3 bucket's regional domain name.")
    if not params["origin_access_control_id"] and not check_mode:
        problems.append("origin_access_control_id is required: the bucket stays private and only an OAC may read it.")
    events = [association["event_type"] for association in params["function_associations"]]
    if len(events) != len(set(events)):
        problems.append(f"function_associations {events}: CloudFront runs one function per event type.")
    for entry in params["custom_error_responses"] or []:
        problems += cf.error_pages_problems(
            [entry["error_code"]], entry["response_page_path"], entry["response_code"], entry["error_caching_min_ttl"]
        )
    return problems


def spec_from(params):
    errors = params["custom_error_responses"]
    return {
        "comment": params["comment"] or params["name"],
        "enabled": params["enabled"],
        "origin_id": params["origin_id"],
        "origin_domain_name": params["origin_domain_name"],
        "origin_access_control_id": params["origin_access_control_id"],
        "default_root_object": params["default_root_object"],
        "viewer_protocol_policy": params["viewer_protocol_policy"],
        "cache_policy_id": params["cache_policy_id"],
        "response_headers_policy_id": params["response_headers_policy_id"],
        "function_associations": [
            {"EventType": a["event_type"], "FunctionARN": a["function_arn"]} for a in params["function_associations"]
        ],
        "compress": params["compress"],
        "http_version": params["http_version"],
        "ipv6_enabled": params["ipv6_enabled"],
        "price_class": params["price_class"],
        "aliases": params["aliases"],
        "acm_certificate_arn": params["acm_certificate_arn"],
        "minimum_protocol_version": params["minimum_protocol_version"],
        "custom_error_responses": None
        if errors is None
        else [
            cf.custom_error_responses(
                [e["error_code"]], e["response_page_path"], e["response_code"], e["error_caching_min_ttl"]
            )[0]
            for e in sorted(errors, key=lambda e: e["error_code"])
        ],
    }


def describe(dist, etag, tags, config):
    if not dist:
        return {}
    return {
        "id": dist.get("Id"),
        "arn": dist.get("ARN"),
        "domain_name": dist.get("DomainName"),
        "hosted_zone_id": cf.CLOUDFRONT_HOSTED_ZONE_ID,
        "status": dist.get("Status"),
        "etag": etag,
        "tags": tags,
        "config": config,
    }


def wanted_tags(params):
    return dict(params["tags"], Name=params["name"])


def find(client, name):
    return cf.find_distribution_by_tags(client, {"Name": name})


def ensure_present(module, client, found):
    params = module.params
    parts = cf.desired_distribution_parts(spec_from(params))
    tags = wanted_tags(params)
    if not found:
        reference = params["caller_reference"] or f"{params['name']}-{int(time.time())}"
        config = cf.new_distribution_config(reference, parts)
        before, after = {}, cf.normalise_distribution_config(config)
        if module.check_mode:
            return True, {"config": config, "tags": tags, "hosted_zone_id": cf.CLOUDFRONT_HOSTED_ZONE_ID}, before, after
        dist, etag = cf.create_distribution(client, config, tags)
        if params["wait"]:
            cf.wait_deployed(client, dist["Id"], params["wait_timeout"])
            dist, etag = cf.get_distribution(client, dist["Id"])
        return True, describe(dist, etag, tags, dist.get("DistributionConfig")), before, after

    dist_id = found["Id"]
    current, etag = cf.get_distribution_config(client, dist_id)
    wanted = cf.merge_distribution_config(current, parts)
    config_changed, before, after = cf.compare_distribution_config(current, wanted)

    current_tags = found.get("Tags") or {}
    set_tags = {k: v for k, v in tags.items() if current_tags.get(k) != v}
    unset_tags = [k for k in current_tags if k not in tags] if params["purge_tags"] else []
    final_tags = dict(current_tags if not params["purge_tags"] else {}, **tags)
    before["Tags"], after["Tags"] = current_tags, final_tags

    changed = config_changed or bool(set_tags) or bool(unset_tags)
    config = wanted if config_changed else current
    if changed and not module.check_mode:
        if config_changed:
            _dist, etag = cf.update_distribution(client, dist_id, wanted, etag)
        if set_tags:
            cf.tag_distribution(client, found["ARN"], set_tags)
        if unset_tags:
            cf.untag_distribution(client, found["ARN"], unset_tags)
    if changed and params["wait"] and not module.check_mode:
        cf.wait_deployed(client, dist_id, params["wait_timeout"])
    dist, _ = cf.get_distribution(client, dist_id)
    return changed, describe(dist, etag, final_tags, config), before, after


def ensure_absent(module, client, found):
    params = module.params
    if not found:
        return False, {}, {}, {}
    dist_id = found["Id"]
    config, etag = cf.get_distribution_config(client, dist_id)
    before = {"Id": dist_id, "Enabled": config.get("Enabled"), "Tags": found.get("Tags")}
    if module.check_mode:
        return True, {}, before, {}
    if config.get("Enabled"):
        config = dict(config, Enabled=False)
        _dist, etag = cf.update_distribution(client, dist_id, config, etag)
    # AWS refuses to delete a distribution until the disabled config is deployed everywhere.
    deadline = time.monotonic() + params["wait_timeout"]
    cf.wait_deployed(client, dist_id, params["wait_timeout"])
    _config, etag = cf.get_distribution_config(client, dist_id)
    while True:
        try:
            cf.delete_distribution(client, dist_id, etag)
            break
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] != "DistributionNotDisabled" or time.monotonic() > deadline:
                raise
            time.sleep(10)
            _config, etag = cf.get_distribution_config(client, dist_id)
    return True, {}, before, {}


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        caller_reference=dict(type="str"),
        comment=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        enabled=dict(type="bool", default=True),
        origin_domain_name=dict(type="str"),
        origin_id=dict(type="str", default="s3-site"),
        origin_access_control_id=dict(type="str", default=""),
        default_root_object=dict(type="str", default="index.html"),
        viewer_protocol_policy=dict(
            type="str", default="redirect-to-https", choices=["redirect-to-https", "https-only", "allow-all"]
        ),
        cache_policy_id=dict(type="str", default=cf.CACHING_OPTIMIZED_POLICY_ID),
        response_headers_policy_id=dict(type="str", default=cf.SECURITY_HEADERS_POLICY_ID),
        function_associations=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                event_type=dict(type="str", required=True, choices=["viewer-request", "viewer-response"]),
                function_arn=dict(type="str", required=True),
            ),
        ),
        compress=dict(type="bool", default=True),
        http_version=dict(type="str", default="http2and3", choices=["http1.1", "http2", "http3", "http2and3"]),
        ipv6_enabled=dict(type="bool", default=True),
        price_class=dict(
            type="str", default="PriceClass_100", choices=["PriceClass_100", "PriceClass_200", "PriceClass_All"]
        ),
        aliases=dict(type="list", elements="str", default=[]),
        acm_certificate_arn=dict(type="str", default=""),
        minimum_protocol_version=dict(type="str", default="TLSv1.2_2021"),
        custom_error_responses=dict(
            type="list",
            elements="dict",
            options=dict(
                error_code=dict(type="int", required=True),
                response_page_path=dict(type="str", required=True),
                response_code=dict(type="int", required=True),
                error_caching_min_ttl=dict(type="int", default=10),
            ),
        ),
        tags=dict(type="dict", default={}),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=1800),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    problems = validate(module.params, module.check_mode)
    if problems:
        module.fail_json(msg=" ".join(problems))

    client = cf.cloudfront_client(module)
    try:
        found = find(client, module.params["name"])
        if module.params["state"] == "present":
            changed, result, before, after = ensure_present(module, client, found)
        else:
            changed, result, before, after = ensure_absent(module, client, found)
    except ValueError as e:
        module.fail_json(msg=str(e))
    except botocore.exceptions.WaiterError as e:
        module.fail_json_aws(
            e,
            msg=f"Distribution {module.params['name']} did not reach Deployed within {module.params['wait_timeout']}s; "
            "AWS usually needs 3 to 20 minutes. Run again later or raise wait_timeout.",
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to converge the distribution {module.params['name']}")

    output = {"changed": changed, "distribution": result}
    if module._diff:
        output["diff"] = {"before": before, "after": after}
    module.exit_json(**output)


if __name__ == "__main__":
    main()
