"""SPA publishing against the test run's moto server: spa_release.publish / rollback with boto3
(the functions runner.py's publish and rollback call), then the role's publish.yml / rollback.yml
entry points through Ansible. Every S3 write the publisher makes is recorded with a botocore event
hook (and, for the uploads DirectPut sends past the client's events, where it sends them), so
"uploads nothing" is counted, not assumed."""

from __future__ import annotations

import hashlib
import json
import shutil
import types
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from ansible_collections.webstack.aws.plugins.module_utils import spa_release
from ansible_collections.webstack.aws.plugins.module_utils.s3_direct_put import DirectPut
from tests.conftest import REGION
from webstack import cli
from webstack.emulator import FAKE_CREDENTIALS
from webstack.layers import Target, run_layer

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo" / "spa" / "dist"
PLAYBOOK = REPO / "tests" / "integration" / "playbooks" / "static_site_publish.yml"
BUCKET = "t-publish-local-site-000000000000"
PROJECT = "t-publish-role"
IMMUTABLE = "public, max-age=31536000, immutable"
MANIFEST = spa_release.MANIFEST_KEY


# (client, callback(phase, key)) told of each PUT DirectPut sends past that client's events.
DIRECT_PUT_WATCHERS: list = []


@pytest.fixture(scope="module", autouse=True)
def direct_puts_seen():
    """DirectPut (module_utils/s3_direct_put.py) sends most uploads past the client's events: the
    Recorder and InFlight below see them here, as PutObject calls of the client they went through
    ("start", then "done" when S3 took it or "refused" when put_object sends it again)."""
    send = DirectPut._send

    def watched(putter, route, key, body, headers):
        watchers = [watch for client, watch in DIRECT_PUT_WATCHERS if client is putter.s3.client]
        for watch in watchers:
            watch("start", key)
        etag = None
        try:
            etag = send(putter, route, key, body, headers)
        finally:
            for watch in watchers:
                watch("refused" if etag is None else "done", key)
        return etag

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DirectPut, "_send", watched)
        yield


class Recorder:
    """Counts the S3 calls a client makes: (operation, Key)."""

    def __init__(self, client):
        self.calls: list[tuple[str, str]] = []
        self.direct = 0  # of the PutObject calls, those DirectPut sent
        client.meta.events.register("provide-client-params.s3.*", self._record)
        DIRECT_PUT_WATCHERS.append((client, self._direct))

    def _record(self, params, model, **_):
        self.calls.append((model.name, params.get("Key", "")))

    def _direct(self, phase, key):
        if phase == "done":
            self.calls.append(("PutObject", key))
            self.direct += 1

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
        target = Target(env=emulator.client_env(), label=emulator.url)
        extravars = {
            "webstack_project": PROJECT,
            "webstack_state": state,
            "static_site_action": action,
            "static_site_build_dir": str(build_dir),
        }
        return run_layer(f"publish-{action}", PLAYBOOK, args, target, extravars, "")

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


# -- speed: one listing, no per-file reads, parallel uploads (issue 11) ---------------------------
def fresh_bucket(s3, name: str, tags: dict | None = None) -> str:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    return name


def many_files(tmp: Path, name: str, count: int) -> Path:
    target = tmp / name
    (target / "assets").mkdir(parents=True)
    for n in range(count):
        content = f"export const n = {n};\n".encode()
        (target / "assets" / f"chunk{n}-{hashlib.sha256(content).hexdigest()[:8]}.js").write_bytes(content)
    (target / "index.html").write_text("<!doctype html><title>many</title>\n")
    return target


class InFlight:
    """The most PutObject calls a client had in flight at once."""

    def __init__(self, client):
        import threading

        self.lock, self.now, self.most = threading.Lock(), 0, 0
        client.meta.events.register("before-call.s3.PutObject", self._start)
        client.meta.events.register("after-call.s3.PutObject", self._end)
        DIRECT_PUT_WATCHERS.append((client, lambda phase, key: self._start() if phase == "start" else self._end()))

    def _start(self, **_):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def _end(self, **_):
        with self.lock:
            self.now -= 1


