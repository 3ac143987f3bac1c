# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: cloudfront_status_codes
short_description: The HTTP status codes a CloudFront custom error response may use
version_added: 0.1.0
description:
  - The error codes CloudFront lets a distribution customise (C(error)), or the status codes a
    custom error response may answer with (C(response)). The cdn role checks its settings against
    them before any AWS call; the cloudfront_spa_error_pages module checks the same list.
options:
  _terms:
    description: C(error) or C(response).
    required: true
    type: list
    elements: str
author:
  - webstack maintainers
"""

EXAMPLES = r"""
- name: Check the error codes before any AWS call
  ansible.builtin.assert:
    that: >-
      cdn_error_codes | difference(lookup('webstack.aws.cloudfront_status_codes', 'error', wantlist=true))
      | length == 0
"""

RETURN = r"""
_raw:
  description: The codes, ascending.
  type: list
  elements: int
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
from ansible.errors import AnsibleError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils.aws_names import (  # noqa: E402
    SUPPORTED_ERROR_CODES,
    SUPPORTED_RESPONSE_CODES,
)

CODES = {"error": SUPPORTED_ERROR_CODES, "response": SUPPORTED_RESPONSE_CODES}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if len(terms) != 1 or terms[0] not in CODES:
            raise AnsibleError(f"cloudfront_status_codes takes one term, error or response (got {terms})")
        return list(CODES[terms[0]])
