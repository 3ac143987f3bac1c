#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: route53_alias_target_info
short_description: Find the CloudFront distributions a stack tagged, as Route 53 alias targets
version_added: 0.1.0
description:
  - Lists the account's CloudFront distributions and returns those carrying every tag in O(tags),
    with what an alias record needs - the distribution's domain name and CloudFront's fixed hosted
    zone id C(Z2FDTNDATAQYW2). Changes nothing.
  - Exists because M(community.aws.cloudfront_distribution_info) returns no tags except in its
    summary mode, which also lists streaming distributions (an API moto does not serve).
options:
  tags:
    description: Tags every returned distribution carries.
    type: dict
    required: true
author:
  - webstack maintainers
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Find the stack's distribution
  webstack.aws.route53_alias_target_info:
    tags: {Project: shop, Environment: prod, ManagedBy: webstack}
  register: found
"""

RETURN = r"""
distributions:
  description: The matching distributions.
  returned: always
  type: list
  elements: dict
  contains:
    id: {description: Distribution id., type: str}
    arn: {description: Distribution ARN., type: str}
    domain_name: {description: Its C(*.cloudfront.net) name., type: str}
    hosted_zone_id: {description: Always C(Z2FDTNDATAQYW2)., type: str}
    aliases: {description: Its alternate domain names., type: list}
    status: {description: Deployed or InProgress., type: str}
    tags: {description: Its tags., type: dict}
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
import contextlib  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils import cloudfront as cf  # noqa: E402


def find(client, wanted: dict) -> list[dict]:
    # Tag values are strings on AWS; the play may hand in numbers.
    wanted = {key: str(value) for key, value in wanted.items()}
    return [
        {
            "id": dist["Id"],
            "arn": dist["ARN"],
            "domain_name": dist["DomainName"],
            "hosted_zone_id": cf.CLOUDFRONT_HOSTED_ZONE_ID,
            "aliases": (dist.get("Aliases") or {}).get("Items", []),
            "status": dist.get("Status"),
            "tags": dist["Tags"],
        }
        for dist in cf.distributions_with_tags(client, wanted)
    ]


def main():
    module = AnsibleAWSModule(argument_spec=dict(tags=dict(type="dict", required=True)), supports_check_mode=True)
    client = cf.cloudfront_client(module)
    try:
        distributions = find(client, module.params["tags"])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Could not list the CloudFront distributions")
    module.exit_json(changed=False, distributions=distributions)


if __name__ == "__main__":
    main()