def test_a_publish_compares_by_one_listing_and_uploads_in_parallel(aws, tmp_path):
    """First publish: every file uploaded, several at once over one client; again: one listing, no
    HEAD, nothing written, changed=false; index.html changed: one upload, one copy live, the
    manifest, an invalidation of / and /index.html."""
    s3 = aws("s3")
    session = boto3.session.Session(**{k.lower(): v for k, v in FAKE_CREDENTIALS.items()})
    config = Config(**spa_release.CLIENT_CONFIG)
    session_client = session.client("s3", region_name=REGION, endpoint_url=s3.meta.endpoint_url, config=config)
    bucket = fresh_bucket(s3, "t-publish-speed-000000000000")
    recorder, in_flight = Recorder(session_client), InFlight(session_client)
    site = many_files(tmp_path, "many", 60)
    try:
        first = spa_release.publish(session_client, None, bucket, str(site))
        assert len(first["uploaded"]) == 61 and first["changed"] is True
        assert in_flight.most > 1, "uploads ran one after another"
        # Those that started before the first PUT showed DirectPut the bucket's URL went by put_object.
        assert recorder.keys("PutObject") == sorted(first["uploaded"])
        assert recorder.direct >= 61 - spa_release.WORKERS
        assert recorder.keys("HeadObject") == []  # an empty bucket: nothing to compare

        recorder.clear()
        again = spa_release.publish(session_client, None, bucket, str(site))
        assert again["changed"] is False and again["uploaded"] == [] and again["went_live"] == []
        operations = sorted(op for op, _ in recorder.calls)
        assert operations == ["GetObject", "ListObjectsV2"], operations  # the manifest and one listing

        recorder.clear()
        (site / "index.html").write_text("<!doctype html><title>many, v2</title>\n")
        changed = spa_release.publish(session_client, None, bucket, str(site))
        assert changed["uploaded"] == [f"_webstack/releases/{changed['release']}/index.html"]
        assert changed["went_live"] == ["index.html"]
        assert recorder.keys("CopyObject") == ["index.html"]
        assert recorder.keys("PutObject", manifest=True) == sorted([MANIFEST, *changed["uploaded"]])
        assert len(recorder.keys("HeadObject")) <= 1  # at most the root index.html, whose size is the same
        assert s3.get_object(Bucket=bucket, Key="index.html")["Body"].read() == (site / "index.html").read_bytes()
    finally:
        empty_bucket(s3, bucket)


def test_an_object_the_manifest_does_not_vouch_for_is_read_and_replaced(aws, tmp_path):
    """The listing decides only for what the manifest records: an object of the same content put
    there by something else (another Cache-Control) is read with a HEAD and uploaded again."""
    s3 = aws("s3")
    bucket = fresh_bucket(s3, "t-publish-vouch-000000000000")
    site = many_files(tmp_path, "few", 2)
    key = next(p for p in keys_of(site) if p.startswith("assets/"))
    s3.put_object(Bucket=bucket, Key=key, Body=(site / key).read_bytes(), CacheControl="max-age=60")
    try:
        recorder = Recorder(s3)
        result = spa_release.publish(s3, None, bucket, str(site))
        assert key in result["uploaded"]
        assert recorder.keys("HeadObject") == [key]
        assert s3.head_object(Bucket=bucket, Key=key)["CacheControl"] == IMMUTABLE
    finally:
        empty_bucket(s3, bucket)


def keys_of(build_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(build_dir)) for p in build_dir.rglob("*") if p.is_file())


def empty_bucket(s3, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed})
    s3.delete_bucket(Bucket=bucket)


# -- runner.py publish / rollback: the library directly, or the playbook (--ansible) ---------------
def released(s3, bucket: str) -> dict:
    """What a publish left in a bucket, comparable between two buckets: every key with its type,
    cache policy and sha256, and the manifest without its timestamps."""
    objects = {}
    listed = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    for key in sorted(o["Key"] for page in listed for o in page.get("Contents", [])):
        if key == MANIFEST:
            continue
        head = s3.head_object(Bucket=bucket, Key=key)
        objects[key] = (head["ContentType"], head.get("CacheControl"), head["Metadata"].get("sha256"))
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=MANIFEST)["Body"].read())
    for release in manifest["releases"]:
        release.pop("created"), release.pop("published")
    return {"objects": objects, "manifest": manifest}


