"""webstack.emulator_http, the emulator's HTTP front end, against a small WSGI application that
echoes what it was given: the environ werkzeug's handler with moto's builds, and HTTP framing on
kept-open connections (pipelining, 100-continue, chunks, HEAD, closing, bad requests, failures)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

import pytest
from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import make_server
from werkzeug.wsgi import get_input_stream

from webstack import emulator_http

COMPARED = {"wsgi.input_terminated", PRESERVED_HEADER_NAMES_ENVIRON_KEY}
BIG = bytes(range(256)) * (32 * 1024)  # 8 MiB: more than a socket's buffers take
COMPARED_PLAIN = {"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "RAW_URI"}


def echo(environ, start_response):
    """Answers with the request's environ and body as JSON; /fail raises, /head-length answers
    with a Content-Length its body does not have."""
    body = get_input_stream(environ).read()  # as Flask reads it: by Content-Length or to the end of the chunks
    if environ["PATH_INFO"] == "/fail":
        raise RuntimeError("the application failed")
    seen = {
        key: value
        for key, value in environ.items()
        if key in COMPARED or key in COMPARED_PLAIN or key.startswith(("HTTP_", "CONTENT_"))
    }
    answer = json.dumps({"environ": seen, "body": body.decode("latin-1")}).encode()
    headers = [("Content-Type", "application/json")]
    headers.append(("Content-Length", "12345" if environ["PATH_INFO"] == "/head-length" else str(len(answer))))
    if environ["PATH_INFO"] == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [BIG]
    if environ["PATH_INFO"] == "/no-content":
        start_response("204 No Content", headers)
        return [b"ignored"]
    start_response("200 OK", headers)
    return [answer]


@contextlib.contextmanager
def lean_server(idle_seconds: float = emulator_http.IDLE_SECONDS):
    listener = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(
        target=emulator_http.serve_on, args=(listener, echo), kwargs={"idle_seconds": idle_seconds}, daemon=True
    )
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()  # the accept loop ends with an OSError in its daemon thread


@contextlib.contextmanager
def werkzeug_server():
    server = make_server("127.0.0.1", 0, echo, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def port():
    with lean_server() as port:
        yield port


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


class Reader:
    """Responses read one after another from one connection."""

    def __init__(self, sock: socket.socket):
        self.file = sock.makefile("rb")

    def response(self, head_only: bool = False) -> tuple[int, dict, bytes]:
        status = self.file.readline()
        assert status.startswith(b"HTTP/1.1 "), status
        headers = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = 0 if head_only else int(headers.get("content-length", 0))
        return int(status.split()[1]), headers, self.file.read(length)

    def closed(self) -> bool:
        try:
            return self.file.read(1) == b""
        except ConnectionResetError:  # closed with some of what was sent unread
            return True


def request(method: str, target: str, headers: list[tuple[str, str]], body: bytes = b"", protocol="HTTP/1.1") -> bytes:
    lines = [f"{method} {target} {protocol}", "Host: 127.0.0.1", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def echoed(port: int, raw: bytes) -> dict:
    with connect(port) as sock:
        sock.sendall(raw)
        status, _, body = Reader(sock).response()
    assert status == 200, body
    return json.loads(body)


PARITY_REQUESTS = {
    "escaped path, query, repeated headers, metadata": request(
        "PUT",
        "/bucket/a%20b/%E2%9C%93+x.js?versionId=1&prefix=%2Fa",
        [
            ("Content-Type", "text/javascript"),
            ("Content-Length", "5"),
            ("X-Amz-Meta-Digest", "abc"),
            ("x-amz-meta-a_b", "under"),
            ("X-Repeated", "1"),
            ("X-Repeated", "2"),
            ("X_Not_Metadata", "dropped"),
        ],
        b"hello",
    ),
    "a dashed header wins over its underscored twin": request(
        "PUT", "/b/k", [("x-amz-meta-a_b", "under"), ("x-amz-meta-a-b", "dash"), ("Content-Length", "0")]
    ),
    "a path starting with two slashes": request("GET", "//bucket//key", []),
    "an absolute URL names the host": request("GET", "http://bucket.s3.example:5000/key?list-type=2", []),
    "chunked": request("PUT", "/b/chunked", [("Transfer-Encoding", "chunked")]) + b"4\r\none \r\n3\r\ntwo\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("raw", PARITY_REQUESTS.values(), ids=PARITY_REQUESTS.keys())
def test_the_application_gets_what_werkzeug_with_motos_handler_gave_it(port, raw):
    with werkzeug_server() as werkzeug_port:
        expected = echoed(werkzeug_port, raw)
    assert echoed(port, raw) == expected


def test_pipelined_requests_on_one_connection_are_answered_in_order(port):
    with connect(port) as sock:
        sock.sendall(
            request("PUT", "/first", [("Content-Length", "3")], b"one")
            + request("GET", "/second", [])
            # a chunk extension and a trailer field, which werkzeug's server refuses
            + request("POST", "/third", [("Transfer-Encoding", "chunked")], b"3;x=1\r\nsix\r\n0\r\nx-a: 1\r\n\r\n")
        )
        reader = Reader(sock)
        answers = [json.loads(reader.response()[2]) for _ in range(3)]
    assert [(a["environ"]["PATH_INFO"], a["body"]) for a in answers] == [
        ("/first", "one"),
        ("/second", ""),
        ("/third", "six"),
    ]


def test_expect_100_continue_is_answered_once_and_only_when_the_client_waits(port):
    with connect(port) as sock:
        reader = Reader(sock)
        sock.sendall(request("PUT", "/waits", [("Content-Length", "4"), ("Expect", "100-continue")]))
        assert reader.file.readline() == b"HTTP/1.1 100 Continue\r\n"
        assert reader.file.readline() == b"\r\n"
        sock.sendall(b"body")
        status, _, body = reader.response()
        assert (status, json.loads(body)["body"]) == (200, "body")
        # A client that sends its body at once gets the answer only.
        sock.sendall(request("PUT", "/eager", [("Content-Length", "4"), ("Expect", "100-continue")], b"body"))
        status, _, body = reader.response()
        assert (status, json.loads(body)["body"]) == (200, "body")


def test_head_keeps_the_applications_length_and_other_answers_carry_their_own(port):
    with connect(port) as sock:
        reader = Reader(sock)
        sock.sendall(request("HEAD", "/head-length", []))
        status, headers, body = reader.response(head_only=True)
        assert (status, headers["content-length"], body) == (200, "12345", b"")
        sock.sendall(request("GET", "/head-length", []))
        status, headers, body = reader.response()
        assert int(headers["content-length"]) == len(body)
        assert json.loads(body)["environ"]["PATH_INFO"] == "/head-length"
        sock.sendall(request("GET", "/no-content", []))
        status, headers, body = reader.response()
        assert (status, "content-length" in headers, body) == (204, False, b"")
        sock.sendall(request("GET", "/after", []))  # the connection is still in step
        assert json.loads(reader.response()[2])["environ"]["PATH_INFO"] == "/after"


@pytest.mark.parametrize(
    ("protocol", "connection", "closes"),
    [
        ("HTTP/1.1", None, False),
        ("HTTP/1.1", "close", True),
        ("HTTP/1.0", None, True),
        ("HTTP/1.0", "keep-alive", False),
    ],
)
def test_the_connection_closes_when_the_client_asks_or_speaks_http_1_0(port, protocol, connection, closes):
    headers = [("Connection", connection)] if connection else []
    with connect(port) as sock:
        reader = Reader(sock)
        sock.sendall(request("GET", "/", headers, protocol=protocol))
        status, answer_headers, _ = reader.response()
        assert status == 200
        if closes:
            assert answer_headers["connection"] == "close"
            assert reader.closed()
        else:
            sock.sendall(request("GET", "/again", headers, protocol=protocol))
            assert reader.response()[0] == 200


@pytest.mark.parametrize(
    "raw",
    [
        b"NONSENSE\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        request("PUT", "/", [("Content-Length", "-1")]),
        request("PUT", "/", [("Content-Length", "ten")]),
        request("PUT", "/", [("Transfer-Encoding", "gzip")]),
        request("PUT", "/", [("Transfer-Encoding", "chunked")]) + b"zz\r\n",
        request("PUT", "/", [("Transfer-Encoding", "chunked")]) + b"3\r\nabcXX0\r\n\r\n",
        b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\n folded first\r\n\r\n",
    ],
    ids=[
        "request line",
        "protocol",
        "negative length",
        "length not a number",
        "transfer coding",
        "chunk size",
        "chunk end",
        "header line",
        "folded first line",
    ],
)
def test_a_request_that_cannot_be_framed_is_answered_400_and_closed(port, raw):
    with connect(port) as sock:
        sock.sendall(raw)
        reader = Reader(sock)
        status, headers, _ = reader.response()
        assert (status, headers["connection"]) == (400, "close")
        assert reader.closed()


def test_a_failing_application_answers_500_closes_and_the_server_serves_on(port, capfd):
    with connect(port) as sock:
        sock.sendall(request("GET", "/fail", []))
        reader = Reader(sock)
        status, headers, _ = reader.response()
        assert (status, headers["connection"]) == (500, "close")
        assert reader.closed()
    assert "RuntimeError: the application failed" in capfd.readouterr().err
    assert echoed(port, request("GET", "/next", []))["environ"]["PATH_INFO"] == "/next"


def test_a_client_gone_mid_request_ends_only_its_own_connection(port):
    with connect(port) as sock:
        sock.sendall(request("PUT", "/partial", [("Content-Length", "100")], b"only ten b"))
    with connect(port) as sock:
        sock.sendall(b"GET /half-a-head HTTP/1.1\r\nHost: x")
    oversized = request("GET", "/", [("X-Large", "a" * emulator_http.MAX_HEAD)])
    for raw in (oversized, oversized[:-4]):  # a head too large, ended or not
        with connect(port) as sock:
            sock.sendall(raw)
            reader = Reader(sock)
            assert reader.response()[0] == 400
            assert reader.closed()
    assert echoed(port, request("GET", "/next", []))["environ"]["PATH_INFO"] == "/next"


def test_an_idle_connection_is_closed():
    with lean_server(idle_seconds=0.2) as port, connect(port) as sock:
        reader = Reader(sock)
        sock.sendall(request("GET", "/", []))
        assert reader.response()[0] == 200
        started = time.monotonic()
        assert reader.closed()
        assert 0.1 < time.monotonic() - started < 5


def test_a_client_that_sends_slowly_or_does_not_read_holds_up_no_one_else(port):
    with connect(port) as slow, connect(port) as stalled:
        slow.sendall(request("PUT", "/slow", [("Content-Length", "8")], b"half"))
        stalled.sendall(request("GET", "/big", []))  # and nothing of the answer read yet
        time.sleep(0.2)
        assert echoed(port, request("GET", "/meanwhile", []))["environ"]["PATH_INFO"] == "/meanwhile"
        slow.sendall(b"done")
        status, _, body = Reader(slow).response()
        assert (status, json.loads(body)["body"]) == (200, "halfdone")
        status, _, body = Reader(stalled).response()
        assert (status, body) == (200, BIG)


def test_a_client_that_stops_sending_after_its_request_still_gets_the_answer(port):
    with connect(port) as sock:
        sock.sendall(request("PUT", "/last", [("Content-Length", "4")], b"body"))
        sock.shutdown(socket.SHUT_WR)
        reader = Reader(sock)
        status, _, body = reader.response()
        assert (status, json.loads(body)["body"]) == (200, "body")
        assert reader.closed()
