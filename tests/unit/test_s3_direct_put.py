"""module_utils/s3_direct_put.py: publish's PUTs signed and sent without boto3's per-call work, at
the URL botocore resolved, with put_object taking over whatever does not succeed. Against the
test run's emulator, read back with boto3."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError

from ansible_collections.webstack.aws.plugins.module_utils.cloudfront import retrying
from ansible_collections.webstack.aws.plugins.module_utils.s3_direct_put import DirectPut, learned_route

REGION = "ap-northeast-2"
SIGNED = "AWS4-HMAC-SHA256 Credential=AKID/20261205/{region}/s3/aws4_request, SignedHeaders=host, Signature=ab"


@pytest.mark.parametrize(
    ("url", "key", "prefix"),
    [
        ("http://127.0.0.1:5000/site/assets/a-1.js", "assets/a-1.js", "http://127.0.0.1:5000/site/"),
        (
            "https://site.s3.eu-west-1.amazonaws.com/index.html",
            "index.html",
            "https://site.s3.eu-west-1.amazonaws.com/",
        ),
        ("https://b.s3.amazonaws.com/a%20b/%E2%9C%93~x%2By", "a b/✓~x+y", "https://b.s3.amazonaws.com/"),
    ],
)
def test_the_route_is_the_url_without_the_escaped_key_and_the_signing_scope(url, key, prefix):
    assert learned_route(url, SIGNED.format(region="eu-west-1"), key, "Boto3/1") == (
        prefix,
        "eu-west-1",
        "s3",
        "Boto3/1",
    )


@pytest.mark.parametrize(
    ("url", "authorization"),
    [
        ("http://h/site/k?x-id=PutObject", SIGNED.format(region=REGION)),  # a query string to rebuild
        ("http://h/site/other", SIGNED.format(region=REGION)),  # not this key's URL
        ("http://h/site/k", "AWS4-ECDSA-P256-SHA256 Credential=AKID/20261205/s3/aws4_request"),  # SigV4a
        ("http://h/site/k", "AWS4-HMAC-SHA256 Credential=AKID/20261205/s3/aws4_request"),  # a short scope
    ],
)
def test_no_route_from_a_request_it_could_not_rebuild(url, authorization):
    assert learned_route(url, authorization, "k") is None


@pytest.fixture
def bucket(aws, request):
    s3 = aws("s3")
    name = f"direct-put-{request.node.name[5:30].replace('_', '-')}".rstrip("-")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield s3, name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


def _put(putter, key: str, body: bytes, **headers):
    headers = {"Content-Type": "text/javascript", "Cache-Control": "no-cache", "x-amz-meta-sha256": "f00", **headers}
    return putter.put(key, body, headers)


def test_after_the_first_put_the_rest_go_direct_and_s3_holds_what_put_object_would(bucket):
    s3, name = bucket
    putter = DirectPut(retrying(s3), name)
    keys = ["index.html", "assets/a b+c~d.js", "assets/ünï.css", "deep/er/x.svg"]
    etags = [_put(putter, key, key.encode() * 100) for key in keys]
    putter.close()
    assert (putter.direct, putter.fallbacks) == (len(keys) - 1, 0)
    for key, etag in zip(keys, etags, strict=True):
        found = s3.get_object(Bucket=name, Key=key)
        assert found["Body"].read() == key.encode() * 100
        assert (found["ContentType"], found["CacheControl"], found["Metadata"]) == (
            "text/javascript",
            "no-cache",
            {"sha256": "f00"},
        )
        assert etag == found["ETag"].strip('"') == hashlib.md5(key.encode() * 100).hexdigest()


def test_a_put_whose_connection_drops_is_sent_again_by_put_object(bucket, monkeypatch):
    s3, name = bucket
    putter = DirectPut(retrying(s3), name)
    _put(putter, "first.js", b"1")
    sent, send = [], putter.http.send

    def drop_the_first(request):  # the client's own session: put_object sends through it too
        sent.append(request.url)
        if len(sent) == 1:
            raise ConnectionResetError("dropped")
        return send(request)

    monkeypatch.setattr(putter.http, "send", drop_the_first)
    _put(putter, "second.js", b"2")
    putter.close()
    assert (putter.direct, putter.fallbacks, len(sent)) == (0, 1, 2)
    assert s3.get_object(Bucket=name, Key="second.js")["Body"].read() == b"2"


def test_through_throttling_503s_and_resets_every_object_arrives(bucket, emulator):
    """Through the fault proxy answering a third of requests with S3's SlowDown, a bare 503 or a
    reset: the refused direct PUTs are sent again by put_object, whose retries carry them."""
    from tests.faults import FaultProxy, proxied_client

    s3, name = bucket
    with FaultProxy(emulator.url, share=0.33) as proxy:
        through = proxied_client(proxy, "s3", {"mode": "standard", "total_max_attempts": 10}, REGION)
        putter = DirectPut(retrying(through), name)
        for n in range(24):
            _put(putter, f"assets/{n}.js", str(n).encode())
        putter.close()
    assert putter.direct > 5 and putter.fallbacks > 2, (putter.direct, putter.fallbacks, proxy.injected)
    listed = s3.list_objects_v2(Bucket=name)["Contents"]
    assert sorted(obj["Key"] for obj in listed) == sorted(f"assets/{n}.js" for n in range(24))
    assert all(obj["ETag"].strip('"') == hashlib.md5(obj["Key"][7:-3].encode()).hexdigest() for obj in listed)


def test_a_missing_bucket_fails_as_put_object_fails_and_teaches_no_route(aws):
    putter = DirectPut(retrying(aws("s3")), "direct-put-never-made")
    for _ in range(2):
        with pytest.raises(ClientError, match="NoSuchBucket"):
            _put(putter, "index.html", b"x")
    assert (putter.route, putter.direct, putter.fallbacks) == (None, 0, 0)


def test_the_route_is_the_attempt_s3_took_not_one_a_region_redirect_replaced(aws):
    """botocore retries a PUT sent to the wrong region at the bucket's own (S3RegionRedirector):
    the route learned is the retry's. The two attempts are handed to the hooks as botocore would."""
    from types import SimpleNamespace

    putter = DirectPut(retrying(aws("s3")), "b")
    putter.close()
    putter._sending.key = "k"

    def attempt(region: str, status: int) -> None:
        url = f"https://b.s3.{region}.amazonaws.com/k"
        putter._candidate(SimpleNamespace(url=url, headers={"Authorization": SIGNED.format(region=region)}))
        putter._learn(SimpleNamespace(status_code=status))

    attempt("us-east-1", 301)
    assert putter.route is None
    attempt("eu-west-1", 200)
    assert putter.route == ("https://b.s3.eu-west-1.amazonaws.com/", "eu-west-1", "s3", "")


