# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: cloudfront_hosted_zone_id
short_description: CloudFront's Route 53 alias hosted zone id
version_added: 0.1.0
description:
  - The hosted zone id every Route 53 alias record to a CloudFront distribution names, the same for
    every distribution and account. Roles read it here where no module has handed it back (a
    distribution that is gone or not found, records being removed).
author:
  - webstack maintainers
"""

EXAMPLES = r"""
- name: Select the alias records that point at CloudFront
  ansible.builtin.set_fact:
    cloudfront_records: >-
      {{ records | selectattr('AliasTarget.HostedZoneId', '==', lookup('webstack.aws.cloudfront_hosted_zone_id')) }}
"""

RETURN = r"""
_raw:
  description: The zone id, once.
  type: list
  elements: str
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
from ansible.plugins.lookup import LookupBase  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils.aws_names import CLOUDFRONT_HOSTED_ZONE_ID  # noqa: E402


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [CLOUDFRONT_HOSTED_ZONE_ID]
