"""The emulator's HTTP/1.1 front end: moto's WSGI application behind kept-open connections.

moto ships werkzeug's development server, which closes every connection after one answer and
spends, around the 0.55 ms of CPU moto's application takes for an S3 PUT, about as much again of
its own: http.server parses headers with the email package, a log record is made per request,
head and body go out in separate writes; and its thread per connection makes the threads take
turns at the interpreter lock, which costs most when most is asked (16 uploads at once). The
emulator is one process on whose CPU every AWS call of a deploy, a publish and the test suite
waits, so it serves moto's application itself, from one thread:

* a selector loop reads and writes every connection without blocking, so a client that sends
  slowly or does not read its answer holds up no one else;
* each request is answered once its body is complete (by Content-Length or its last chunk), in
  the loop's thread: the services webstack uses answer from memory and never sleep, so threads
  would gain nothing but turns at the lock;
* HTTP/1.0 and 1.1 with keep-alive, pipelining, `Expect: 100-continue` and chunked request bodies:
  what AWS SDKs and the CLI send to an endpoint on loopback;
* the environ werkzeug's handler with moto's (MotoRequestHandler) builds, including the original
  spelling of underscored S3 metadata headers, which WSGI cannot otherwise tell from dashes;
* each answer written with one send where the socket takes it.

It is not a general web server: no TLS, and answers are buffered, not streamed.
"""

from __future__ import annotations

import io
import selectors
import socket
import sys
import time
import traceback
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)

IDLE_SECONDS = 300  # a kept-open connection nobody uses is closed after this
LINGER_SECONDS = 2  # after a connection's last answer: how long what the client still sends is dropped
MAX_HEAD = 64 * 1024  # request line and headers; a larger head is answered 400
RECEIVE = 256 * 1024
SERVER_SOFTWARE = "webstack-emulator"
NO_BODY_STATUSES = {204, 304}
READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


class BadRequest(Exception):
    """The request cannot be framed: it is answered 400 and its connection closed."""


def serve(app, host: str, port: int, *, idle_seconds: float = IDLE_SECONDS) -> None:
    """Serve `app` on host:port until the process ends."""
    with socket.create_server((host, port), backlog=128) as listener:
        serve_on(listener, app, idle_seconds=idle_seconds)


def serve_on(listener: socket.socket, app, *, idle_seconds: float = IDLE_SECONDS) -> None:
    """Serve `app` on an open listening socket until the process ends or the socket is closed."""
    Loop(listener, app, idle_seconds).run()


class Loop:
    def __init__(self, listener: socket.socket, app, idle_seconds: float):
        self.listener, self.app, self.idle_seconds = listener, app, idle_seconds
        self.host, port = listener.getsockname()[:2]
        self.port = str(port)
        self.selector = selectors.DefaultSelector()
        self.connections: set[Connection] = set()

    def run(self) -> None:
        self.listener.setblocking(False)
        self.selector.register(self.listener, READ)
        sweep_every = min(self.idle_seconds, LINGER_SECONDS) / 2
        next_sweep = time.monotonic() + sweep_every
        try:
            while self.listener.fileno() >= 0:
                for key, events in self.selector.select(sweep_every):
                    if key.data is None:
                        self.accept()
                    else:
                        key.data.on_events(events)
                if time.monotonic() >= next_sweep:
                    self.sweep()
                    next_sweep = time.monotonic() + sweep_every
        finally:
            for connection in list(self.connections):
                connection.close()
            self.selector.close()

    def accept(self) -> None:
        while True:
            try:
                sock, peer = self.listener.accept()
            except OSError:  # none waiting, or the listener was closed
                return
            try:
                connection = Connection(self, sock, peer)
            except OSError:  # gone already
                sock.close()
                continue
            self.connections.add(connection)
            self.selector.register(sock, READ, connection)

    def sweep(self) -> None:
        now = time.monotonic()
        for connection in list(self.connections):
            limit = LINGER_SECONDS if connection.lingering else self.idle_seconds
            if now - connection.last_active > limit:
                connection.close()


