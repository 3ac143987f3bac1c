"""The rules behind SPA publishing: which files are content-hashed, their Content-Type and
Cache-Control, the content-addressed release id and the invalidation paths. No AWS calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.webstack.aws.plugins.module_utils.spa_release import (
    CACHE_IMMUTABLE,
    CACHE_REVALIDATE,
    CLIENT_CONFIG,
    WORKERS,
    ReleaseError,
    _differing,
    _pmap,
    _recorded,
    content_type,
    invalidation_paths,
    is_hashed,
    release_id,
    scan_build,
)

DEMO = Path(__file__).resolve().parents[2] / "demo" / "spa" / "dist"


@pytest.mark.parametrize(
    "path",
    [
        "assets/index-3f2a9c1b.js",  # Vite, hex-looking hash
        "assets/index-BwFpoe2z.js",  # Vite/Rollup base64url hash with digits
        "assets/index-DiwrgTda.css",  # Rollup hash without any digit
        "assets/vendor-Bw-poe2_.js",  # Rollup hash containing '-' and '_'
        "assets/react-dom-3f2a9c1b.js",  # a stem that itself contains '-'
        "static/js/main.3f2a9c1b.js",  # Create React App
        "static/js/787.3f2a9c1b.chunk.js",
        "static/css/main.3f2a9c1b.css.map",
        "main.1a2b3c4d5e6f7a8b.js",  # Angular, 16 hex
        "assets/logo-a1b2c3d4e5f6a7b8c9d0.svg",  # webpack [contenthash] (20 hex)
    ],
)
def test_hashed_names(path):
    assert is_hashed(path)


@pytest.mark.parametrize(
    "path",
    [
        "index.html",
        "favicon.ico",
        "robots.txt",
        "manifest.webmanifest",
        "assets/my-component.js",  # a word, not a hash
        "assets/bootstrap.min.css",
        "assets/jquery-3.7.1.js",  # a version, not a hash
        "assets/chunk-vendors-2024.js",
        "images/logo-deadbeef.png",  # 8 hex letters without a digit: treated as a word
        "assets/app.js",
    ],
)
def test_unhashed_names(path):
    assert not is_hashed(path)


def test_a_custom_pattern_decides_alone():
    assert is_hashed("fonts/inter.woff2", r"^fonts/")
    assert not is_hashed("assets/index-3f2a9c1b.js", r"^fonts/")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("assets/app-3f2a9c1b.js", "text/javascript; charset=utf-8"),
        ("assets/app-3f2a9c1b.mjs", "text/javascript; charset=utf-8"),
        ("assets/app-3f2a9c1b.css", "text/css; charset=utf-8"),
        ("assets/app-3f2a9c1b.js.map", "application/json"),
        ("favicon.ico", "image/x-icon"),
        ("robots.txt", "text/plain; charset=utf-8"),
        ("manifest.webmanifest", "application/manifest+json"),
        ("assets/logo-3f2a9c1b.svg", "image/svg+xml"),
        ("assets/font-3f2a9c1b.woff2", "font/woff2"),
        ("assets/PHOTO.JPG", "image/jpeg"),
        ("assets/app.wasm", "application/wasm"),
        ("data/blob.unknownext", "application/octet-stream"),
    ],
)
def test_content_types(path, expected):
    assert content_type(path) == expected


def test_scan_the_demo_build():
    files = {f["path"]: f for f in scan_build(str(DEMO))}
    assert set(files) == {
        "index.html",
        "favicon.ico",
        "robots.txt",
        *(f"assets/{p.name}" for p in (DEMO / "assets").iterdir()),
    }
    assets = [p for p in files if p.startswith("assets/")]
    assert {Path(p).suffix for p in assets} == {".js", ".css"}
    for path, f in files.items():
        assert f["hashed"] is path.startswith("assets/"), path
        assert f["cache_control"] == (CACHE_IMMUTABLE if f["hashed"] else CACHE_REVALIDATE)
        assert len(f["sha256"]) == 64
    # The demo's names carry the first 8 hex digits of the file's own sha256, like a real build.
    for path in assets:
        assert files[path]["sha256"][:8] in path
    # index.html references exactly the hashed assets of the build.
    index = (DEMO / "index.html").read_text()
    assert all(f"/{path}" in index for path in assets)


def test_release_id_is_a_content_address(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for build in (one, two):
        (build / "assets").mkdir(parents=True)
        (build / "index.html").write_text("<html>v1</html>")
        (build / "assets" / "app-3f2a9c1b.js").write_text("console.log(1)")
    assert release_id(scan_build(str(one))) == release_id(scan_build(str(two)))
    (two / "index.html").write_text("<html>v2</html>")
    assert release_id(scan_build(str(one))) != release_id(scan_build(str(two)))


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "is empty"),
        (lambda d: (d / "app.js").write_text("x"), "has no index.html"),
        (
            lambda d: (
                (d / "index.html").write_text("x"),
                (d / "_webstack").mkdir(),
                (d / "_webstack" / "x").write_text("x"),
            ),
            "reserved",
        ),
    ],
)
def test_scan_refuses_what_is_not_an_spa_build(tmp_path, setup, message):
    build = tmp_path / "dist"
    build.mkdir()
    setup(build)
    with pytest.raises(ReleaseError, match=message):
        scan_build(str(build))


def test_scan_refuses_a_missing_directory(tmp_path):
    with pytest.raises(ReleaseError, match="is not a directory"):
        scan_build(str(tmp_path / "nope"))


def test_invalidation_paths():
    assert invalidation_paths(["index.html"]) == ["/", "/index.html"]
    assert invalidation_paths(["docs/index.html", "robots.txt"]) == ["/docs/", "/docs/index.html", "/robots.txt"]
    assert invalidation_paths(["a b.txt"]) == ["/a%20b.txt"]
    assert invalidation_paths([]) == []
    assert invalidation_paths([f"f{i}.txt" for i in range(16)], max_paths=15) == ["/*"]
    assert len(invalidation_paths([f"f{i}.txt" for i in range(15)], max_paths=15)) == 15


# -- comparing by the listing, parallel uploads (issue 11) ------------------------------------------
class FakeS3:
    """head_object from a dict, counting the calls; nothing else."""

    def __init__(self, heads: dict):
        self.heads, self.asked = heads, []

    def head_object(self, Bucket, Key, aws_retry=False):
        self.asked.append(Key)
        return self.heads[Key]


def _file(path="assets/app-3f2a9c1b.js", body=b"console.log(1)\n"):
    import hashlib

    hashed = is_hashed(path)
    return {
        "path": path,
        "sha256": hashlib.sha256(body).hexdigest(),
        "md5": hashlib.md5(body).hexdigest(),
        "size": len(body),
        "hashed": hashed,
        "content_type": content_type(path),
        "cache_control": CACHE_IMMUTABLE if hashed else CACHE_REVALIDATE,
    }


def _manifest(*files):
    entry = {k: v for k, v in files[0].items() if k in ("sha256", "size", "hashed", "content_type", "cache_control")}
    return {"releases": [{"id": "r1", "files": {f["path"]: entry for f in files}}]}


def test_the_listing_decides_what_the_manifest_vouches_for():
    f = _file()
    s3 = FakeS3({})
    listing = {f["path"]: {"etag": f["md5"], "size": f["size"]}}
    assert _differing(s3, "b", [(f["path"], f)], listing, _recorded(_manifest(f))) == []
    assert s3.asked == []  # no HEAD


def test_a_missing_key_or_another_size_differs_without_a_head():
    f = _file()
    s3 = FakeS3({})
    assert _differing(s3, "b", [(f["path"], f)], {}, {}) == [(f["path"], f)]
    listing = {f["path"]: {"etag": f["md5"], "size": f["size"] + 1}}
    assert _differing(s3, "b", [(f["path"], f)], listing, _recorded(_manifest(f))) == [(f["path"], f)]
    assert s3.asked == []


def test_what_the_listing_cannot_decide_is_read_with_a_head():
    f = _file()
    same = {"Metadata": {"sha256": f["sha256"]}, "ContentType": f["content_type"], "CacheControl": f["cache_control"]}
    # An SSE-KMS ETag (not the MD5): read, found the same.
    s3 = FakeS3({f["path"]: same})
    listing = {f["path"]: {"etag": "kms-etag-not-md5", "size": f["size"]}}
    assert _differing(s3, "b", [(f["path"], f)], listing, _recorded(_manifest(f))) == []
    assert s3.asked == [f["path"]]
    # The right content, but no manifest record: read, another cache policy found, so it differs.
    s3 = FakeS3({f["path"]: {**same, "CacheControl": "max-age=60"}})
    listing = {f["path"]: {"etag": f["md5"], "size": f["size"]}}
    assert _differing(s3, "b", [(f["path"], f)], listing, {}) == [(f["path"], f)]
    assert s3.asked == [f["path"]]


def test_uploads_run_in_parallel():
    """_pmap runs WORKERS calls at once: a barrier of 4 is passed only if four run together."""
    import threading

    barrier = threading.Barrier(4, timeout=10)
    assert _pmap(lambda n: (barrier.wait(), n)[1], range(8)) == list(range(8))
    assert WORKERS >= 8 and CLIENT_CONFIG["max_pool_connections"] >= WORKERS


def test_after_a_failed_upload_no_other_starts_and_the_failure_is_raised():
    started = []

    def upload(n):
        started.append(n)
        if n == 3:
            raise OSError("disk gone")
        return n

    with pytest.raises(OSError, match="disk gone"):
        _pmap(upload, range(1000))
    assert 3 in started and len(started) < 100


def test_scan_records_the_md5_s3_lists_as_the_etag(tmp_path):
    import hashlib

    (tmp_path / "index.html").write_bytes(b"<html></html>")
    (f,) = scan_build(str(tmp_path))
    assert f["md5"] == hashlib.md5(b"<html></html>").hexdigest()
