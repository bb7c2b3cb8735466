"""Real receivers for notification tests: an SMTP server (aiosmtpd) and an HTTP server
(threaded ``http.server``), each on a free local port, recording what they received."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpSink:
    """What the SMTP server received; ``refuse`` makes it answer 550 to every message;
    ``peers`` are the client ends (host, port) of the connections messages came on;
    ``before_accept`` (when set) runs before each message is accepted, and a message
    is refused (451) when it returns False."""

    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    refuse: bool = False
    port: int = 0
    peers: list[Any] = field(default_factory=list)
    before_accept: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "550 5.7.1 refused by the test"
        if self.before_accept is not None and not self.before_accept():
            return "451 4.3.0 not accepted by the test"
        self.peers.append(session.peer)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.raw.append(bytes(envelope.content))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpSink:
    """What the HTTP server received; it answers ``statuses`` in turn, then ``status``."""

    port: int
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.status


@contextmanager
def http_server() -> Iterator[HttpSink]:
    sink = HttpSink(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            time.sleep(sink.delay)
            status = sink.answer()
            if status < 300:
                with sink.lock:
                    sink.requests.append(Received(self.path, dict(self.headers), body))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", sink.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
