"""The webhook: its body, and the sender against a loopback server, both ways."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from arkor_cli_studio.cloud.webhook import check_url, send_webhook, webhook_body
from arkor_cli_studio.errors import UsageError

RECORD = {
    "event": "summary",
    "jobId": "job_1",
    "name": "smoltalk",
    "outcome": "completed",
    "exitCode": 0,
    "durationSeconds": 230.2,
    "step": 120,
    "loss": 0.443,
    "evalLoss": 0.5957,
}


class Receiver:
    """A loopback HTTP server that records what it is sent and answers `status`."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/SECRET-path"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def test_body_is_what_slack_and_ntfy_read() -> None:
    body = json.loads(webhook_body(RECORD, "✅ smoltalk completed", "arkor-studio: smoltalk"))
    assert body["text"] == "✅ smoltalk completed"  # Slack: `text`; ntfy: ?tpl=1&m={{.text}}
    assert body["title"] == "arkor-studio: smoltalk"
    assert "event" not in body
    assert {k: body[k] for k in RECORD if k != "event"} == {
        k: v for k, v in RECORD.items() if k != "event"
    }


def test_sent_once_with_the_body_and_no_credentials(receiver: Receiver) -> None:
    body = webhook_body(RECORD, "text", "title")
    assert send_webhook(receiver.url, body) is None
    (request,) = receiver.requests
    assert request["path"] == "/hooks/SECRET-path"
    assert request["body"] == body
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert "authorization" not in headers
    assert "x-arkor-studio-token" not in headers


def test_an_error_status_is_a_short_reason_without_the_url() -> None:
    with Receiver(status=500) as server:
        reason = send_webhook(server.url, b"{}")
    assert reason == "HTTP 500"
    assert len(server.requests) == 1  # never retried


def test_a_slow_receiver_times_out_quickly() -> None:
    with Receiver(delay=2.0) as server:
        started = time.monotonic()
        reason = send_webhook(server.url, b"{}", timeout=0.3)
        took = time.monotonic() - started
    assert reason == "no answer within 0.3 s"
    assert took < 1.9


def test_nobody_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    reason = send_webhook(f"http://127.0.0.1:{port}/x?token=SECRET", b"{}")
    assert reason == "could not connect"
    assert "SECRET" not in reason


@pytest.mark.parametrize(
    "url", ["ftp://host/SECRET", "not a url SECRET", "https://:SECRET@", "file:///SECRET"]
)
def test_check_url_refuses_without_repeating_it(url: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_url(url)
    assert "SECRET" not in caught.value.message + (caught.value.hint or "")
    assert check_url(" https://ntfy.sh/topic ") == "https://ntfy.sh/topic"


def test_server_text_is_not_slack_markup() -> None:
    body = json.loads(webhook_body(RECORD, "Job <https://evil|click> & co\nfailed", "t"))
    assert body["text"] == "Job &lt;https://evil|click&gt; &amp; co failed"
