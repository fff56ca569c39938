"""A real HTTP server on a loopback address, in a thread, for stand-ins of outside
services. Subclasses route requests with ``handle(request) -> Reply``; every request is
recorded."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class StandIn:
    """Start with ``with StandIn() as server:``; ``server.url`` is its base URL."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.received: list[Received] = []
        self.connections = 0  # accepted: a client that keeps connections open reuses one
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def handle(self, request: Received) -> Reply:
        return Reply(404, {"error": "not found"})

    def served(self, seconds: float) -> None:
        """Called once a request is answered with the time the stand-in spent on it, from
        its request line's arrival to the last byte of its answer (a benchmark subtracts
        it from what the caller waited)."""

    # -- plumbing ---------------------------------------------------------------------

    def __enter__(self) -> StandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go in two writes; without this the second waits for a
            # delayed ACK (40 ms) on a kept-alive connection.
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with stand_in._lock:
                    stand_in.connections += 1
                    stand_in._open.add(self.connection)

            def finish(self) -> None:
                with stand_in._lock:
                    stand_in._open.discard(self.connection)
                super().finish()

            def parse_request(self) -> bool:
                # The request line has arrived: the stand-in's own time starts here, so
                # that parsing the headers counts as the stand-in's, not the caller's.
                self.started = time.perf_counter()
                return super().parse_request()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Received(
                    method=self.command, path=parts.path, query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                )  # fmt: skip
                with stand_in._lock:
                    stand_in.received.append(request)
                reply = stand_in.handle(request)
                if reply.delay:
                    threading.Event().wait(reply.delay)
                payload, content_type = reply.encoded()
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": content_type, **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    # HEAD: the headers GET would send, Content-Length included, no body.
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                stand_in.served(time.perf_counter() - self.started)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, *args: Any) -> None:
                pass

        server_class = _IPv6Server if ":" in self.host else ThreadingHTTPServer
        self._server = server_class((self.host, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        # A short poll keeps shutdown (each test's teardown) from waiting half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        # Connections a client kept open end with the stand-in, as a stopped service's
        # would: a later stand-in on the same port is never answered by this one.
        with self._lock:
            for connection in self._open:
                with contextlib.suppress(OSError):  # the client closed it already
                    connection.shutdown(socket.SHUT_RDWR)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


class Routes(StandIn):
    """A stand-in answering from a dict of (method, path) -> Reply, for small tests."""

    def __init__(self, routes: dict[tuple[str, str], Reply], host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.routes = routes

    def handle(self, request: Received) -> Reply:
        reply = self.routes.get((request.method, request.path))
        if isinstance(reply, list):
            return reply.pop(0) if len(reply) > 1 else reply[0]
        return reply or Reply(404, {"error": "not found"})
