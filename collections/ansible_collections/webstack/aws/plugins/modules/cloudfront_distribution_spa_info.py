#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudfront_distribution_spa_info
short_description: Find a webstack CloudFront distribution, OAC, function and headers policy by name, read-only
version_added: 0.1.0
description:
  - Finds the distribution whose C(Name) tag is O(name) (as M(webstack.aws.cloudfront_distribution_spa)
    tags it) and, when their names are given, the Origin Access Control, the CloudFront Function and
    the custom response headers policy of those names, with their tags or comments, so that the
    caller can tell its own from someone else's before changing anything. Changes nothing.
options:
  name:
    description: The distribution's C(Name) tag.
    type: str
    required: true
  origin_access_control_name:
    description: Name of an Origin Access Control to look up as well.
    type: str
  function_name:
    description: Name of a CloudFront Function to look up as well.
    type: str
  response_headers_policy_name:
    description: Name of a custom response headers policy to look up as well.
    type: str
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Find the site's distribution
  webstack.aws.cloudfront_distribution_spa_info:
    name: webstack-prod-cdn
    origin_access_control_name: webstack-prod-site
  register: cdn
"""

RETURN = r"""
distribution:
  description: The distribution, empty when none carries the Name tag.
  returned: always
  type: dict
  contains:
    id:
      description: Distribution id.
      type: str
    arn:
      description: Distribution ARN.
      type: str
    domain_name:
      description: The C(*.cloudfront.net) domain name.
      type: str
    hosted_zone_id:
      description: Always Z2FDTNDATAQYW2.
      type: str
    aliases:
      description: The alternate domain names it answers for, in its configuration's order.
      type: list
      elements: str
    status:
      description: C(InProgress) or C(Deployed).
      type: str
    enabled:
      description: Whether it serves requests.
      type: bool
    tags:
      description: Its tags.
      type: dict
origin_access_control:
  description: The OAC (id, name, description), empty when not asked for or not found.
  returned: always
  type: dict
function:
  description: The function (name, arn, comment), empty when not asked for or not found.
  returned: always
  type: dict
response_headers_policy:
  description: The custom policy (id, name, comment), empty when not asked for or not found.
  returned: always
  type: dict
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
import contextlib  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils import cloudfront as cf  # noqa: E402
from ansible_collections.webstack.aws.plugins.module_utils import cloudfront_function as cff  # noqa: E402
from ansible_collections.webstack.aws.plugins.module_utils import cloudfront_headers as headers  # noqa: E402


def function_of(client, name):
    summary, _etag = cff.describe(client, name, "DEVELOPMENT")
    if not summary:
        return {}
    return {
        "name": name,
        "arn": (summary.get("FunctionMetadata") or {}).get("FunctionARN"),
        "comment": (summary.get("FunctionConfig") or {}).get("Comment") or "",
    }


def response_headers_policy_of(client, name):
    policy_id = headers.find(client, name)
    if not policy_id:
        return {}
    config, _etag = headers.get_config(client, policy_id)
    return {"id": policy_id, "name": name, "comment": config.get("Comment") or ""}


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        origin_access_control_name=dict(type="str"),
        function_name=dict(type="str"),
        response_headers_policy_name=dict(type="str"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = cf.cloudfront_client(module)
    params = module.params
    distribution, oac, function, policy = {}, {}, {}, {}
    try:
        found = cf.find_distribution_by_tags(client, {"Name": params["name"]})
        if found:
            distribution = {
                "id": found["Id"],
                "arn": found["ARN"],
                "domain_name": found["DomainName"],
                "hosted_zone_id": cf.CLOUDFRONT_HOSTED_ZONE_ID,
                "aliases": (found.get("Aliases") or {}).get("Items") or [],
                "status": found.get("Status"),
                "enabled": found.get("Enabled"),
                "tags": found.get("Tags") or {},
            }
        if params["origin_access_control_name"]:
            summary = cf.find_origin_access_control(client, params["origin_access_control_name"])
            if summary:
                oac = {"id": summary["Id"], "name": summary["Name"], "description": summary.get("Description") or ""}
        if params["function_name"]:
            function = function_of(client, params["function_name"])
        if params["response_headers_policy_name"]:
            policy = response_headers_policy_of(client, params["response_headers_policy_name"])
    except ValueError as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to look up the distribution {params['name']}")
    module.exit_json(
        changed=False,
        distribution=distribution,
        origin_access_control=oac,
        function=function,
        response_headers_policy=policy,
    )


if __name__ == "__main__":
    main()