def test_over_https_the_bodys_sha256_is_signed_so_s3_checks_it(aws):
    """The emulator is plain HTTP, so this one send is captured (no request leaves the process):
    over HTTPS botocore's put_object sends an unsigned payload with a CRC32 header; DirectPut,
    which sends no checksum header, has the signer sign the body's SHA-256."""
    from types import SimpleNamespace

    putter = DirectPut(retrying(aws("s3")), "b")
    putter.close()
    sent = []
    putter.http = SimpleNamespace(
        send=lambda request: (
            sent.append(request) or SimpleNamespace(status_code=200, headers={"ETag": '"e"'}, content=b"")
        )
    )
    putter.route = ("https://b.s3.eu-west-1.amazonaws.com/", "eu-west-1", "s3", "Boto3/1")
    assert putter.put("assets/a.js", b"body", {"Content-Type": "text/javascript"}) == "e"
    (request,) = sent
    assert request.url == "https://b.s3.eu-west-1.amazonaws.com/assets/a.js"
    assert request.headers["X-Amz-Content-SHA256"] == hashlib.sha256(b"body").hexdigest()
    signed = request.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"x-amz-content-sha256", "content-type", "host"} <= set(signed)
    assert "/eu-west-1/s3/aws4_request" in request.headers["Authorization"]
