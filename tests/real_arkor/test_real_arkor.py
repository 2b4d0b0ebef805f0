"""arkor-studio against the real `arkor start`, `arkor dev` and the arkor team's cloud mock.

Skipped (with the reason) unless the real-arkor kit is built; see conftest.py.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest

from tests.real_arkor.conftest import (
    OTHER_TOKEN,
    RealProject,
    port_free,
    start_dev,
    stop_dev,
)

# ---- issue 14.1: train exits by the job's outcome --------------------------------------


@pytest.mark.parametrize(("outcome", "code"), [("failed", 1), ("completed", 0)])
@pytest.mark.parametrize("watch", [False, True], ids=["no-watch", "watch"])
def test_train_exits_by_the_outcome_that_arkor_start_prints(
    real: RealProject, outcome, code, watch
):
    real.mock.control("create-outcome", value=outcome)
    args = ["train", "--no-notify", *(["--watch"] if watch else [])]
    result = real.run(*args)
    assert f"finished with status={outcome}" in result.stdout  # arkor's own line, passed through
    assert result.returncode == code, result.stderr
    if outcome == "failed":
        assert "failed (arkor start exited with status 0" in result.stderr
    if watch:
        assert "training." in result.stderr  # the watch followed the real job


@pytest.mark.parametrize(("outcome", "code"), [("failed", 1), ("completed", 0)])
def test_studio_train_exits_by_the_outcome(real: RealProject, outcome, code):
    real.mock.control("create-outcome", value=outcome)
    dev = start_dev(real)
    try:
        result = real.run("--studio-url", dev.url, "train", "--no-notify")
    finally:
        stop_dev(dev)
    assert f"finished with status={outcome}" in result.stdout
    assert result.returncode == code, result.stderr


# ---- issue 14.2: the SDK version gate ----------------------------------------------------


def test_every_request_carries_arkors_client_header(real: RealProject):
    before = len(real.mock.requests())
    result = real.run("jobs", "--json")
    assert result.returncode == 0, result.stderr
    ours = real.mock.requests()[before:]
    assert ours and all(r["xArkorClient"] == "arkor/0.0.3-alpha.1" for r in ours), ours


def test_the_426_gate_is_exit_4_in_arkors_words(real: RealProject):
    real.mock.control("gate", status="426")
    try:
        result = real.run("jobs")
        watch = real.run("watch", "job-done", "--plain")
    finally:
        real.mock.control("gate", status="0")
    assert result.returncode == 4, result.stderr
    assert "The X-Arkor-Client header was malformed" in result.stderr
    assert watch.returncode == 4, watch.stderr


# ---- issue 14.3: Studio discovery on a moved port ----------------------------------------


class _Squatter(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        _Squatter.seen.append({k.lower(): v for k, v in self.headers.items()})
        body = b"<html><head><title>not Studio</title></head></html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def squatter() -> Iterator[list[dict[str, str]]]:
    """Another program on 127.0.0.1:4000, so `arkor dev` moves to the next port."""
    if not port_free(4000):
        pytest.skip("port 4000 is taken by something else on this machine")
    _Squatter.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 4000), _Squatter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield _Squatter.seen
    finally:
        server.shutdown()
        server.server_close()


def test_studio_is_found_on_a_moved_port_and_the_squatter_gets_no_token(real, squatter):
    dev = start_dev(real)
    try:
        assert not dev.url.endswith(":4000")  # arkor dev moved
        token = (real.home / ".arkor" / "studio-token").read_text().strip()  # gone at exit
        result = real.run("--studio", "jobs", "--json")
    finally:
        stop_dev(dev)
    assert result.returncode == 0, result.stderr
    assert "job-done" in {job["id"] for job in json.loads(result.stdout)}
    assert squatter, "the squatter was probed"
    for headers in squatter:
        assert token not in json.dumps(headers)


def test_no_studio_is_exit_5_naming_the_ports(real, squatter):
    (real.home / ".arkor" / "studio-token").write_text("a-token-nobody-shows\n")
    result = real.run("--studio", "jobs")
    assert result.returncode == 5, result.stderr
    assert "127.0.0.1:4000-4009" in result.stderr and "4000 (no Studio page" in result.stderr
    assert all("a-token-nobody-shows" not in json.dumps(h) for h in squatter)


# ---- issue 14.4: a stale anonymous scope ----------------------------------------------------


def test_a_stale_anonymous_scope_reads_as_no_jobs_as_in_studio(real: RealProject):
    real.write_credentials(token=OTHER_TOKEN, org="other-anon-org")
    result = real.run("jobs", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert "delete .arkor/state.json" in result.stderr
    dev = start_dev(real)
    try:
        studio = real.run("--studio-url", dev.url, "jobs", "--json")
    finally:
        stop_dev(dev)
    assert studio.returncode == 0 and json.loads(studio.stdout) == []  # Studio agrees


# ---- issue 14.5 (the stream loop), checked against the real mock ----------------


def test_a_ping_then_close_intermediary_runs_out_of_retries(real: RealProject):
    try:
        result = real.run("watch", "job-pingeof", "--plain", "--max-retries", "2", timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("still reconnecting after 60 s: each ping reset the retry count")
    assert result.returncode == 5, result.stderr
    assert "Gave up on the event stream" in result.stderr


def test_a_session_timeout_end_is_not_a_failure(real: RealProject):
    """The stream says `end` while the job is still running (arkor's tests: the
    cloud ends a stream on a session timeout): not exit 1."""
    result = real.run("watch", "job-timeout", "--plain", "--max-retries", "2", timeout=120)
    assert result.returncode != 1, result.stderr
    assert "still running" in result.stderr or "resum" in result.stderr, result.stderr


def test_a_dropped_live_stream_is_resumed_with_every_event_once(real: RealProject):
    result = real.run("watch", "job-live", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    ids = [r["id"] for r in records if "event" in r and r.get("id") is not None]  # not the summary
    assert len(ids) == 12 + 2 + 2  # 12 logs, 2 checkpoints, started, completed (`end` not shown)
    assert ids == sorted(set(ids), key=int), ids
