"""SPA publishing against the test run's moto server: spa_release.publish / rollback with boto3
(the functions runner.py's publish and rollback call), then the role's publish.yml / rollback.yml
entry points through Ansible. Every S3 write the publisher makes is recorded with a botocore event
hook, so "uploads nothing" is counted, not assumed."""

from __future__ import annotations

import hashlib
import shutil
import types
from pathlib import Path

import pytest

import runner
from ansible_collections.webstack.aws.plugins.module_utils import spa_release
from tests.conftest import REGION

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo" / "spa" / "dist"
PLAYBOOK = REPO / "tests" / "integration" / "playbooks" / "static_site_publish.yml"
BUCKET = "t-publish-local-site-000000000000"
PROJECT = "t-publish-role"
IMMUTABLE = "public, max-age=31536000, immutable"
MANIFEST = spa_release.MANIFEST_KEY


class Recorder:
    """Counts the S3 calls a client makes: (operation, Key)."""

    def __init__(self, client):
        self.calls: list[tuple[str, str]] = []
        client.meta.events.register("provide-client-params.s3.*", self._record)

    def _record(self, params, model, **_):
        self.calls.append((model.name, params.get("Key", "")))

    def clear(self):
        self.calls.clear()

    def keys(self, operation, *, manifest=False):
        return sorted(k for op, k in self.calls if op == operation and (manifest or k != MANIFEST))


def make_distribution(cloudfront, bucket: str, tags: dict | None = None) -> dict:
    config = {
        "CallerReference": f"test-{bucket}-{len(tags or {})}",
        "Comment": "test distribution",
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "site",
                    "DomainName": f"{bucket}.s3.{REGION}.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "site",
            "ViewerProtocolPolicy": "redirect-to-https",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
        },
    }
    if tags:
        items = [{"Key": k, "Value": v} for k, v in tags.items()]
        return cloudfront.create_distribution_with_tags(
            DistributionConfigWithTags={"DistributionConfig": config, "Tags": {"Items": items}}
        )["Distribution"]
    return cloudfront.create_distribution(DistributionConfig=config)["Distribution"]


def build(tmp: Path, name: str, *, js: str | None = None, robots: bool = True) -> Path:
    """A copy of the demo build; `js` replaces the app script (renamed to its new hash, index.html updated)."""
    target = tmp / name
    shutil.copytree(DEMO, target)
    if js is not None:
        old = next((target / "assets").glob("app-*.js"))
        new_name = f"app-{hashlib.sha256(js.encode()).hexdigest()[:8]}.js"
        old.unlink()
        (target / "assets" / new_name).write_text(js)
        index = target / "index.html"
        index.write_text(index.read_text().replace(old.name, new_name))
    if not robots:
        (target / "robots.txt").unlink()
    return target


def asset(build_dir: Path) -> str:
    return "assets/" + next((build_dir / "assets").glob("app-*.js")).name


def body(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def keys(s3) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


@pytest.fixture(scope="module")
def s3(aws):
    return aws("s3")


@pytest.fixture(scope="module")
def cloudfront(aws):
    return aws("cloudfront", "us-east-1")


@pytest.fixture(scope="module")
def recorder(s3):
    return Recorder(s3)


@pytest.fixture(scope="module")
def site(s3, cloudfront, tmp_path_factory):
    """A versioned bucket, a distribution, four builds: v1 (the demo), v2 (one changed script),
    v3 (another script, no robots.txt), v4 (a third script)."""
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    tmp = tmp_path_factory.mktemp("builds")
    builds = {
        "v1": build(tmp, "v1"),
        "v2": build(tmp, "v2", js="console.log('v2');\n"),
        "v3": build(tmp, "v3", js="console.log('v3');\n", robots=False),
        "v4": build(tmp, "v4", js="console.log('v4');\n", robots=False),
    }
    distribution = make_distribution(cloudfront, BUCKET)
    yield types.SimpleNamespace(builds=builds, distribution_id=distribution["Id"], results={})
    versions = s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET)
    for page in versions:
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            s3.delete_objects(Bucket=BUCKET, Delete={"Objects": doomed})
    s3.delete_bucket(Bucket=BUCKET)


def publish(site, s3, cloudfront, name, **kw):
    kw.setdefault("keep_releases", 2)
    result = spa_release.publish(s3, cloudfront, BUCKET, str(site.builds[name]), site.distribution_id, **kw)
    site.results[name] = result
    return result


def invalidations(cloudfront, site) -> list[dict]:
    listed = cloudfront.list_invalidations(DistributionId=site.distribution_id)["InvalidationList"]
    return listed.get("Items", [])


def paths_of(cloudfront, site, invalidation_id) -> list[str]:
    inv = cloudfront.get_invalidation(DistributionId=site.distribution_id, Id=invalidation_id)["Invalidation"]
    return sorted(inv["InvalidationBatch"]["Paths"]["Items"])


