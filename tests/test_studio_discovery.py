"""`--studio` never sends the Studio token to a server that has not proven it is the
Studio that wrote ~/.arkor/studio-token (issue 14.3): its token-less `GET /` page must
show the same token in `<meta name="arkor-studio-token">` (arkor's injectStudioToken)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest

from arkor_cli_studio.cloud.discovery import candidate_urls, page_token
from tests.conftest import Arkor
from tests.helpers import STUDIO_TOKEN
from tests.studio_server import FakeStudio
from tests.test_watch import lifecycle


class _Squatter(http.server.BaseHTTPRequestHandler):
    """Some other program on a port arkor dev would have liked."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Squatter.seen.append(json.dumps([self.path, dict(self.headers.items())]))
        body = b"<html><head><title>my other app</title></head></html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


def free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def squatter() -> Iterator[list[str]]:
    if not all(free(p) for p in range(4000, 4010)):
        pytest.skip("a port in 127.0.0.1:4000-4009 is taken on this machine")
    _Squatter.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 4000), _Squatter)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        yield _Squatter.seen
    finally:
        server.shutdown()
        server.server_close()


def studio_mode(arkor: Arkor, *args: str, **env: str):  # type: ignore[no-untyped-def]
    (arkor.home / ".arkor" / "studio-token").write_text(STUDIO_TOKEN + "\n")
    return arkor.run("--studio", *args, **env)


def test_the_studio_on_a_moved_port_is_found_and_the_squatter_gets_no_token(arkor, squatter):
    lifecycle(arkor.sim, "j1", steps=1)
    with FakeStudio(arkor.sim, port=4003) as studio:  # 4000 taken: arkor dev moved on
        result = studio_mode(arkor, "jobs", "--json")
    assert result.code == 0, result.stderr
    assert [job["id"] for job in json.loads(result.stdout)] == ["j1"]
    assert [r.target for r in studio.requests] == ["/api/jobs"]
    assert squatter and all(STUDIO_TOKEN not in seen for seen in squatter)
    assert all(request.target == "/" for request in studio.probes)
    assert all("x-arkor-studio-token" not in r.headers for r in studio.probes)


def test_a_studio_with_another_token_is_skipped(arkor, squatter):
    lifecycle(arkor.sim, "j1", steps=1)
    with FakeStudio(arkor.sim, port=4001, token="another-launch") as other:
        with FakeStudio(arkor.sim, port=4005) as ours:
            result = studio_mode(arkor, "jobs", "--json")
    assert result.code == 0, result.stderr
    assert other.requests == [] and [r.target for r in ours.requests] == ["/api/jobs"]


def test_no_studio_anywhere_is_exit_5_naming_every_port(arkor, squatter):
    result = studio_mode(arkor, "jobs")
    assert result.code == 5
    assert "No Studio with the token from" in result.stderr
    assert "127.0.0.1:4000-4009" in result.stderr
    assert "4000 (no Studio page (no arkor-studio-token))" in result.stderr
    assert "4009 (connection refused)" in result.stderr
    assert "The token was sent nowhere." in result.stderr
    assert all(STUDIO_TOKEN not in seen for seen in squatter)


def test_studio_url_is_checked_the_same_way(studio_arkor):
    lifecycle(studio_arkor.sim, "j1", steps=1)
    studio_arkor.studio.page_token = ""  # the port answers, but not with Studio's page
    result = studio_arkor.run("jobs")
    assert result.code == 5
    assert f"{studio_arkor.studio.url} is not the Studio whose token is in" in result.stderr
    assert "no Studio page" in result.stderr
    assert studio_arkor.studio.requests == []  # no /api request, so no token sent
    studio_arkor.studio.page_token = "a\"<>&'b"  # another Studio's (escaped) token
    result = studio_arkor.run("jobs")
    assert result.code == 5 and "a Studio with another token" in result.stderr
    studio_arkor.studio.page_token = None
    assert studio_arkor.run("jobs").code == 0


def test_the_meta_tag_is_read_as_studio_writes_it():
    meta = b'<meta name="arkor-studio-token" content="a&amp;b&quot;c&#39;d">'
    page = b"<head><title>x</title>" + meta + b"</head>"
    assert page_token(page) == "a&b\"c'd"
    assert page_token(b"<html><head></head></html>") is None
    assert candidate_urls()[0] == "http://127.0.0.1:4000"
    assert candidate_urls()[-1] == "http://127.0.0.1:4009"  # arkor dev's ten attempts
