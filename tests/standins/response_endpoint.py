"""Stands in for CloudFormation's pre-signed S3 response URL: HTTPS with a certificate from a local CA."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

from tests.standins.serving import StandInHandler, serving


class ResponseEndpoint:
    """Records every response body PUT to it; can answer 503 or drop the connection first."""

    def __init__(self, ca_file: Path, server: ThreadingHTTPServer) -> None:
        self.ca_file = ca_file
        self._server = server
        self.bodies: list[dict] = []
        self.raw_bodies: list[bytes] = []
        self.paths: list[str] = []
        self.arrived_at: list[float] = []  # time.monotonic() of each recorded body
        self.attempts = 0
        self.answers: list[int | None] = []  # queued answers: a status, or None to drop the connection
        self.received: dict[str, list[bytes]] = {}  # accepted bodies, JSON or not, by path without query
        self._arrival = threading.Condition()

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"https://localhost:{port}/cloudformation-response/stack?X-Amz-Signature=SECRET-SIGNATURE"

    @property
    def origin(self) -> str:
        return f"https://localhost:{self._server.server_address[1]}"

    def accept(self, path: str, body: bytes) -> None:
        with self._arrival:
            self.received.setdefault(path, []).append(body)
            self._arrival.notify_all()

    def wait_for_body(self, path: str, timeout: float) -> bytes | None:
        """The first body PUT to `path` (query left off), waiting up to `timeout` seconds for it."""
        with self._arrival:
            self._arrival.wait_for(lambda: path in self.received, timeout)
            bodies = self.received.get(path)
            return bodies[0] if bodies else None


def _handler_class(endpoint_ref: list[ResponseEndpoint]) -> type[BaseHTTPRequestHandler]:
    class Handler(StandInHandler):
        def do_PUT(self) -> None:
            endpoint = endpoint_ref[0]
            endpoint.attempts += 1
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = endpoint.answers.pop(0) if endpoint.answers else 200
            if answer is None:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if answer == 200:
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None  # S3 stores any body: CloudFormation is the one to refuse it
                if parsed is not None:
                    endpoint.raw_bodies.append(body)
                    endpoint.bodies.append(parsed)
                    endpoint.paths.append(self.path)
                    endpoint.arrived_at.append(time.monotonic())
                endpoint.accept(self.path.partition("?")[0], body)
            self.send_response(answer)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextmanager
def serve_response_endpoint(directory: Path) -> Iterator[ResponseEndpoint]:
    ca = trustme.CA()
    certificate = ca.issue_cert("localhost", "127.0.0.1")
    ca_file = directory / "local-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ref: list[ResponseEndpoint] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(ref))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    endpoint = ResponseEndpoint(ca_file, server)
    ref.append(endpoint)
    with serving(server):
        yield endpoint