# The tests below run in file order and build on each other (one bucket, successive releases).
def test_first_publish_sets_types_and_cache_policies(site, s3, cloudfront, recorder):
    recorder.clear()
    result = publish(site, s3, cloudfront, "v1", wait=True)
    v1 = site.builds["v1"]
    expected = {
        "index.html": ("text/html; charset=utf-8", "no-cache"),
        "favicon.ico": ("image/x-icon", "no-cache"),
        "robots.txt": ("text/plain; charset=utf-8", "no-cache"),
        asset(v1): ("text/javascript; charset=utf-8", IMMUTABLE),
        "assets/" + next((v1 / "assets").glob("app-*.css")).name: ("text/css; charset=utf-8", IMMUTABLE),
    }
    for key, (ctype, cache) in expected.items():
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert (head["ContentType"], head.get("CacheControl")) == (ctype, cache), key
        assert body(s3, key) == (v1 / key).read_bytes()
    # Hashed assets went first to their final keys; unhashed files were staged, then copied live.
    staged = {f"_webstack/releases/{result['release']}/{p}" for p in ("index.html", "favicon.ico", "robots.txt")}
    assert recorder.keys("PutObject") == sorted(staged | {k for k in expected if k.startswith("assets/")})
    assert recorder.keys("CopyObject") == ["favicon.ico", "index.html", "robots.txt"]
    assert [k for op, k in recorder.calls if op == "CopyObject"][-1] == "index.html"  # live last
    assert result["invalidation"]["status"] == "Completed"
    assert paths_of(cloudfront, site, result["invalidation"]["id"]) == [
        "/",
        "/favicon.ico",
        "/index.html",
        "/robots.txt",
    ]
    assert spa_release.status(s3, BUCKET)["live"] == result["release"]


def test_second_publish_of_the_same_build_uploads_and_invalidates_nothing(site, s3, cloudfront, recorder):
    before, first = len(invalidations(cloudfront, site)), site.results["v1"]["release"]
    recorder.clear()
    result = publish(site, s3, cloudfront, "v1")
    writes = [c for c in recorder.calls if c[0] in ("PutObject", "CopyObject", "DeleteObjects", "DeleteObject")]
    assert writes == []
    assert result["changed"] is False and result["invalidation"] is None
    assert result["release"] == first
    assert len(invalidations(cloudfront, site)) == before


def test_one_changed_asset_uploads_it_and_index_only(site, s3, cloudfront, recorder):
    recorder.clear()
    result = publish(site, s3, cloudfront, "v2")
    v1, v2 = site.builds["v1"], site.builds["v2"]
    assert recorder.keys("PutObject") == sorted([asset(v2), f"_webstack/releases/{result['release']}/index.html"])
    # index.html went live by a server-side copy; unchanged favicon/robots were not touched at the root.
    assert recorder.keys("CopyObject") == sorted(
        [
            f"_webstack/releases/{result['release']}/favicon.ico",
            f"_webstack/releases/{result['release']}/robots.txt",
            "index.html",
        ]
    )
    assert body(s3, "index.html") == (v2 / "index.html").read_bytes()
    assert paths_of(cloudfront, site, result["invalidation"]["id"]) == ["/", "/index.html"]
    # The previous release's script stays for tabs still running the old index.html.
    assert asset(v1) in keys(s3)
    assert result["previous_release"] == site.results["v1"]["release"]


def test_a_removed_file_leaves_the_root_and_is_invalidated(site, s3, cloudfront, recorder):
    recorder.clear()
    result = publish(site, s3, cloudfront, "v3")
    assert "robots.txt" not in keys(s3)
    assert result["removed"] == ["robots.txt"]
    assert paths_of(cloudfront, site, result["invalidation"]["id"]) == ["/", "/index.html", "/robots.txt"]


def test_old_releases_beyond_keep_are_pruned_the_last_ones_kept(site, s3):
    v1, v2, v3 = (site.results[n]["release"] for n in ("v1", "v2", "v3"))
    held = keys(s3)
    # keep_releases=2: v3 (live) and v2 (previous) keep their files; v1's are gone.
    assert site.results["v3"]["pruned_releases"] == [v1]
    assert asset(site.builds["v1"]) not in held
    assert not any(k.startswith(f"_webstack/releases/{v1}/") for k in held)
    assert {asset(site.builds["v2"]), asset(site.builds["v3"])} <= held
    assert f"_webstack/releases/{v2}/index.html" in held
    # The stylesheet is shared by every release and therefore kept.
    assert "assets/" + next((site.builds["v1"] / "assets").glob("app-*.css")).name in held
    assert [r["id"] for r in spa_release.status(s3, BUCKET)["releases"]] == [v3, v2]


