"""Real receivers on 127.0.0.1 for the sink tests: a webhook endpoint that verifies signatures the
way docs/alerts.md tells receivers to, and a free port nobody listens on."""

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from billing_pipeline.lib.alert.signature import HEADER, verify_signature


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class WebhookReceiver:
    """Accepts verified alerts; answers the statuses queued in `fail_with` first."""

    secret: str
    port: int = 0
    fail_with: list[int] = field(default_factory=list)
    accepted: list[dict] = field(default_factory=list)
    requests: int = 0
    rejected_signatures: int = 0

    def __enter__(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                if receiver.fail_with:
                    self._answer(receiver.fail_with.pop(0))
                elif not verify_signature(receiver.secret, self.headers.get(HEADER, ""), body):
                    receiver.rejected_signatures += 1
                    self._answer(401)
                else:
                    document = json.loads(body)
                    assert self.headers["Idempotency-Key"] == document["alert_key"]
                    receiver.accepted.append(document)
                    self._answer(200)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    def keys(self) -> list[str]:
        return [document["alert_key"] for document in self.accepted]
