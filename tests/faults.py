"""A fault-injecting HTTP proxy between the project and moto, on loopback.

It answers a configurable share of AWS requests the way each service really refuses work, before the
request reaches moto (so a fault never half-applies a call, as with AWS's own throttling):

* S3: 503 SlowDown (XML); EC2: 503 RequestLimitExceeded (EC2's XML);
* JSON services (ACM, Secrets Manager, ...): 400 ThrottlingException;
* query and rest-xml services (ELBv2, Auto Scaling, RDS, IAM, CloudWatch, STS, Route 53,
  CloudFront): 400 Throttling;
* a bare 503 with no body, and a connection reset without any answer.

HEAD answers never carry a body. Everything else is forwarded to moto unchanged.

    with FaultProxy(emulator.url, share=0.1) as proxy:
        ... point AWS_ENDPOINT_URL at proxy.url ...
    proxy.injected  # Counter of the faults it answered, by kind
"""

from __future__ import annotations

import http.client
import random
import re
import socket
import struct
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import boto3
from botocore.config import Config

from webstack.emulator import FAKE_CREDENTIALS

JSON_THROTTLE = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
QUERY_THROTTLE = (
    b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
    b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    b"<RequestId>fault-proxy</RequestId></ErrorResponse>"
)
EC2_THROTTLE = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code>'
    b"<Message>Request limit exceeded.</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>"
)
S3_SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>"
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}
SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def service_of(headers) -> str:
    """The signing name of the service a request is for (s3, ec2, acm, ...), from its SigV4 scope."""
    match = SCOPE.search(headers.get("Authorization", ""))
    return match.group(1) if match else ""


def throttle(service: str, headers) -> tuple[int, str, bytes]:
    """(status, content type, body) of the service's own throttling answer."""
    if service == "s3":
        return 503, "application/xml", S3_SLOW_DOWN
    if service == "ec2":
        return 503, "text/xml", EC2_THROTTLE
    if "X-Amz-Target" in headers or "json" in headers.get("Content-Type", ""):
        return 400, "application/x-amz-json-1.1", JSON_THROTTLE
    return 400, "text/xml", QUERY_THROTTLE


KINDS = ("throttle", "throttle", "bare-503", "reset")


class FaultProxy:
    """Forwards to `upstream`, answering `share` of the AWS requests with a fault, and the first
    request to each service too (so that every service the run calls is seen failing at least once,
    however few calls it gets). The faults rotate through throttling, a bare 503 and a reset
    connection."""

    def __init__(self, upstream: str, share: float, seed: int = 20261125, kinds: tuple[str, ...] = KINDS):
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.share = share
        self.kinds = kinds
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: Counter = Counter()
        self.forwarded = 0
        self.seen: set[str] = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fault-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def draw(self, service: str) -> str | None:
        """The fault to answer with, or None to forward."""
        if not service:  # not an AWS call (the emulator's own API)
            return None
        with self.lock:
            first = service not in self.seen
            self.seen.add(service)
            if not first and self.random.random() >= self.share:
                self.forwarded += 1
                return None
            kind = self.kinds[len(self.seen) % len(self.kinds)] if first else self.random.choice(self.kinds)
            self.injected[f"{kind}:{service}"] += 1
            return kind

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: the tests read proxy.injected
                pass

            def body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def answer(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-amzn-RequestId", "fault-proxy")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def reset(self) -> None:
                # SO_LINGER 0: close() sends RST, as a dropped connection does.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def forward(self, body: bytes) -> None:
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=300)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    headers["Content-Length"] = str(len(body))
                try:
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                finally:
                    upstream.close()
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def handle_any(self) -> None:
                body = self.body()
                service = service_of(self.headers)
                kind = proxy.draw(service)
                if kind == "reset":
                    self.reset()
                elif kind == "bare-503":
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif kind == "throttle":
                    self.answer(*throttle(service, self.headers))
                else:
                    self.forward(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any

        return Handler


def proxied_client(proxy: FaultProxy, service: str, retries: dict, region: str = "ap-northeast-2"):
    """A boto3 client whose every call goes through `proxy`, with moto's fake credentials."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=proxy.url,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries=retries),
    )
