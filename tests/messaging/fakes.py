"""Local fake providers started inside a test: real sockets on 127.0.0.1."""

import base64
import json
import socket
import socketserver
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Received:
    method: str
    path: str
    user: str
    password: str
    content_type: str
    form: dict[str, str]


@dataclass
class Answer:
    status: int = 201
    body: dict | None = None
    delay: float = 0.0
    # Take the message, then close the connection without an answer.
    drop: bool = False


@dataclass
class FakeMessagesAPI:
    """A Twilio-like Messages API that answers from a script, then with 201."""

    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    script: deque = field(default_factory=deque)
    sids: int = 0

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)


def _handler(api: FakeMessagesAPI):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            user = password = ""
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            api.received.append(
                Received(
                    method="POST",
                    path=self.path,
                    user=user,
                    password=password,
                    content_type=self.headers.get("Content-Type", ""),
                    form={key: values[0] for key, values in parse_qs(raw).items()},
                )
            )
            answer = api.script.popleft() if api.script else Answer()
            body = answer.body
            if body is None and answer.status < 300:
                # Queued as soon as it arrived, as a provider does, whether
                # or not the answer reaches the client.
                api.sids += 1
                body = {"sid": f"SM{api.sids:032d}", "status": "queued"}
            if answer.delay:
                time.sleep(answer.delay)
            if answer.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            payload = json.dumps(body or {}).encode()
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, *args):
            pass

    return Handler


class running_messages_api:
    """Context manager: a fake Messages API on a free port of 127.0.0.1."""

    def __enter__(self) -> FakeMessagesAPI:
        self.api = FakeMessagesAPI()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.api))
        self.server.daemon_threads = True
        self.api.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.api

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP: answers RCPT TO with the server's `rcpt_reply`; with
    `drop_after_data` it takes the message and hangs up instead of answering,
    with `drop_on_noop` it hangs up on NOOP (a session closed while idle)."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 fake.smtp ESMTP")
        in_data = False
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode(errors="replace").rstrip("\r\n")
            if in_data:
                if line == ".":
                    in_data = False
                    self.server.accepted += 1
                    if self.server.drop_after_data:
                        return
                    self.reply("250 queued")
                continue
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 fake.smtp")
            elif verb == "MAIL":
                self.reply("250 ok")
            elif verb == "RCPT":
                self.reply(self.server.rcpt_reply)
            elif verb == "DATA":
                in_data = True
                self.reply("354 go ahead")
            elif verb == "NOOP" and self.server.drop_on_noop:
                return
            elif verb == "RSET" or verb == "NOOP":
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class running_smtp_server:
    """Context manager: a fake SMTP server whose RCPT answer the test sets."""

    def __init__(
        self,
        rcpt_reply: str = "250 ok",
        *,
        drop_after_data: bool = False,
        drop_on_noop: bool = False,
    ):
        self.rcpt_reply = rcpt_reply
        self.drop_after_data = drop_after_data
        self.drop_on_noop = drop_on_noop

    def __enter__(self):
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
        self.server.daemon_threads = True
        self.server.rcpt_reply = self.rcpt_reply
        self.server.drop_after_data = self.drop_after_data
        self.server.drop_on_noop = self.drop_on_noop
        self.server.accepted = 0
        self.server.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.server

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