def test_rollback_switches_back_without_uploading(site, s3, cloudfront, recorder):
    recorder.clear()
    result = spa_release.rollback(s3, cloudfront, BUCKET, site.distribution_id)
    v2 = site.builds["v2"]
    assert result["release"] == site.results["v2"]["release"]
    # Nothing from disk: the only PutObject is the release manifest.
    assert recorder.keys("PutObject") == []
    assert recorder.keys("PutObject", manifest=True) == [MANIFEST]
    assert recorder.keys("CopyObject") == ["index.html", "robots.txt"]
    assert body(s3, "index.html") == (v2 / "index.html").read_bytes()
    assert body(s3, "robots.txt") == (v2 / "robots.txt").read_bytes()
    assert paths_of(cloudfront, site, result["invalidation"]["id"]) == ["/", "/index.html", "/robots.txt"]
    state = spa_release.status(s3, BUCKET)
    assert state["live"] == site.results["v2"]["release"] and state["previous"] == site.results["v3"]["release"]


def test_rollback_to_a_named_release_and_refusals(site, s3, cloudfront):
    v3 = site.results["v3"]["release"]
    result = spa_release.rollback(s3, cloudfront, BUCKET, site.distribution_id, to=v3)
    assert result["release"] == v3 and body(s3, "index.html") == (site.builds["v3"] / "index.html").read_bytes()
    again = spa_release.rollback(s3, cloudfront, BUCKET, site.distribution_id, to=v3)
    assert again["changed"] is False and again["invalidation"] is None
    with pytest.raises(spa_release.ReleaseError, match="not kept"):
        spa_release.rollback(s3, cloudfront, BUCKET, to=site.results["v1"]["release"])


def test_check_mode_reports_and_writes_nothing(site, s3, cloudfront, recorder):
    recorder.clear()
    result = publish(site, s3, cloudfront, "v4", check_mode=True)
    assert result["changed"] is True
    assert result["uploaded"] == [asset(site.builds["v4"]), f"_webstack/releases/{result['release']}/index.html"]
    assert result["invalidation"]["paths"] == ["/", "/index.html"] and result["invalidation"]["id"] is None
    assert [c for c in recorder.calls if c[0] not in ("GetObject", "HeadObject", "ListObjectsV2")] == []


def test_the_role_entry_points_publish_and_roll_back(emulator, aws, tmp_path):
    """publish.yml / rollback.yml through ansible-runner: the role's bucket, the demo build, then a
    rollback; the distribution is found by its tags through the cdn role's outputs."""
    cloudfront = aws("cloudfront", "us-east-1")
    account = aws("sts").get_caller_identity()["Account"]
    bucket = f"{PROJECT}-local-site-{account}"
    tags = {"Name": f"{PROJECT}-local-cdn", "Project": PROJECT, "Environment": "local", "ManagedBy": "webstack"}
    distribution = make_distribution(cloudfront, bucket, tags)
    v2 = build(tmp_path, "v2", js="console.log('role v2');\n")

    def play(action, build_dir=DEMO, state="present"):
        args = types.SimpleNamespace(env="local", verbose=False, tags=None, ansible_args=[])
        target = runner.Target(env=emulator.client_env(), label=emulator.url)
        extravars = {
            "webstack_project": PROJECT,
            "webstack_state": state,
            "static_site_action": action,
            "static_site_build_dir": str(build_dir),
        }
        return runner.run_layer(f"publish-{action}", PLAYBOOK, args, target, extravars, "")

    try:
        first = play("publish")
        assert first.rc == 0, first
        release = first.outputs["static_site_release"]
        s3 = aws("s3")
        assert s3.get_object(Bucket=bucket, Key="index.html")["Body"].read() == (DEMO / "index.html").read_bytes()
        assert release["invalidation"]["paths"] == ["/", "/favicon.ico", "/index.html", "/robots.txt"]
        ids = [
            i["Id"]
            for i in cloudfront.list_invalidations(DistributionId=distribution["Id"])["InvalidationList"]["Items"]
        ]
        assert release["invalidation"]["id"] in ids

        again = play("publish")
        assert again.rc == 0 and again.hosts["localhost"]["changed"] == 0, again

        second = play("publish", v2)
        assert second.rc == 0 and second.outputs["static_site_release"]["uploaded"] == [
            asset(v2),
            f"_webstack/releases/{second.outputs['static_site_release']['release']}/index.html",
        ]
        back = play("rollback")
        assert back.rc == 0, back
        assert back.outputs["static_site_release"]["release"] == release["release"]
        assert s3.get_object(Bucket=bucket, Key="index.html")["Body"].read() == (DEMO / "index.html").read_bytes()
    finally:
        removed = play("publish", state="absent")
        cloudfront_config = cloudfront.get_distribution_config(Id=distribution["Id"])
        config = cloudfront_config["DistributionConfig"]
        config["Enabled"] = False
        etag = cloudfront.update_distribution(
            Id=distribution["Id"], DistributionConfig=config, IfMatch=cloudfront_config["ETag"]
        )["ETag"]
        cloudfront.delete_distribution(Id=distribution["Id"], IfMatch=etag)
    assert removed.rc == 0
    assert bucket not in {b["Name"] for b in aws("s3").list_buckets()["Buckets"]}
