# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many small PUTs into one bucket for the CPU of a signature each.

A boto3 call spends about a millisecond of the caller's CPU around its request (parameter
validation, endpoint rules, a dozen events, response parsing). For a build of thousands of small
files that, not S3, sets the pace of an upload (benchmarks/README.md). DirectPut sends the same
request itself:

* at the URL botocore resolved for the bucket's first upload that S3 took, which it learns by
  watching that upload (botocore's endpoint rules and region redirects stay the only place that
  builds S3 URLs);
* signed by botocore's own S3 signer, with the client's current credentials and the region and
  service botocore signed that first upload for;
* with the body's SHA-256 in the signature (the signer signs the payload of a request without a
  checksum header), so that S3 checks the body;
* through the client's own HTTP session: its connection pool, proxies, TLS verification and
  timeouts.

Anything but a 200 with an ETag (an error, a redirect, a dropped connection) is sent again by
`put_object`, with botocore's retries and error reporting, so a failure ends as it would without
DirectPut. The two private attributes it reads (the client's signer credentials and HTTP session)
are checked once; a botocore without them, a non-SigV4 signature or a URL it cannot rebuild leave
every PUT to `put_object`.
"""

from __future__ import annotations

import contextlib
import threading

with contextlib.suppress(ImportError):  # the callers report a missing botocore
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.utils import percent_encode

SIGV4 = "AWS4-HMAC-SHA256"
SAFE_IN_KEYS = "/~"  # what botocore leaves unescaped in an S3 key's path


def learned_route(url: str, authorization: str, key: str, user_agent: str = "") -> tuple | None:
    """(URL prefix, region, service, user agent) from a PutObject botocore sent for `key`, or None
    when the URL is not the prefix plus the escaped key or the signature is not SigV4."""
    algorithm, _, fields = authorization.partition(" ")
    if algorithm != SIGV4 or "?" in url:
        return None
    escaped = percent_encode(key, safe=SAFE_IN_KEYS)
    if not url.endswith("/" + escaped):
        return None
    credential = dict(part.strip().split("=", 1) for part in fields.split(",") if "=" in part).get("Credential", "")
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return None
    return url[: -len(escaped)], scope[2], scope[3], user_agent


class DirectPut:
    """PUTs into `bucket` through `s3`, amazon.aws's retrying wrapper of a boto3 client.
    `direct` and `fallbacks` count the PUTs sent directly and those sent again by put_object."""

    def __init__(self, s3, bucket: str):
        self.s3, self.bucket = s3, bucket
        client = s3.client
        self.credentials = getattr(getattr(client, "_request_signer", None), "_credentials", None)
        self.http = getattr(getattr(client, "_endpoint", None), "http_session", None)
        self.events = client.meta.events
        self.route: tuple | None = None
        self.direct = 0
        self.fallbacks = 0
        self._lock = threading.Lock()
        self._sending = threading.local()
        self._watching = self.credentials is not None and self.http is not None
        # Each handler needs its own id: botocore ignores a second registration under an id it has.
        self._hooks = [
            ("before-send.s3.PutObject", self._candidate, f"direct-put-candidate-{id(self)}"),
            ("after-call.s3.PutObject", self._learn, f"direct-put-learn-{id(self)}"),
        ]
        if self._watching:
            for event, handler, unique_id in self._hooks:
                self.events.register(event, handler, unique_id=unique_id)

    def close(self) -> None:
        if self._watching:
            self._watching = False
            for event, _, unique_id in self._hooks:
                self.events.unregister(event, unique_id=unique_id)

    def put(self, key: str, body, headers: dict) -> str:
        """PUT `body` (bytes, or a file put_object streams) at `key` with `headers` (Content-Type,
        Cache-Control, x-amz-meta-*); the object's ETag."""
        route = self.route
        if route is not None and isinstance(body, bytes):
            etag = self._send(route, key, body, headers)
            if etag is not None:
                with self._lock:
                    self.direct += 1
                return etag
            with self._lock:
                self.fallbacks += 1
        self._sending.key, self._sending.route = key, None
        try:
            params = _boto3_params(headers)
            response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, aws_retry=True, **params)
        finally:
            self._sending.key = self._sending.route = None
        return (response.get("ETag") or "").strip('"')

    def _candidate(self, request, **kwargs) -> None:
        """Each attempt put_object sends for one of ours: the route it took (a region redirect's
        retry replaces the first attempt's)."""
        key = getattr(self._sending, "key", None)
        if key is not None and self.route is None:
            headers = request.headers
            self._sending.route = learned_route(
                request.url, _text(headers.get("Authorization", "")), key, _text(headers.get("User-Agent", ""))
            )

    def _learn(self, http_response, **kwargs) -> None:
        """The route of the attempt S3 took."""
        route = getattr(self._sending, "route", None)
        if route is not None and http_response.status_code == 200:
            self.route = route

    def _send(self, route: tuple, key: str, body: bytes, headers: dict) -> str | None:
        prefix, region, service, user_agent = route
        request = AWSRequest(
            method="PUT",
            url=prefix + percent_encode(key, safe=SAFE_IN_KEYS),
            data=body,
            headers={**headers, "User-Agent": user_agent},
        )
        try:
            S3SigV4Auth(self.credentials.get_frozen_credentials(), service, region).add_auth(request)
            response = self.http.send(request.prepare())
            response.content  # noqa: B018 - read to the end, so that the connection goes back to the pool
        except Exception:
            return None
        etag = response.headers.get("ETag")
        return etag.strip('"') if response.status_code == 200 and etag else None


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


BOTO3_PARAMS = {"Content-Type": "ContentType", "Cache-Control": "CacheControl"}
METADATA = "x-amz-meta-"


def _boto3_params(headers: dict) -> dict:
    params = {BOTO3_PARAMS[name]: value for name, value in headers.items() if name in BOTO3_PARAMS}
    metadata = {name[len(METADATA) :]: value for name, value in headers.items() if name.startswith(METADATA)}
    return {**params, "Metadata": metadata} if metadata else params
