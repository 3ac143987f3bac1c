#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudfront_origin_access_control
short_description: Create, update or delete a CloudFront Origin Access Control
version_added: 0.1.0
description:
  - Manages a CloudFront Origin Access Control (OAC), the successor of origin access identities,
    which lets a distribution sign its requests to a private origin such as an S3 bucket.
  - The OAC is found by its name, which is unique per account; OACs cannot be tagged.
  - Compares before it writes; supports check mode and diff mode.
options:
  name:
    description: Name of the OAC (up to 64 characters); how the module finds it.
    type: str
    required: true
  description:
    description: Description of the OAC.
    type: str
    default: ""
  origin_type:
    description: The kind of origin the OAC signs requests to.
    type: str
    choices: [s3, mediastore, lambda, mediapackagev2]
    default: s3
  signing_behavior:
    description: C(always) signs every origin request (what a private S3 bucket needs).
    type: str
    choices: [always, never, no-override]
    default: always
  signing_protocol:
    description: The signing protocol; AWS knows only sigv4.
    type: str
    choices: [sigv4]
    default: sigv4
  state:
    description: Whether the OAC should exist. Deleting an OAC a distribution still uses fails on AWS.
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
- name: Ensure the site's origin access control exists
  webstack.aws.cloudfront_origin_access_control:
    name: webstack-prod-site
    description: CloudFront reads the webstack-prod site bucket
  register: oac

- name: Remove it once no distribution uses it
  webstack.aws.cloudfront_origin_access_control:
    name: webstack-prod-site
    state: absent
"""

RETURN = r"""
origin_access_control:
  description: The OAC as it is (or would be, in check mode) after the task; empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The OAC id, to put in an origin's OriginAccessControlId. Missing in check mode before creation.
      type: str
      sample: E2QWRUHAPOMQZL
    name:
      description: Name of the OAC.
      type: str
    description:
      description: Description of the OAC.
      type: str
    origin_type:
      description: Origin type.
      type: str
      sample: s3
    signing_behavior:
      description: Signing behaviour.
      type: str
      sample: always
    signing_protocol:
      description: Signing protocol.
      type: str
      sample: sigv4
in_use_by:
  description:
    - When an absent OAC is still in use (CloudFront frees it some minutes after its distribution
      is deleted), the distributions that hold it; retry the task until this is empty.
  returned: failure
  type: list
  elements: str
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
import contextlib  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils import cloudfront as cf  # noqa: E402


def view(oac_id, config):
    if not config:
        return {}
    result = {
        "name": config.get("Name"),
        "description": config.get("Description") or "",
        "origin_type": config.get("OriginAccessControlOriginType"),
        "signing_behavior": config.get("SigningBehavior"),
        "signing_protocol": config.get("SigningProtocol"),
    }
    if oac_id:
        result["id"] = oac_id
    return result


def ensure(module, client):
    params = module.params
    wanted = cf.oac_config(
        params["name"],
        params["description"],
        params["origin_type"],
        params["signing_behavior"],
        params["signing_protocol"],
    )
    summary = cf.find_origin_access_control(client, params["name"])
    current, etag, oac_id = None, None, None
    if summary:
        oac_id = summary["Id"]
        current, etag = cf.get_origin_access_control(client, oac_id)

    if params["state"] == "absent":
        if not summary:
            return False, {}, {}, {}
        if not module.check_mode:
            try:
                cf.delete_origin_access_control(client, oac_id, etag)
            except is_boto3_error_code("OriginAccessControlInUse"):
                holders = cf.distributions_using_origin_access_control(client, oac_id)
                module.fail_json(
                    msg=f"origin access control {params['name']} ({oac_id}) is still in use by "
                    + (", ".join(holders) if holders else "a distribution deleted moments ago")
                    + ": CloudFront releases it some minutes after the distribution is deleted",
                    in_use_by=holders or ["a deleted distribution"],
                )
        return True, view(oac_id, current), {}, {}

    before = view(oac_id, current)
    after = view(oac_id, wanted)
    if before == after:
        return False, before, before, after
    if module.check_mode:
        return True, before, after, after
    if summary:
        created = cf.update_origin_access_control(client, oac_id, wanted, etag)
    else:
        created = cf.create_origin_access_control(client, wanted)
    result = view(created["Id"], created["OriginAccessControlConfig"])
    return True, before, result, result


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        description=dict(type="str", default=""),
        origin_type=dict(type="str", default="s3", choices=["s3", "mediastore", "lambda", "mediapackagev2"]),
        signing_behavior=dict(type="str", default="always", choices=["always", "never", "no-override"]),
        signing_protocol=dict(type="str", default="sigv4", choices=["sigv4"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    if not 1 <= len(module.params["name"]) <= 64:
        module.fail_json(msg=f"name {module.params['name']!r} must be 1 to 64 characters long.")

    client = cf.cloudfront_client(module)
    try:
        changed, before, result, after = ensure(module, client)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to converge the origin access control {module.params['name']}")

    output = {"changed": changed, "origin_access_control": result}
    if module._diff:
        output["diff"] = {"before": before, "after": after}
    module.exit_json(**output)


if __name__ == "__main__":
    main()