class Connection:
    def __init__(self, loop: Loop, sock: socket.socket, peer):
        self.loop, self.sock, self.peer = loop, sock, peer
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one send per answer: never wait for an ACK
        self.buffer = bytearray()
        self.out = memoryview(b"")  # what is left to send of one answer
        self.environ: dict | None = None  # the request whose body is being read
        self.body: FixedBody | ChunkedBody | None = None
        self.continued = False  # 100 Continue sent for it
        self.eof = False  # the client sends nothing more
        self.closing = False  # no request after the one answered
        self.lingering = False
        self.closed = False
        self.mask = READ
        self.last_active = time.monotonic()

    def on_events(self, events: int) -> None:
        self.last_active = time.monotonic()
        try:
            if events & WRITE:
                self.flush()
            if events & READ:
                self.receive()
            self.answer_ready()
            if self.closing and not self.out and not self.lingering:
                self.linger()
            self.update()
        except Exception:  # a fault of this server: end this connection, never the loop
            traceback.print_exc()
            self.close()

    def receive(self) -> None:
        try:
            data = self.sock.recv(RECEIVE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.eof = True  # what it sent in full is still answered
        elif not self.lingering:
            self.buffer += data

    def answer_ready(self) -> None:
        """Answer each request received in full, one at a time: the next once this one is sent."""
        while not (self.out or self.closing or self.closed):
            try:
                request = self.next_request()
            except BadRequest as error:
                self.queue(b"HTTP/1.1", "400 Bad Request", [("Content-Type", "text/plain")], str(error).encode(), False)
                return
            if request is None:
                return
            self.answer(*request)

    def next_request(self) -> tuple[dict, bytes] | None:
        if self.environ is None:
            head = self.read_head()
            if head is None:
                return None
            self.environ = parse_environ(head, self.peer, self.loop.host, self.loop.port)
            chunked = self.environ.get("wsgi.input_terminated", False)
            self.body = ChunkedBody() if chunked else FixedBody(int(self.environ.get("CONTENT_LENGTH") or 0))
            self.continued = False
        body = self.body.take(self.buffer)
        if body is None:
            if not self.continued and _expects_continue(self.environ):
                self.continued = True  # the client waits for this before it sends the body
                self.out = memoryview(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.flush()
            return None
        environ, self.environ, self.body = self.environ, None, None
        return environ, body

    def read_head(self) -> bytes | None:
        while self.buffer[:2] == b"\r\n":  # RFC 9112: empty lines before a request line are ignored
            del self.buffer[:2]
        end = self.buffer.find(b"\r\n\r\n")
        if end > MAX_HEAD or (end < 0 and len(self.buffer) > MAX_HEAD):
            raise BadRequest("request head too large")
        if end < 0:
            return None
        head = bytes(self.buffer[:end])
        del self.buffer[: end + 4]
        return head

    def answer(self, environ: dict, body: bytes) -> None:
        environ["wsgi.input"] = io.BytesIO(body)
        status, headers, answer = run_app(self.loop.app, environ)
        keep_alive = _keeps_alive(environ) and status is not None
        if status is None:
            status, headers, answer = "500 Internal Server Error", [("Content-Type", "text/plain")], b"emulator error"
        if environ["REQUEST_METHOD"] == "HEAD":
            answer = None
        self.queue(environ["SERVER_PROTOCOL"].encode(), status, headers, answer, keep_alive)

    def queue(self, protocol: bytes, status: str, headers: list, body: bytes | None, keep_alive: bool) -> None:
        self.out = memoryview(render(protocol, status, headers, body, keep_alive))
        self.closing = self.closing or not keep_alive
        self.flush()

    def flush(self) -> None:
        while self.out:
            try:
                sent = self.sock.send(self.out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # the client is gone
                self.out, self.eof, self.closing = memoryview(b""), True, True
                return
            self.out = self.out[sent:]

    def linger(self) -> None:
        """Close after the answer: stop sending, and read and drop what the client still sends
        for a moment, so that closing with unread bytes does not reset the connection before the
        client has read its answer."""
        self.lingering = True
        self.buffer.clear()
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.eof = True

    def update(self) -> None:
        """Wait for what the connection needs next; nothing left to wait for closes it."""
        if self.closed:
            return
        mask = (0 if self.eof else READ) | (WRITE if self.out else 0)
        if not mask:
            self.close()
        elif mask != self.mask:
            self.mask = mask
            self.loop.selector.modify(self.sock, mask, self)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.connections.discard(self)
            self.loop.selector.unregister(self.sock)
            self.sock.close()


class FixedBody:
    def __init__(self, size: int):
        self.size = size

    def take(self, buffer: bytearray) -> bytes | None:
        if len(buffer) < self.size:
            return None
        if len(buffer) == self.size:  # nothing pipelined behind it: one copy
            body = bytes(buffer)
            buffer.clear()
            return body
        body = bytes(buffer[: self.size])
        del buffer[: self.size]
        return body


class ChunkedBody:
    """A chunked body, decoded as its bytes arrive: chunk sizes (extensions ignored), data, and
    the trailer fields, which are dropped, as werkzeug's server drops them."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.size: int | None = None  # of the chunk being read
        self.in_trailer = False

    def take(self, buffer: bytearray) -> bytes | None:
        while True:
            if self.size is None:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD:
                        raise BadRequest("chunk line too long")
                    return None
                line = bytes(buffer[:end])
                del buffer[: end + 2]
                if self.in_trailer:
                    if not line:
                        return b"".join(self.parts)
                    continue
                field = line.split(b";", 1)[0].strip()
                if not field or not all(c in b"0123456789abcdefABCDEF" for c in field):
                    raise BadRequest(f"bad chunk size {field[:20]!r}")
                self.size = int(field, 16)
                if self.size == 0:
                    self.size, self.in_trailer = None, True
                continue
            if len(buffer) < self.size + 2:
                return None
            if buffer[self.size : self.size + 2] != b"\r\n":
                raise BadRequest("a chunk does not end with CRLF")
            self.parts.append(bytes(buffer[: self.size]))
            del buffer[: self.size + 2]
            self.size = None


def parse_environ(head: bytes, peer, host: str, port: str) -> dict:
    """The WSGI environ werkzeug's MotoRequestHandler builds for this request head."""
    lines = head.decode("latin-1").split("\r\n")
    request_line = lines[0].split(" ")
    if len(request_line) != 3 or not request_line[2].startswith("HTTP/1."):
        raise BadRequest(f"bad request line {lines[0][:80]!r}")
    method, target, protocol = request_line
    if target.startswith("//"):  # http.server's guard against open redirects, which werkzeug inherits
        target = "/" + target.lstrip("/")
    url = urlsplit(target)
    environ = {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "SERVER_SOFTWARE": SERVER_SOFTWARE,
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": _wsgi_string(unquote(url.path)),
        "QUERY_STRING": _wsgi_string(url.query),
        "REQUEST_URI": _wsgi_string(target),
        "RAW_URI": _wsgi_string(target),
        "REMOTE_ADDR": peer[0],
        "REMOTE_PORT": peer[1],
        "SERVER_NAME": host,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": protocol,
    }
    underscored: dict[str, tuple[str, list[str]]] = {}
    for name, value in _header_fields(lines[1:]):
        key = environ_key_for_header(name)
        if "_" in name:  # WSGI cannot tell X_A from X-A: only moto's S3 metadata names are kept
            if should_preserve_original_header_name(name):
                underscored.setdefault(key, (name, []))[1].append(value)
            continue
        environ[key] = f"{environ[key]},{value}" if key.startswith("HTTP_") and key in environ else value
    names = {}
    for key, (name, values) in underscored.items():
        if key not in environ:  # never let an underscored header stand in for a dashed one
            environ[key] = ",".join(values)
            names[key] = name
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
    if url.scheme and url.netloc:  # an absolute URL names the host
        environ["HTTP_HOST"] = url.netloc
    encodings = _tokens(environ.get("HTTP_TRANSFER_ENCODING", ""))
    if "chunked" in encodings:
        environ["wsgi.input_terminated"] = True  # the chunks end the body, not a Content-Length
    elif encodings:
        raise BadRequest(f"unsupported Transfer-Encoding {environ['HTTP_TRANSFER_ENCODING'][:40]!r}")
    elif not environ.get("CONTENT_LENGTH", "0").isdigit():
        raise BadRequest(f"bad Content-Length {environ['CONTENT_LENGTH'][:20]!r}")
    return environ


def run_app(app, environ: dict) -> tuple[str | None, list, bytes]:
    """(status, headers, body) of the application's answer; status None when it failed, which is
    logged as werkzeug logs it."""
    started: list = []
    written: list[bytes] = []

    def start_response(status, headers, exc_info=None):
        if exc_info and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return written.append

    try:
        result = app(environ, start_response)
        try:
            written.extend(result)
        finally:
            if hasattr(result, "close"):
                result.close()
    except Exception:
        print(f"Error on request {environ['REQUEST_METHOD']} {environ['RAW_URI']}:", file=sys.stderr)
        traceback.print_exc()
        return None, [], b""
    return started[0], started[1], b"".join(written)


def render(protocol: bytes, status: str, headers: list, body: bytes | None, keep_alive: bool) -> bytes:
    """An answer's bytes. Content-Length is the body's own length (a HEAD's stays the
    application's, body None), so that a kept-open connection stays in step."""
    code = int(status[:3])
    lines = [f"HTTP/1.1 {status}"]
    for name, value in headers:
        if name.lower() != "content-length" or body is None:
            lines.append(f"{name}: {value}")
    if body is not None and code not in NO_BODY_STATUSES:
        lines.append(f"Content-Length: {len(body)}")
    else:
        body = b""
    lines.append(f"Date: {_http_date()}")
    lines.append(f"Server: {SERVER_SOFTWARE}")
    if not keep_alive:
        lines.append("Connection: close")
    elif protocol == b"HTTP/1.0":
        lines.append("Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _header_fields(lines: list[str]) -> list[list[str]]:
    """[name, value] pairs; an obsolete folded line continues the previous value."""
    fields: list[list[str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not fields:
                raise BadRequest("a header block starts with a folded line")
            fields[-1][1] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequest(f"bad header line {line[:80]!r}")
        fields.append([name, value.strip()])
    return fields


def _expects_continue(environ: dict) -> bool:
    return environ.get("HTTP_EXPECT", "").lower() == "100-continue" and environ["SERVER_PROTOCOL"] == "HTTP/1.1"


def _keeps_alive(environ: dict) -> bool:
    connection = _tokens(environ.get("HTTP_CONNECTION", ""))
    return "close" not in connection and (environ["SERVER_PROTOCOL"] != "HTTP/1.0" or "keep-alive" in connection)


def _tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def _wsgi_string(text: str) -> str:
    """PEP 3333's native string: the UTF-8 bytes as latin-1 characters."""
    return text.encode().decode("latin-1")


_date = [0, ""]


def _http_date() -> str:
    now = int(time.time())
    if _date[0] != now:
        _date[:] = [now, formatdate(now, usegmt=True)]
    return _date[1]
