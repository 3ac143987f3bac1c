#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudfront_spa_error_pages
short_description: Make a CloudFront distribution answer error codes with a single-page app's page
version_added: 0.1.0
description:
  - Makes a distribution answer the given error codes (by default 403 and 404, which a private S3
    origin returns for a deep link like C(/users/42)) with a given page (by default C(/index.html))
    and status (by default 200), with an error-caching TTL.
  - Changes nothing else in the distribution's configuration; error responses for other codes are
    kept.
  - Reads the configuration and its ETag, compares, and calls UpdateDistribution with C(If-Match)
    only when something differs. Supports check mode and diff mode.
  - Bad input (a page path without a leading C(/), an error code CloudFront cannot customise, a
    status it cannot answer with) fails before any AWS call.
options:
  distribution_id:
    description: Id of the distribution.
    type: str
    required: true
  error_codes:
    description:
      - HTTP error codes to answer with the page.
      - CloudFront customises 400, 403, 404, 405, 414, 416, 500, 501, 502, 503 and 504.
    type: list
    elements: int
    default: [403, 404]
  response_page_path:
    description: Path of the page to answer with; must start with C(/).
    type: str
    default: /index.html
  response_code:
    description: HTTP status to answer with (200 for an SPA; or 400, 403, 404, 405, 414, 416, 500-504).
    type: int
    default: 200
  error_caching_min_ttl:
    description: Seconds CloudFront caches the error answer before asking the origin again.
    type: int
    default: 10
  state:
    description: C(present) sets these error responses, C(absent) removes the ones for O(error_codes).
    type: str
    choices: [present, absent]
    default: present
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Answer SPA deep links with index.html and 200
  webstack.aws.cloudfront_spa_error_pages:
    distribution_id: E1ABCDEF2GHIJK

- name: Answer only 404 with a custom page and status, cached for a minute
  webstack.aws.cloudfront_spa_error_pages:
    distribution_id: E1ABCDEF2GHIJK
    error_codes: [404]
    response_page_path: /404.html
    response_code: 404
    error_caching_min_ttl: 60
"""

RETURN = r"""
custom_error_responses:
  description: All the distribution's custom error responses after the task (as they would be, in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - {ErrorCode: 403, ResponsePagePath: /index.html, ResponseCode: "200", ErrorCachingMinTTL: 10}
    - {ErrorCode: 404, ResponsePagePath: /index.html, ResponseCode: "200", ErrorCachingMinTTL: 10}
etag:
  description: The distribution config's ETag after the task.
  returned: always
  type: str
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
import contextlib  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils import cloudfront as cf  # noqa: E402


def validate(params):
    """Sentences saying what is wrong with the parameters; empty when nothing is."""
    return cf.error_pages_problems(
        params["error_codes"],
        params["response_page_path"],
        params["response_code"],
        params["error_caching_min_ttl"],
    )


def converge(client, params, check_mode):
    """(changed, before, after, etag): before/after are the normalised error responses."""
    config, etag = cf.get_distribution_config(client, params["distribution_id"])
    wanted = cf.apply_error_pages(
        config,
        params["error_codes"],
        params["response_page_path"],
        params["response_code"],
        params["error_caching_min_ttl"],
        params["state"],
    )
    before, after = cf.error_pages_view(config), cf.error_pages_view(wanted)
    if before == after:
        return False, before, after, etag
    if not check_mode:
        _dist, etag = cf.update_distribution(client, params["distribution_id"], wanted, etag)
    return True, before, after, etag


def main():
    argument_spec = dict(
        distribution_id=dict(type="str", required=True),
        error_codes=dict(type="list", elements="int", default=[403, 404]),
        response_page_path=dict(type="str", default="/index.html"),
        response_code=dict(type="int", default=200),
        error_caching_min_ttl=dict(type="int", default=10),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    problems = validate(module.params)
    if problems:
        module.fail_json(msg=" ".join(problems))

    client = cf.cloudfront_client(module)
    try:
        changed, before, after, etag = converge(client, module.params, module.check_mode)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to set the error pages of distribution {module.params['distribution_id']}")

    result = {"changed": changed, "custom_error_responses": after, "etag": etag}
    if module._diff:
        result["diff"] = {"before": {"custom_error_responses": before}, "after": {"custom_error_responses": after}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
