# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic single-page-application releases on a private S3 bucket behind CloudFront.

One implementation, used by the webstack.aws.s3_spa_release module (playbooks/publish.yml and
rollback.yml, as ansible-playbook and AWX run them) and directly by runner.py publish / rollback,
which resolve the same inputs (find_site) without Ansible's start-up.

What is in the bucket is read once: one listing (size and ETag of every key) and the manifest. An
object whose listed size and ETag are the file's size and MD5, at a key where the manifest records
that content with the file's Content-Type and Cache-Control, is unchanged; only what the listing
cannot decide is read with a HEAD. Uploads and copies run on WORKERS threads over one client.

Layout in the bucket::

    assets/index-3f2a9c1b.js            content-hashed files: at their final key, immutable, uploaded
                                        first, shared by every release that names them
    _webstack/releases/<id>/index.html  the unhashed files (index.html, favicon.ico, robots.txt...) of
                                        each release, staged under the release's own prefix
    index.html, favicon.ico, ...        the live release's unhashed files: server-side copies of the
                                        staged ones, made in one final step ("going live")
    _webstack/releases.json             the manifest: every kept release with its files, which one
                                        is live and which one was live before it

A release id is derived from the build's content (sha256 over path + sha256 of every file), so
publishing the same build twice is the same release and changes nothing. Going live copies only
the root files whose content differs, index.html last; rollback goes live with an older staged
release the same way, without uploading anything from disk. Pruning keeps the last N releases
(plus the live and the previous one): their hashed assets stay, so browser tabs still running an
older index.html can load their chunks.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import itertools
import json
import mimetypes
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

with contextlib.suppress(ImportError):  # the callers report a missing botocore
    import botocore  # noqa: F401

from ansible_collections.webstack.aws.plugins.module_utils.aws_names import carries_tags
from ansible_collections.webstack.aws.plugins.module_utils.cloudfront import (
    CLOUDFRONT_HOSTED_ZONE_ID,
    find_distribution_by_tags,
    find_origin_access_control,
    retrying,
)
from ansible_collections.webstack.aws.plugins.module_utils.s3_direct_put import DirectPut

STATE_PREFIX = "_webstack/"
MANIFEST_KEY = STATE_PREFIX + "releases.json"
RELEASES_PREFIX = STATE_PREFIX + "releases/"
MANIFEST_VERSION = 1
SHA_METADATA = "sha256"

CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
CACHE_REVALIDATE = "no-cache"
DEFAULT_KEEP_RELEASES = 3
DEFAULT_MAX_INVALIDATION_PATHS = 15
# Uploads and server-side copies run on this many threads over one shared client, whose connection
# pool must be at least as large (botocore's default of 10 would open and drop connections).
WORKERS = 16
CLIENT_CONFIG = {"max_pool_connections": WORKERS + 4}
SMALL_FILE = 8 << 20

# Explicit types first: the platform's mimetypes table differs between systems (.js, .ico, .woff2).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".cjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    ".wasm": "application/wasm",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"

# <stem>(-|.)<hash>[.chunk].<ext>[.map]; the stem is greedy, so the hash is the last segment of at
# least 8 characters before the extension (Rollup/Vite hashes may themselves contain - and _).
_HASHED_NAME = re.compile(
    r"^(?P<stem>.+)[.-](?P<hash>[A-Za-z0-9_-]{8,64})(?P<ext>(?:\.chunk)?\.[A-Za-z0-9]+(?:\.map)?)$"
)
_HEX = re.compile(r"^[0-9a-f]+$")


def is_boto3_error_code(codes):
    """amazon.aws's is_boto3_error_code for `except`: ClientError when the exception being handled
    carries one of `codes`, else a class nothing raises. Here, so that runner.py's direct publish
    does not import amazon.aws.plugins.module_utils.botocore (and with it ansible.module_utils.basic:
    a third of a no-op publish's time)."""
    import sys

    from botocore.exceptions import ClientError

    error = sys.exc_info()[1]
    codes = codes if isinstance(codes, list) else [codes]
    if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in codes:
        return ClientError
    return _NeverRaised


class _NeverRaised(Exception):
    pass


class ReleaseError(Exception):
    """A publish or rollback that cannot go ahead; the message says why and what to do."""