def test_runner_publish_calls_the_library_and_equals_the_playbook(emulator, aws, tmp_path):
    """runner.py publish / rollback without --ansible call spa_release directly; with --ansible they
    run playbooks/publish.yml / rollback.yml. Two stacks, the same builds: the same objects,
    headers, manifest, reported release and invalidation paths, and the direct route is faster."""
    s3, cloudfront = aws("s3"), aws("cloudfront", "us-east-1")
    account = aws("sts").get_caller_identity()["Account"]
    v2 = build(tmp_path, "v2", js="console.log('runner v2');\n")
    stacks, distributions = {"direct": "t-pub-direct", "ansible": "t-pub-ansible"}, {}
    for project in stacks.values():
        identity = {"Project": project, "Environment": "local", "ManagedBy": "webstack"}
        fresh_bucket(s3, f"{project}-local-site-{account}", identity)
        tags = {**identity, "Name": f"{project}-local-cdn"}
        distributions[project] = make_distribution(cloudfront, f"{project}-local-site-{account}", tags)["Id"]

    def run(route, command, *options):
        summary_file = tmp_path / f"{route}-{command}-{len(list(tmp_path.iterdir()))}.json"
        argv = [command, "--env", "local", "--endpoint-url", emulator.url, "--summary-file", str(summary_file)]
        argv += ["-e", json.dumps({"webstack_project": stacks[route]}), *options]
        argv += ["--ansible"] if route == "ansible" else []
        assert cli.main(argv) == 0, summary_file.read_text() if summary_file.exists() else argv
        return json.loads(summary_file.read_text())

    try:
        runs = {}
        for route in stacks:
            runs[route] = [
                run(route, "publish", "--build-dir", str(DEMO)),
                run(route, "publish", "--build-dir", str(DEMO)),
                run(route, "publish", "--build-dir", str(v2)),
                run(route, "rollback"),
            ]
        for step in range(4):
            direct, playbook = (runs[route][step] for route in stacks)
            one, other = (dict(s["outputs"]["static_site_release"]) for s in (direct, playbook))
            for reported in (one, other):
                if reported.get("invalidation"):
                    reported["invalidation"].pop("id")
                    reported["invalidation"]["status"] = "InProgress" if reported["invalidation"]["status"] else None
            assert one == other, step
            assert direct["hosts"]["localhost"]["changed"] == (0 if step == 1 else 1), (step, direct["hosts"])
            assert playbook["hosts"]["localhost"]["changed"] == (0 if step == 1 else 1), (step, playbook["hosts"])
            assert direct["outputs"]["cdn"]["distribution_id"] == distributions[stacks["direct"]]
            assert set(direct["outputs"]) == set(playbook["outputs"]), step
        assert runs["direct"][0]["outputs"]["static_site_release"]["invalidation"]["paths"] == [
            "/",
            "/favicon.ico",
            "/index.html",
            "/robots.txt",
        ]
        one, other = (released(s3, f"{project}-local-site-{account}") for project in stacks.values())
        assert one == other
        assert sum(r["duration_s"] for r in runs["direct"]) < sum(r["duration_s"] for r in runs["ansible"])
    finally:
        for project, distribution_id in distributions.items():
            empty_bucket(s3, f"{project}-local-site-{account}")
            config = cloudfront.get_distribution_config(Id=distribution_id)
            config["DistributionConfig"]["Enabled"] = False
            etag = cloudfront.update_distribution(
                Id=distribution_id, DistributionConfig=config["DistributionConfig"], IfMatch=config["ETag"]
            )["ETag"]
            cloudfront.delete_distribution(Id=distribution_id, IfMatch=etag)


def test_runner_publish_directly_names_a_missing_bucket(emulator, tmp_path, capsys):
    argv = ["publish", "--env", "local", "--endpoint-url", emulator.url, "--summary-file", str(tmp_path / "s.json")]
    assert cli.main([*argv, "-e", "webstack_project=t-pub-nobucket"]) == 2
    err = capsys.readouterr().err
    assert "[publish] FAILED   Publish the build as the live release" in err
    assert "no bucket t-pub-nobucket-local-site-" in err and "deploy the frontend first" in err
