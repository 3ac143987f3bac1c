"""SPA publishing for runner.py: ``publish`` and ``rollback`` of a build directory on the static_site
bucket. The implementation lives in the collection's module_utils (plugins/module_utils/spa_release.py),
shared with the webstack.aws.s3_spa_release module; this file only makes it importable from the
repository root.

    import boto3, webstack_publish
    s3, cf = boto3.client("s3"), boto3.client("cloudfront")
    webstack_publish.publish(s3, cf, "webstack-local-site-123456789012", "demo/spa/dist", distribution_id="E2...")
    webstack_publish.rollback(s3, cf, "webstack-local-site-123456789012", distribution_id="E2...")
"""

from __future__ import annotations

import sys
from pathlib import Path

_COLLECTIONS = str(Path(__file__).resolve().parent / "collections")
if _COLLECTIONS not in sys.path:
    # collections/ansible_collections/webstack/aws links back to this checkout (see ansible.cfg).
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.webstack.aws.plugins.module_utils.spa_release import (  # noqa: E402
    CACHE_IMMUTABLE,
    CACHE_REVALIDATE,
    DEFAULT_KEEP_RELEASES,
    MANIFEST_KEY,
    ReleaseError,
    find_distribution_id,
    publish,
    rollback,
    site_bucket_name,
    status,
)

__all__ = [
    "CACHE_IMMUTABLE",
    "CACHE_REVALIDATE",
    "DEFAULT_KEEP_RELEASES",
    "MANIFEST_KEY",
    "ReleaseError",
    "find_distribution_id",
    "publish",
    "rollback",
    "site_bucket_name",
    "status",
]
