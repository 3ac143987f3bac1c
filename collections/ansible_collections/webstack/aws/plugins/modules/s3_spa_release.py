#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_spa_release
short_description: Publish a single-page-app build to S3 atomically, or roll back to an earlier release
version_added: 1.0.0
description:
  - Uploads the files of a build directory (the output of C(npm run build)) that differ from what the
    bucket holds, with their content type and a cache policy by kind, then makes the build the live
    release in one final step and invalidates only the CloudFront paths whose content changed.
  - "Content-hashed files (C(assets/index-3f2a9c1b.js)) are uploaded first to their final keys with
    C(Cache-Control: public, max-age=31536000, immutable). Unhashed files (C(index.html),
    C(favicon.ico), ...) get C(Cache-Control: no-cache); they are staged under
    C(_webstack/releases/<id>/) and copied server-side to the bucket root when the release goes live,
    C(index.html) last."
  - The release id is a hash of the build's content, so publishing the same build again changes
    nothing and invalidates nothing.
  - The hashed assets of the last O(keep_releases) releases (and always the live and the previous
    one) are kept, so open browser tabs keep working; older ones are deleted.
  - O(state=rolled_back) makes an earlier release live again by server-side copies, uploading nothing.
  - The release manifest is C(_webstack/releases.json); it is written with an S3 conditional write,
    so two concurrent publishes cannot both win.
author:
  - webstack maintainers
options:
  bucket:
    description: Name of the bucket (the static_site role's C(static_site_bucket_name)).
    type: str
    required: true
  state:
    description:
      - V(published) makes the build in O(build_dir) the live release.
      - V(rolled_back) makes O(release), or the release live before the current one, live again.
    type: str
    choices: [published, rolled_back]
    default: published
  build_dir:
    description: Directory holding the build, with C(index.html) at its top. Required when O(state=published).
    type: path
  release:
    description: Release id to roll back to; default the one that was live before the current one.
    type: str
  distribution_id:
    description: CloudFront distribution to invalidate; no invalidation when not given.
    type: str
  keep_releases:
    description: How many of the newest releases keep their files (the live and previous one always do).
    type: int
    default: 3
  wait:
    description: Wait until the invalidation has completed.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for the invalidation when O(wait=true).
    type: int
    default: 900
  hashed_pattern:
    description:
      - Regular expression (searched in the path relative to O(build_dir)) that marks content-hashed
        files. The default recognises webpack, Create React App, Angular, Rollup and Vite names such
        as C(index-3f2a9c1b.js), C(main.3f2a9c1b.chunk.js), C(index-BwFpoe2z.js).
    type: str
  max_invalidation_paths:
    description: More changed paths than this are invalidated as one C(/*).
    type: int
    default: 15
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Publish the SPA build
  webstack.aws.s3_spa_release:
    bucket: webstack-prod-site-123456789012
    build_dir: "{{ playbook_dir }}/../web/dist"
    distribution_id: E2QWRUHEXAMPLE
    keep_releases: 5

- name: Roll back to the release live before the current one
  webstack.aws.s3_spa_release:
    bucket: webstack-prod-site-123456789012
    state: rolled_back
    distribution_id: E2QWRUHEXAMPLE
"""

RETURN = r"""
release:
  description: Id of the release that is live afterwards (in check mode, would be).
  returned: always
  type: str
  sample: a807669b8082250b
live_before:
  description: Id of the release that was live when the task started (null for the first publish).
  returned: always
  type: str
previous_release:
  description: Id of the release a rollback without O(release) would go back to.
  returned: always
  type: str
uploaded:
  description: Keys uploaded from the build directory.
  returned: always
  type: list
  elements: str
staged_by_copy:
  description: Staged keys made by server-side copy of identical content already in the bucket.
  returned: always
  type: list
  elements: str
went_live:
  description: Root keys replaced by the release's staged files (server-side copies).
  returned: always
  type: list
  elements: str
removed:
  description: Root keys of the previous live release that the new one does not have.
  returned: always
  type: list
  elements: str
pruned_releases:
  description: Releases dropped beyond O(keep_releases).
  returned: always
  type: list
  elements: str
deleted:
  description: Keys only the pruned releases used.
  returned: always
  type: list
  elements: str
invalidation:
  description: The CloudFront invalidation made (paths, id, status), or null when nothing changed.
  returned: always
  type: dict
releases:
  description: The kept releases, newest first, with C(id), C(created), C(published), C(files) and C(live).
  returned: always
  type: list
  elements: dict
"""

# Imports follow the documentation, as ansible-test's validate-modules expects.
import contextlib  # noqa: E402

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry  # noqa: E402

from ansible_collections.webstack.aws.plugins.module_utils.spa_release import (  # noqa: E402
    CLIENT_CONFIG,
    ReleaseError,
    publish,
    rollback,
)


def main():
    argument_spec = dict(
        bucket=dict(type="str", required=True),
        state=dict(type="str", choices=["published", "rolled_back"], default="published"),
        build_dir=dict(type="path"),
        release=dict(type="str"),
        distribution_id=dict(type="str"),
        keep_releases=dict(type="int", default=3),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=900),
        hashed_pattern=dict(type="str"),
        max_invalidation_paths=dict(type="int", default=15),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "published", ["build_dir"])],
        supports_check_mode=True,
    )
    params = module.params
    if params["keep_releases"] < 1:
        module.fail_json(msg=f"keep_releases must be at least 1 (got {params['keep_releases']})")

    retry = AWSRetry.jittered_backoff()
    # One client shared by the upload threads, with a connection pool for all of them.
    s3 = module.client("s3", retry_decorator=retry, config=botocore.config.Config(**CLIENT_CONFIG))
    cloudfront = module.client("cloudfront", retry_decorator=retry) if params["distribution_id"] else None
    common = dict(
        distribution_id=params["distribution_id"],
        check_mode=module.check_mode,
        wait=params["wait"],
        wait_timeout=params["wait_timeout"],
        max_invalidation_paths=params["max_invalidation_paths"],
    )
    try:
        if params["state"] == "published":
            result = publish(
                s3,
                cloudfront,
                params["bucket"],
                params["build_dir"],
                keep_releases=params["keep_releases"],
                hashed_pattern=params["hashed_pattern"],
                **common,
            )
        else:
            result = rollback(s3, cloudfront, params["bucket"], to=params["release"], **common)
    except ReleaseError as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not {params['state'].replace('_', ' ')} a release in {params['bucket']}")

    if module._diff:
        result["diff"] = {
            "before": {"live_release": result["live_before"]},
            "after": {
                "live_release": result["release"],
                "went_live": result["went_live"],
                "removed": result["removed"],
                "uploaded": result["uploaded"],
            },
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