# -- local build -----------------------------------------------------------------------------------
def looks_like_hash(text: str) -> bool:
    """A bundler's content hash: webpack/CRA/Angular hex (>= 8, with a digit) or Rollup/Vite's 8
    base64url characters (with a digit, an upper-case letter, '-' or '_'). Plain words such as
    'component' or 'bootstrap' are not hashes."""
    if len(text) >= 8 and _HEX.match(text) and re.search(r"[0-9]", text):
        return True
    return bool(len(text) == 8 and re.search(r"[0-9A-Z_-]", text) and re.search(r"[A-Za-z]", text))


def is_hashed(path: str, pattern: str | None = None) -> bool:
    """True when a build file's name carries a content hash (so its content never changes)."""
    name = path.rsplit("/", 1)[-1]
    if pattern:
        return re.search(pattern, path) is not None
    match = _HASHED_NAME.match(name)
    return bool(match) and looks_like_hash(match.group("hash"))


def content_type(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    ext = os.path.splitext(name)[1]
    if ext in CONTENT_TYPES:
        return CONTENT_TYPES[ext]
    guessed = mimetypes.guess_type(name, strict=False)[0]
    if not guessed:
        return DEFAULT_CONTENT_TYPE
    if guessed.startswith("text/"):
        return guessed + "; charset=utf-8"
    return guessed


def cache_control(path: str, hashed: bool) -> str:
    return CACHE_IMMUTABLE if hashed else CACHE_REVALIDATE


def scan_build(build_dir: str, hashed_pattern: str | None = None) -> list[dict]:
    """Every regular file of the build, sorted by path, with what it must look like in S3."""
    root = os.path.abspath(build_dir)
    if not os.path.isdir(root):
        raise ReleaseError(f"build_dir {build_dir!r} is not a directory (run `npm run build` first)")
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            absolute = os.path.join(dirpath, filename)
            if not os.path.isfile(absolute):
                continue
            rel = os.path.relpath(absolute, root).replace(os.sep, "/")
            if rel.startswith(STATE_PREFIX):
                raise ReleaseError(f"build_dir holds {rel!r}: the {STATE_PREFIX} prefix is reserved for release state")
            sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
            with open(absolute, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    sha256.update(chunk)
                    md5.update(chunk)
            hashed = is_hashed(rel, hashed_pattern)
            files.append(
                {
                    "path": rel,
                    "file": absolute,
                    "sha256": sha256.hexdigest(),
                    # What S3 lists as the ETag of a single-part upload without SSE-KMS.
                    "md5": md5.hexdigest(),
                    "size": os.path.getsize(absolute),
                    "hashed": hashed,
                    "content_type": content_type(rel),
                    "cache_control": cache_control(rel, hashed),
                }
            )
    files.sort(key=lambda f: f["path"])
    if not files:
        raise ReleaseError(f"build_dir {build_dir!r} is empty")
    if not any(f["path"] == "index.html" for f in files):
        raise ReleaseError(f"build_dir {build_dir!r} has no index.html at its top: is it an SPA build output?")
    return files


def release_id(files: list[dict]) -> str:
    """Content address of a build: the same files give the same id, wherever and whenever built."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f["path"]):
        digest.update(f"{f['path']}\0{f['sha256']}\0{f['content_type']}\0{f['cache_control']}\n".encode())
    return digest.hexdigest()[:16]


def release_key(release: str, path: str) -> str:
    return f"{RELEASES_PREFIX}{release}/{path}"


def invalidation_paths(keys, max_paths: int = DEFAULT_MAX_INVALIDATION_PATHS) -> list[str]:
    """CloudFront paths for changed root keys; index.html also as '/' (the default root object).
    More than max_paths collapse into '/*' (one path, billed once)."""
    paths = set()
    for key in keys:
        paths.add("/" + quote(key, safe="/~-._"))
        if key == "index.html" or key.endswith("/index.html"):
            paths.add("/" + quote(key[: -len("index.html")], safe="/~-._"))
    if max_paths and len(paths) > max_paths:
        return ["/*"]
    return sorted(paths)


# -- bucket state ----------------------------------------------------------------------------------
def empty_manifest() -> dict:
    return {"version": MANIFEST_VERSION, "live": None, "previous": None, "releases": []}


def read_manifest(s3, bucket: str) -> tuple[dict, str | None]:
    """The manifest and its ETag (None when there is none yet)."""
    s3 = retrying(s3)
    try:
        response = s3.get_object(Bucket=bucket, Key=MANIFEST_KEY, aws_retry=True)
    except is_boto3_error_code(["NoSuchKey", "404"]):
        return empty_manifest(), None
    manifest = json.loads(response["Body"].read())
    if manifest.get("version") != MANIFEST_VERSION:
        raise ReleaseError(
            f"{MANIFEST_KEY} has version {manifest.get('version')!r}; this webstack reads {MANIFEST_VERSION}"
        )
    return manifest, response.get("ETag")


def write_manifest(s3, bucket: str, manifest: dict, etag: str | None) -> None:
    """Writes the manifest only if nobody else wrote it since we read it (S3 conditional write)."""
    params = {
        "Bucket": bucket,
        "Key": MANIFEST_KEY,
        # Compact: with 2,000 files a release is some 400 KiB of JSON, and up to keep_releases + 2 are kept.
        "Body": json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode(),
        "ContentType": "application/json",
        "CacheControl": CACHE_REVALIDATE,
    }
    if etag:
        params["IfMatch"] = etag
    else:
        params["IfNoneMatch"] = "*"
    try:
        s3.put_object(aws_retry=True, **params)
    except is_boto3_error_code(["PreconditionFailed", "ConditionalRequestConflict"]):
        raise ReleaseError(
            f"another publish or rollback changed {MANIFEST_KEY} while this one ran; run it again"
        ) from None


def read_state(s3, bucket: str, pool) -> tuple:
    """Futures of the bucket's one listing and of its manifest (with the ETag), read on `pool`.
    (One pass: two key ranges listed side by side were slower on the emulator, whose one Python
    process renders both pages.)"""
    s3 = retrying(s3)
    return pool.submit(list_keys, s3, bucket), pool.submit(read_manifest, s3, bucket)


def list_keys(s3, bucket: str) -> dict[str, dict]:
    """Current objects of the bucket: key -> {etag, size}."""
    keys = {}
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            keys[obj["Key"]] = {"etag": obj.get("ETag", "").strip('"'), "size": obj.get("Size")}
    return keys


def head(s3, bucket: str, key: str) -> dict | None:
    try:
        response = s3.head_object(Bucket=bucket, Key=key, aws_retry=True)
    except is_boto3_error_code(["404", "NoSuchKey", "NotFound"]):
        return None
    return {
        "sha256": (response.get("Metadata") or {}).get(SHA_METADATA),
        "content_type": response.get("ContentType"),
        "cache_control": response.get("CacheControl"),
    }


def _matches(found: dict | None, f: dict) -> bool:
    return bool(found) and (
        found["sha256"] == f["sha256"]
        and found["content_type"] == f["content_type"]
        and found["cache_control"] == f["cache_control"]
    )


def _pmap(func, items):
    """[func(item) for item in items] on WORKERS threads. Each thread takes the next item itself
    (a future per item cost the submitting thread more than a small upload does); after a failure
    no thread starts another item, and the failure is raised."""
    items = list(items)
    if len(items) <= 1:
        return [func(item) for item in items]
    results, positions, failed = [None] * len(items), itertools.count(), threading.Event()

    def work() -> None:
        for position in positions:
            if position >= len(items) or failed.is_set():
                return
            try:
                results[position] = func(items[position])
            except BaseException:
                failed.set()
                raise

    workers = min(WORKERS, len(items))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for worker in [pool.submit(work) for _ in range(workers)]:
            worker.result()
    return results


def _recorded(manifest: dict) -> dict[str, set[tuple]]:
    """What the manifest says publish wrote at each key: key -> {(sha256, content type, cache
    policy)}. A hashed file at its path; an unhashed one at its staged key and, copied from there
    with its headers when it went live, at the root."""
    recorded: dict[str, set[tuple]] = {}
    for release in manifest["releases"]:
        for f in _release_files(release):
            attrs = (f["sha256"], f["content_type"], f["cache_control"])
            keys = [f["path"]] if f["hashed"] else [release_key(release["id"], f["path"]), f["path"]]
            for key in keys:
                recorded.setdefault(key, set()).add(attrs)
    return recorded


def _differing(
    s3, bucket: str, wanted: list[tuple[str, dict]], listing: dict, recorded: dict
) -> list[tuple[str, dict]]:
    """The (key, file) pairs whose object is missing or differs in content, type or cache policy,
    decided from the one listing: an object whose listed size and ETag are the file's size and MD5
    (a single-part upload without SSE-KMS), at a key where the manifest records that content with
    the file's type and cache policy, is the same; a listed size that differs is a change. Only
    what the listing cannot decide (no record in the manifest, an SSE-KMS or multipart ETag) is
    read with a HEAD, in parallel."""
    differing, unsure = set(), []
    for key, f in wanted:
        found = listing.get(key)
        if found is None or (found.get("size") is not None and found["size"] != f["size"]):
            differing.add(key)
        elif not (
            f.get("md5")
            and found.get("etag") == f["md5"]
            and (f["sha256"], f["content_type"], f["cache_control"]) in recorded.get(key, ())
        ):
            unsure.append((key, f))
    heads = _pmap(lambda pair: head(s3, bucket, pair[0]), unsure)
    differing |= {key for (key, f), found in zip(unsure, heads, strict=True) if not _matches(found, f)}
    return [(key, f) for key, f in wanted if key in differing]


def _etag(response: dict) -> str:
    return (response.get("ETag") or response.get("CopyObjectResult", {}).get("ETag") or "").strip('"')


def _put(putter: DirectPut, key: str, f: dict) -> dict:
    with open(f["file"], "rb") as handle:
        # A small file is sent from memory: botocore then sends its checksum as a header instead
        # of streaming the body in aws-chunked encoding with a trailer (less work on both ends),
        # and DirectPut can send it without boto3's per-call work.
        body = handle.read() if f["size"] <= SMALL_FILE else handle
        headers = {
            "Content-Type": f["content_type"],
            "Cache-Control": f["cache_control"],
            f"x-amz-meta-{SHA_METADATA}": f["sha256"],
        }
        return {"etag": putter.put(key, body, headers), "size": f["size"]}


def _copy(s3, bucket: str, source: str, key: str) -> dict:
    # MetadataDirective COPY keeps Content-Type, Cache-Control and the sha256 metadata.
    response = s3.copy_object(
        Bucket=bucket,
        Key=key,
        CopySource={"Bucket": bucket, "Key": source},
        MetadataDirective="COPY",
        aws_retry=True,
    )
    return {"etag": _etag(response)}


def _delete(s3, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        response = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True}, aws_retry=True)
        if response.get("Errors"):
            failed = ", ".join(e["Key"] for e in response["Errors"])
            raise ReleaseError(f"could not delete {failed} from {bucket}")


def _release_files(release: dict) -> list[dict]:
    return [{"path": path, **meta} for path, meta in sorted(release["files"].items())]


def _release_keys(release: dict) -> set[str]:
    """Every key a release needs besides the live root copies: hashed assets and its staged files."""
    keys = set()
    for f in _release_files(release):
        keys.add(f["path"] if f["hashed"] else release_key(release["id"], f["path"]))
    return keys


def _find(manifest: dict, release: str) -> dict | None:
    return next((r for r in manifest["releases"] if r["id"] == release), None)


# -- going live, pruning, invalidating ---------------------------------------------------------------
def _plan_go_live(s3, bucket: str, release: dict, manifest: dict, listing: dict) -> tuple[list, list]:
    """Root copies (staged key -> root key) and root deletions that make `release` live."""
    unhashed = [f for f in _release_files(release) if not f["hashed"]]
    # A root key holds a copy of a staged file: the same ETag as the staged object (without SSE-KMS).
    for f in unhashed:
        f.setdefault("md5", listing.get(release_key(release["id"], f["path"]), {}).get("etag"))
    differing = _differing(s3, bucket, [(f["path"], f) for f in unhashed], listing, _recorded(manifest))
    # index.html last: until it switches, visitors keep loading the old release (its assets exist).
    differing.sort(key=lambda pair: (pair[0] == "index.html", pair[0]))
    copies = [(release_key(release["id"], key), key) for key, _ in differing]
    wanted = {f["path"] for f in unhashed}
    stale = set()
    for other in manifest["releases"]:
        if other["id"] == manifest.get("live"):
            stale |= {p for p, meta in other["files"].items() if not meta["hashed"] and p not in wanted}
    deletions = sorted(key for key in stale if key in listing)
    return copies, deletions


def _plan_prune(manifest: dict, keep: int, listing: dict) -> tuple[list[str], list[str]]:
    """Releases beyond the newest `keep` (never the live or previous one) and the keys only they use."""
    protected = {manifest.get("live"), manifest.get("previous")}
    kept = [r for i, r in enumerate(manifest["releases"]) if i < keep or r["id"] in protected]
    dropped = [r for r in manifest["releases"] if r not in kept]
    needed = set().union(*(_release_keys(r) for r in kept)) if kept else set()
    doomed = set()
    for release in dropped:
        doomed |= _release_keys(release) - needed
    return [r["id"] for r in dropped], sorted(key for key in doomed if key in listing)


def _invalidate(cloudfront, distribution_id, keys, result, *, check_mode, wait, wait_timeout, max_paths) -> None:
    if not keys or not distribution_id:
        result["invalidation"] = None
        return
    paths = invalidation_paths(keys, max_paths)
    result["invalidation"] = {"paths": paths, "id": None, "status": None}
    if check_mode:
        return
    if cloudfront is None:
        raise ReleaseError("a distribution_id was given without a CloudFront client")
    response = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": f"webstack-{result['release']}-{time.time_ns()}",
        },
        aws_retry=True,
    )
    invalidation = response["Invalidation"]
    result["invalidation"].update(id=invalidation["Id"], status=invalidation["Status"])
    if wait:
        result["invalidation"]["status"] = wait_for_invalidation(
            cloudfront, distribution_id, invalidation["Id"], invalidation["Status"], wait_timeout
        )


def wait_for_invalidation(cloudfront, distribution_id: str, invalidation_id: str, status: str, timeout: int) -> str:
    """Polls until the invalidation is completed. Not botocore's waiter: it matches 'Completed' only,
    and moto answers 'COMPLETED'."""
    deadline = time.monotonic() + int(timeout)
    delay = 2
    while status.lower() != "completed":
        if time.monotonic() >= deadline:
            raise ReleaseError(
                f"invalidation {invalidation_id} of {distribution_id} still {status} after {timeout}s; "
                "the release is live, only cached copies may be stale"
            )
        time.sleep(delay)
        delay = min(delay * 2, 20)
        status = cloudfront.get_invalidation(DistributionId=distribution_id, Id=invalidation_id, aws_retry=True)[
            "Invalidation"
        ]["Status"]
    return "Completed"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _result(bucket: str, check_mode: bool) -> dict:
    return {
        "changed": False,
        "check_mode": check_mode,
        "bucket": bucket,
        "release": None,
        "live_before": None,
        "previous_release": None,
        "uploaded": [],
        "staged_by_copy": [],
        "went_live": [],
        "removed": [],
        "pruned_releases": [],
        "deleted": [],
        "invalidation": None,
        "releases": [],
    }


def _plan_stage(s3, bucket: str, files: list[dict], rid: str, manifest: dict, listing: dict):
    """Uploads (key, file), server-side copies (source, key) and overwritten hashed keys that stage
    a release. Staged content that already exists in a kept release is copied, not uploaded."""
    wanted = [(f["path"], f) for f in files if f["hashed"]]
    wanted += [(release_key(rid, f["path"]), f) for f in files if not f["hashed"]]
    missing = _differing(s3, bucket, wanted, listing, _recorded(manifest))
    sources = {}
    for release in manifest["releases"]:
        for f in _release_files(release):
            key = f["path"] if f["hashed"] else release_key(release["id"], f["path"])
            if key in listing:
                sources.setdefault((f["sha256"], f["content_type"], f["cache_control"]), key)
    uploads, copies, overwritten = [], [], []
    for key, f in missing:
        source = sources.get((f["sha256"], f["content_type"], f["cache_control"]))
        if not f["hashed"] and source and source != key:
            copies.append((source, key))
        else:
            uploads.append((key, f))
            if f["hashed"] and key in listing:
                overwritten.append(key)  # a hashed key whose content changed: cached copies are stale
    return uploads, copies, overwritten


def _record_release(manifest: dict, rid: str, files: list[dict]) -> tuple[dict, dict]:
    """A copy of the manifest with the release first and live; the old live one becomes previous."""
    new_manifest = _copy_manifest(manifest)
    entry = _find(new_manifest, rid) or {"id": rid, "created": _now(), "files": {}}
    entry["files"] = {
        f["path"]: {k: f[k] for k in ("sha256", "size", "hashed", "content_type", "cache_control")} for f in files
    }
    if not (manifest["releases"] and manifest["releases"][0]["id"] == rid):
        entry["published"] = _now()  # a new release, or an older one published again: newest now
    new_manifest["releases"] = [entry, *(r for r in new_manifest["releases"] if r["id"] != rid)]
    if manifest.get("live") != rid:
        new_manifest["previous"] = manifest.get("live")
    new_manifest["live"] = rid
    return new_manifest, entry


# -- the two entry points ----------------------------------------------------------------------------
def publish(
    s3,
    cloudfront,
    bucket: str,
    build_dir: str,
    distribution_id: str | None = None,
    keep_releases: int = DEFAULT_KEEP_RELEASES,
    wait: bool = False,
    *,
    check_mode: bool = False,
    wait_timeout: int = 900,
    hashed_pattern: str | None = None,
    max_invalidation_paths: int = DEFAULT_MAX_INVALIDATION_PATHS,
    state: tuple | None = None,
    scanned=None,
) -> dict:
    """Upload what changed in `build_dir`, make it the live release, prune, invalidate.

    `state`: read_state's futures, when the caller started reading the bucket earlier; `scanned`:
    scan_build's future, when the caller started hashing the build earlier.

    Returns what was (or, in check mode, would be) done: keys uploaded, staged by server-side copy,
    switched live and removed, releases pruned with the keys deleted, the invalidation made.
    """
    if int(keep_releases) < 1:
        raise ReleaseError(f"keep_releases must be at least 1 (got {keep_releases})")
    s3, cloudfront = retrying(s3), retrying(cloudfront)
    # The bucket's state is read (one listing, the manifest) while the build is hashed.
    with ThreadPoolExecutor(max_workers=2) as pool:
        state = state or read_state(s3, bucket, pool)
        files = scan_build(build_dir, hashed_pattern) if scanned is None else scanned.result()
        listing, (manifest, etag) = state[0].result(), state[1].result()
    rid = release_id(files)
    result = _result(bucket, check_mode)
    result["release"] = rid

    result["live_before"] = manifest.get("live")
    result["previous_release"] = manifest.get("live") if manifest.get("live") != rid else manifest.get("previous")

    # 1. Stage: hashed assets at their final keys, unhashed files under the release's prefix.
    uploads, stage_copies, overwritten = _plan_stage(s3, bucket, files, rid, manifest, listing)
    result["uploaded"] = [key for key, _ in uploads]
    result["staged_by_copy"] = [key for _, key in stage_copies]
    if not check_mode:
        putter = DirectPut(s3, bucket)
        try:
            put = _pmap(lambda pair: _put(putter, pair[0], pair[1]), uploads)
        finally:
            putter.close()
        copied = _pmap(lambda pair: _copy(s3, bucket, pair[0], pair[1]), stage_copies)
        listing.update(zip([key for key, _ in uploads], put, strict=True))
        listing.update(zip([key for _, key in stage_copies], copied, strict=True))

    # 2. Record the release, newest first.
    new_manifest, entry = _record_release(manifest, rid, files)

    # 3. Go live: copy the staged unhashed files that differ to the root, index.html last.
    copies, deletions = _plan_go_live(s3, bucket, entry, manifest, listing)
    result["went_live"] = [key for _, key in copies]
    result["removed"] = deletions

    # 4. Prune releases beyond keep_releases (never the live or the previous one).
    pruned, doomed = _plan_prune(new_manifest, int(keep_releases), listing)
    new_manifest["releases"] = [r for r in new_manifest["releases"] if r["id"] not in pruned]
    result["pruned_releases"], result["deleted"] = pruned, doomed
    manifest_changed = new_manifest != manifest

    if not check_mode:
        for source, key in copies:
            _copy(s3, bucket, source, key)
        if deletions:
            _delete(s3, bucket, deletions)
        if manifest_changed:
            write_manifest(s3, bucket, new_manifest, etag)
        if doomed:
            _delete(s3, bucket, doomed)

    result["changed"] = bool(uploads or stage_copies or copies or deletions or doomed or manifest_changed)
    result["releases"] = _summary(new_manifest)
    _invalidate(
        cloudfront,
        distribution_id,
        [key for _, key in copies] + deletions + overwritten,
        result,
        check_mode=check_mode,
        wait=wait,
        wait_timeout=wait_timeout,
        max_paths=max_invalidation_paths,
    )
    return result


def rollback(
    s3,
    cloudfront,
    bucket: str,
    distribution_id: str | None = None,
    to: str | None = None,
    *,
    check_mode: bool = False,
    wait: bool = False,
    wait_timeout: int = 900,
    max_invalidation_paths: int = DEFAULT_MAX_INVALIDATION_PATHS,
) -> dict:
    """Make an earlier release live again by server-side copies (default: the one live before the
    current one). Uploads nothing from disk; writes only the manifest."""
    s3, cloudfront = retrying(s3), retrying(cloudfront)
    manifest, etag = read_manifest(s3, bucket)
    if not manifest["releases"]:
        raise ReleaseError(f"{bucket} has no releases to roll back to (nothing was published)")
    target = to or manifest.get("previous")
    if not target:
        raise ReleaseError(f"{bucket} has no previous release; name one with `to` (kept: {_ids(manifest)})")
    release = _find(manifest, target)
    if release is None:
        raise ReleaseError(f"release {target!r} is not kept in {bucket}; kept releases: {_ids(manifest)}")
    result = _result(bucket, check_mode)
    result["release"] = target
    result["live_before"] = manifest.get("live")
    result["previous_release"] = manifest.get("live")
    result["releases"] = _summary(manifest)
    if manifest.get("live") == target:
        result["previous_release"] = manifest.get("previous")
        return result

    listing = list_keys(s3, bucket)
    absent = sorted(key for key in _release_keys(release) if key not in listing)
    if absent:
        raise ReleaseError(f"release {target!r} is incomplete in {bucket}, missing: {', '.join(absent[:10])}")
    copies, deletions = _plan_go_live(s3, bucket, release, manifest, listing)
    new_manifest = _copy_manifest(manifest)
    new_manifest["previous"], new_manifest["live"] = manifest.get("live"), target
    result["went_live"], result["removed"] = [key for _, key in copies], deletions
    if not check_mode:
        for source, key in copies:
            _copy(s3, bucket, source, key)
        if deletions:
            _delete(s3, bucket, deletions)
        write_manifest(s3, bucket, new_manifest, etag)
    result["changed"] = True
    result["releases"] = _summary(new_manifest)
    _invalidate(
        cloudfront,
        distribution_id,
        [key for _, key in copies] + deletions,
        result,
        check_mode=check_mode,
        wait=wait,
        wait_timeout=wait_timeout,
        max_paths=max_invalidation_paths,
    )
    return result


def status(s3, bucket: str) -> dict:
    """The kept releases, newest first, and which one is live; reads only."""
    manifest, _ = read_manifest(retrying(s3), bucket)
    return {
        "bucket": bucket,
        "live": manifest.get("live"),
        "previous": manifest.get("previous"),
        "releases": _summary(manifest),
    }


def _copy_manifest(manifest: dict) -> dict:
    """A copy whose top level and release entries may be changed; the entries' `files` are shared
    (they are replaced, never changed in place). A deep copy of thousands of files costs more."""
    return {**manifest, "releases": [dict(release) for release in manifest["releases"]]}


def _ids(manifest: dict) -> str:
    return ", ".join(r["id"] for r in manifest["releases"]) or "none"


def _summary(manifest: dict) -> list[dict]:
    return [
        {
            "id": r["id"],
            "created": r.get("created"),
            "published": r.get("published"),
            "files": len(r["files"]),
            "live": r["id"] == manifest.get("live"),
        }
        for r in manifest["releases"]
    ]


# -- finding the target by tag -------------------------------------------------------------------------
def find_site(
    s3,
    sts,
    cloudfront,
    *,
    project,
    environment,
    bucket_name="",
    distribution_id="",
    cdn_project=None,
    cdn_environment=None,
    action="publish",
) -> dict:
    """What playbooks/publish.yml and rollback.yml resolve before the release task, for callers
    that skip Ansible (runner.py publish / rollback): the static_site role's bucket (its name, or
    <project>-<environment>-site-<account id>; it must exist and carry the stack's identity tags)
    and the distribution to invalidate (distribution_id, or the cdn role's, found by its Name tag
    <project>-<environment>-cdn; it must carry the stack's identity tags too). Returns the bucket,
    the distribution id (None: no invalidation) and the outputs the roles report (static_site, and
    cdn when found by tag). Raises ReleaseError with the role's messages."""
    s3, sts, cloudfront = retrying(s3), retrying(sts), retrying(cloudfront)
    cdn_identity = {"Project": cdn_project or project, "Environment": cdn_environment or environment}
    with ThreadPoolExecutor(max_workers=1) as pool:  # the distribution is looked up meanwhile
        cdn = None if distribution_id else pool.submit(_cdn_outputs, cloudfront, cdn_identity)
        outputs = {"static_site": _site_bucket(s3, sts, project, environment, bucket_name, action)}
        if cdn is not None:
            outputs["cdn"] = cdn.result()
            distribution_id = outputs["cdn"]["distribution_id"]
    return {
        "bucket": outputs["static_site"]["bucket_name"],
        "distribution_id": distribution_id or None,
        "outputs": outputs,
    }


def _site_bucket(s3, sts, project: str, environment: str, bucket_name: str, action: str) -> dict:
    """static_site's tasks/outputs.yml: the bucket, which must exist and be the stack's."""
    bucket = bucket_name or site_bucket_name(project, environment, sts.get_caller_identity(aws_retry=True)["Account"])
    identity = {"Project": project, "Environment": environment, "ManagedBy": "webstack"}
    try:
        location = s3.get_bucket_location(Bucket=bucket, aws_retry=True).get("LocationConstraint") or "us-east-1"
    except is_boto3_error_code(["NoSuchBucket", "404", "NotFound"]):
        hint = "; deploy the frontend first (runner.py deploy --layers frontend)" if action == "publish" else ""
        raise ReleaseError(f"static_site_bucket_name: no bucket {bucket} exists{hint}.") from None
    try:
        tag_set = s3.get_bucket_tagging(Bucket=bucket, aws_retry=True)["TagSet"]
    except is_boto3_error_code(["NoSuchTagSet", "NoSuchTagSetError"]):
        tag_set = []
    tags = {t["Key"]: t["Value"] for t in tag_set}
    if not identity.items() <= tags.items():
        raise ReleaseError(
            f"static_site_bucket_name: the bucket {bucket} exists but does not carry the tags "
            f"{json.dumps(identity)}: it is not this stack's; choose another name."
        )
    return {
        "bucket_name": bucket,
        "bucket_arn": f"arn:aws:s3:::{bucket}",
        "bucket_regional_domain_name": f"{bucket}.s3.{location}.amazonaws.com",
    }


def _cdn_outputs(cloudfront, identity: dict) -> dict:
    """cdn's tasks/outputs.yml: the distribution by its Name tag, which must be the stack's, and
    the origin access control."""
    prefix = f"{identity['Project']}-{identity['Environment']}"
    identity = {**identity, "ManagedBy": "webstack"}
    try:
        found = find_distribution_by_tags(cloudfront, {"Name": f"{prefix}-cdn"}) or {}
    except ValueError as exc:  # more than one carries the Name tag
        raise ReleaseError(str(exc)) from None
    if found and not carries_tags(found.get("Tags"), identity):
        raise ReleaseError(
            f"cdn_project / cdn_environment: the distribution {found['Id']} (Name {prefix}-cdn) exists but does not"
            f" carry the tags {json.dumps(identity)}: it is not this stack's; nothing was changed."
        )
    oac = find_origin_access_control(cloudfront, f"{prefix}-site-oac") or {}
    return {
        "distribution_id": found.get("Id", ""),
        "distribution_arn": found.get("ARN", ""),
        "domain_name": found.get("DomainName", ""),
        "hosted_zone_id": CLOUDFRONT_HOSTED_ZONE_ID,
        "oac_id": oac.get("Id", ""),
        "aliases": (found.get("Aliases") or {}).get("Items") or [],
    }


# The keys of the module's result each entry point reports (static_site's tasks/publish.yml and
# tasks/rollback.yml, set_stats static_site_release).
REPORTED = {
    "publish": ["release", "previous_release", "uploaded", "went_live", "removed", "pruned_releases", "invalidation"],
    "rollback": ["release", "previous_release", "went_live", "removed", "invalidation"],
}


def site_bucket_name(project: str, environment: str, account_id: str) -> str:
    """The static_site role's default bucket name."""
    return f"{project}-{environment}-site-{account_id}"
