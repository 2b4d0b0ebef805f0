"""Fault injection: every way the network, the server, the user and the files
can misbehave, end to end through the real CLI.

Each case asserts nothing lost and nothing duplicated (the event ids of
`watch --json`), a clear message, and the documented exit code (README:
"Exit codes"; SIGTERM is 143 = 128 + 15, as a shell reports it).
What is already covered elsewhere is not repeated: drops mid-frame and
between frames (test_watch, test_events_stream), 429 with Retry-After,
410/426/401, malformed frames at the stream level, Ctrl-C at a `train`.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arkor_cli_studio.simulator import Fault, Simulator
from tests.conftest import Arkor, ModeArkor
from tests.helpers import TOKEN, cli_command, subprocess_env

FAST = {"ARKOR_STUDIO_RETRY_SCALE": "0.01"}


def ids_of(stdout: str) -> list[str]:
    """The event ids of `watch --json`'s output (its last line is the summary record)."""
    records = [json.loads(line) for line in stdout.splitlines()]
    assert records and records[-1]["event"] == "summary"
    return [record["id"] for record in records[:-1]]


def only_summary(stdout: str, code: int) -> dict:
    """`watch --json` that ended before any event: its one line, the summary record."""
    (record,) = [json.loads(line) for line in stdout.splitlines()]
    assert record["event"] == "summary" and record["exitCode"] == code
    return record


def full_job(sim: Simulator, job_id: str = "j1", steps: int = 8, *, end: bool = True) -> None:
    sim.add_job(job_id, name="run", status="queued", config={"maxSteps": steps})
    sim.emit(job_id, "training.started", {})
    for step in range(1, steps + 1):
        sim.emit(job_id, "training.log", {"step": step, "loss": 1 / step})
    if end:
        sim.emit(job_id, "training.completed", {"artifacts": []})
        sim.end(job_id)


def every_id(steps: int = 8) -> list[str]:
    return [str(i) for i in range(1, steps + 4)]  # started, logs, completed, end


def error_lines(stderr: str) -> list[str]:
    """What the error boundary printed at the end of stderr: exactly one
    message line (plus a hint); whatever came before is progress notices."""
    lines = stderr.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("arkor-studio: ")]
    assert len(starts) == 1, stderr
    tail = lines[starts[0] :]
    assert all(line.startswith("hint: ") for line in tail[1:]), stderr
    assert "Traceback" not in stderr
    return tail


# ---- servers that misbehave below HTTP ------------------------------------------


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A port whose accept queue is full: a connect() to it never completes,
    like a firewall that drops packets (no root needed, loopback only)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=2)  # fills the queue
    probe = socket.socket()
    probe.settimeout(0.2)
    try:
        with pytest.raises(TimeoutError):  # the premise: connects now hang
            probe.connect(("127.0.0.1", port))
    finally:
        probe.close()
    yield f"http://127.0.0.1:{port}"
    filler.close()
    server.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts every connection, reads the request, never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


def test_connect_timeout_to_a_blackholed_port_is_bounded_and_reported(arkor, blackhole):
    started = time.monotonic()
    result = arkor.cli("jobs", ARKOR_CLOUD_API_URL=blackhole, ARKOR_STUDIO_CONNECT_TIMEOUT="0.3")
    assert result.code == 5
    assert error_lines(result.stderr)[0] == (
        f"arkor-studio: Can't reach the Arkor cloud API at {blackhole}: connection timed out"
    )
    assert time.monotonic() - started < 5  # the timeout bounds it


def test_watch_retries_a_blackholed_port_then_gives_up(arkor, blackhole):
    result = arkor.cli(
        "watch",
        "j1",
        "--plain",
        "--max-retries",
        "1",
        ARKOR_CLOUD_API_URL=blackhole,
        ARKOR_STUDIO_CONNECT_TIMEOUT="0.3",
        **FAST,
    )
    assert result.code == 5
    assert "stream interrupted: connection timed out" in result.stdout  # retried once
    assert error_lines(result.stderr)[0] == (
        "arkor-studio: Gave up on the event stream of j1 after 2 failed attempts: "
        "connection timed out"
    )


def test_a_server_that_accepts_but_never_answers(arkor, silent_server):
    started = time.monotonic()
    result = arkor.cli("jobs", ARKOR_CLOUD_API_URL=silent_server, ARKOR_STUDIO_READ_TIMEOUT="0.3")
    assert result.code == 5
    assert error_lines(result.stderr)[0] == (
        f"arkor-studio: Can't reach the Arkor cloud API at {silent_server}: "
        "no answer in time (read timed out)"
    )
    assert time.monotonic() - started < 5


def test_a_stream_that_hangs_before_answering_is_retried_and_resumed(arkor):
    full_job(arkor.sim)
    arkor.sim.add_fault("stream:j1", Fault(hang=1.0))
    result = arkor.cli("watch", "j1", "--json", ARKOR_STUDIO_READ_TIMEOUT="0.3", **FAST)
    assert result.code == 0, result.stderr
    assert ids_of(result.stdout) == every_id()
    assert "stream interrupted: no answer in time (read timed out)" in result.stderr


@pytest.mark.parametrize("command", ["stats", "artifacts"])
def test_a_slow_answer_is_not_an_empty_history(arkor, command):
    """Replaying a finished job's history stops when the server goes idle; a
    server that has not answered yet is not idle (it used to read as "no
    points yet" for a completed job)."""
    sim = arkor.sim
    sim.add_job("j1", status="running")
    sim.emit("j1", "training.log", {"step": 1, "loss": 0.5})
    sim.emit("j1", "checkpoint.saved", {"step": 1, "artifacts": [{"pathname": "ckpt-1"}]})
    sim.emit("j1", "training.completed", {"artifacts": [{"pathname": "final"}]})
    sim.end("j1")
    sim.add_fault("stream:j1", Fault(hang=2.5))  # longer than the 2 s catch-up window
    result = arkor.cli(command, "j1", "--json", ARKOR_STUDIO_RETRY_SCALE="0.01")
    assert result.code == 0, result.stderr
    body = json.loads(result.stdout)
    if command == "stats":
        assert body["loss"]["count"] == 1 and body["complete"] is True
    else:
        assert [a["artifact"]["pathname"] for a in body] == ["ckpt-1", "final"]
    assert len(sim.stream_requests("j1")) == 2


# ---- the server restarts, goes quiet, closes empty -----------------------------


def test_server_restarted_on_the_same_port_resumes_exactly_once(tmp_path):
    first = Simulator(token=TOKEN, ping_interval=0.5).start()
    port = first.port
    full_job(first, steps=8, end=False)
    arkor = Arkor(tmp_path, first)
    proc = arkor.popen("watch", "j1", "--json", **FAST)
    assert proc.stdout is not None
    head = [proc.stdout.readline() for _ in range(9)]  # started + 8 logs
    first.stop()  # the old server and its stream are gone
    second = Simulator(token=TOKEN, ping_interval=0.5, port=port)
    try:
        full_job(second, steps=8, end=False)  # the same history, as a restarted server has
        second.emit("j1", "training.log", {"step": 9, "loss": 0.1})
        second.emit("j1", "training.completed", {"artifacts": []})
        second.end("j1")
        second.start()
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
        second.stop()
    assert proc.returncode == 0, stderr
    assert ids_of("".join(head) + stdout) == [str(i) for i in range(1, 13)]
    assert [r.headers.get("last-event-id") for r in second.stream_requests("j1")] == ["9"]
    assert "stream interrupted" in stderr and "stream resumed" in stderr


def test_a_long_pings_only_stream_keeps_one_connection(tmp_path):
    with Simulator(token=TOKEN, ping_interval=0.05) as sim:
        arkor = Arkor(tmp_path, sim)
        sim.add_job("j1", status="running")
        sim.emit("j1", "training.started", {})

        def later() -> None:  # 30 read timeouts' worth of pings, then the run ends
            sim.wait_for(lambda: sim.stream_requests("j1"))
            time.sleep(1.5)
            sim.emit("j1", "training.log", {"step": 1, "loss": 0.5})
            sim.emit("j1", "training.completed", {"artifacts": []})
            sim.end("j1")

        feeder = threading.Thread(target=later, daemon=True)
        feeder.start()
        result = arkor.cli("watch", "j1", "--json", ARKOR_STUDIO_READ_TIMEOUT="0.5")
        feeder.join()
    assert result.code == 0, result.stderr
    assert ids_of(result.stdout) == ["1", "2", "3", "4"]  # pings are not events
    assert len(sim.stream_requests("j1")) == 1
    assert "interrupted" not in result.stderr


def test_empty_200_streams_count_toward_max_retries(arkor):
    full_job(arkor.sim)
    arkor.sim.add_fault("stream:j1", Fault(raw=b""), times=5)
    result = arkor.cli("watch", "j1", "--json", "--max-retries", "2", **FAST)
    assert result.code == 5
    assert only_summary(result.stdout, 5)["outcome"] == "lost"
    assert error_lines(result.stderr)[0] == (
        "arkor-studio: Gave up on the event stream of j1 after 3 failed attempts: "
        "the stream closed without sending anything"
    )
    assert len(arkor.sim.stream_requests("j1")) == 3


@pytest.mark.parametrize(
    ("faults", "interrupted", "resumed"),
    [
        ([Fault(status=500)] * 3, 3, 1),
        ([Fault(status=502)] * 3, 3, 1),
        ([Fault(status=503)] * 3, 3, 1),
        ([Fault(status=500), Fault(status=502), Fault(status=503)], 3, 1),
        ([Fault(status=429)] * 2, 2, 1),  # no Retry-After: the backoff decides
        ([Fault(status=404)], 1, 1),  # the job exists: a replication lag, retried
        ([Fault(status=408)], 1, 1),
        ([Fault(drop_after=3), Fault(status=503), Fault(close_after=2)], 3, 2),
    ],
    ids=["500s", "502s", "503s", "mixed-5xx", "429-bare", "404-then-200", "408", "drop-5xx-close"],
)
def test_transient_failures_resume_with_nothing_lost_or_doubled(
    arkor, faults, interrupted, resumed
):
    full_job(arkor.sim)
    for fault in faults:
        arkor.sim.add_fault("stream:j1", fault)
    result = arkor.cli("watch", "j1", "--json", **FAST)
    assert result.code == 0, result.stderr
    assert ids_of(result.stdout) == every_id()
    assert result.stderr.count("stream interrupted") == interrupted
    assert result.stderr.count("stream resumed") == resumed
    assert len(arkor.sim.stream_requests("j1")) == interrupted + 1


@pytest.mark.parametrize(
    ("status", "code"), [(401, 4), (403, 4), (410, 5)]
)  # 426: test_arkor_compat
def test_permanent_statuses_are_not_retried(arkor, status, code):
    full_job(arkor.sim)
    arkor.sim.add_fault("stream:j1", Fault(status=status, body='{"error": "no, never"}'), times=3)
    result = arkor.cli("watch", "j1", "--json", **FAST)
    assert result.code == code
    only_summary(result.stdout, code)
    assert error_lines(result.stderr)[0] == "arkor-studio: no, never"
    assert len(arkor.sim.stream_requests("j1")) == 1


def test_malformed_frames_through_the_cli(arkor):
    huge = "x" * 1_000_000
    raw = (
        '\ufeffid: 1\nevent: training.started\ndata: {"type": "training.started"}\n\n'
        "id: 2\nevent: training.log\ndata: not json\n\n"
        "id: 3\nevent: training.log\ndata: [1, 2]\n\n"
        'id: 4\nevent: training.log\ndata: "a string"\n\n'
        'id: 5\nevent: training.log\ndata: {"loss": 0.5}\n\n'  # no step: kept, step absent
        "id: 6\nevent: training.log\r"
        'data: {"step": "5", "loss": 1e309}\r\r'  # CR-only line ends, wrong types
        'id: 7\nevent: brand.new\ndata: {"x": 1}\n\n'
        f'id: 8\nevent: training.failed\ndata: {{"error": "{huge}"}}\n\n'
        'id: 9\nevent: end\ndata: {"unexpected": true}\n\n'
    ).encode()
    arkor.sim.add_job("j1", status="running")
    arkor.sim.add_fault("stream:j1", Fault(raw=raw))
    result = arkor.cli("watch", "j1", "--json", **FAST)
    assert result.code == 1, result.stderr[-500:]  # the job failed
    lines = result.stdout.splitlines()
    # 1e309 reads as Infinity: the default `nan` alert rule says so, in turn.
    alerts = [json.loads(line) for line in lines if line.startswith('{"event":"alert"')]
    assert [(a["rule"], a["message"]) for a in alerts] == [("nan", "loss is Infinity")]
    lines = [line for line in lines if not line.startswith('{"event":"alert"')]
    assert ids_of("\n".join(lines)) == ["1", "5", "6", "8", "9"]
    records = [json.loads(line) for line in lines]
    assert records[-1]["event"] == "summary" and records[-1]["outcome"] == "failed"
    assert records[2]["data"] == {"step": "5", "loss": float("inf")}  # the server's text, as is
    assert records[3]["data"]["error"] == huge
    assert "Traceback" not in result.stderr


# ---- `| head -1`: a quiet exit, also when nothing more would ever be written ----


def _piped_to_head(
    arkor: Arkor, *args: str, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    command = " ".join([*cli_command(), *arkor.args(args)])
    return subprocess.run(
        ["bash", "-c", f'{command} | head -1; echo "status=${{PIPESTATUS[0]}}" >&2'],
        env=subprocess_env({**arkor.env, **FAST}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_jobs_piped_to_head_exits_141_quietly(arkor):
    for i in range(3000):  # more than a pipe buffer holds
        arkor.sim.add_job(f"job-{i:04d}", name=f"run {i}")
    for args in (("jobs",), ("jobs", "--json")):
        proc = _piped_to_head(arkor, *args)
        assert len(proc.stdout.splitlines()) == 1
        assert proc.stderr == "status=141\n", (args, proc.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ("jobs", "--follow", "--interval", "1"),
        ("jobs", "--follow", "--json", "--interval", "1"),
        ("watch", "j1", "--plain"),
        ("watch", "j1", "--json"),
    ],
)
def test_follow_piped_to_head_on_a_quiet_server_exits_141_at_once(arkor, args):
    """Nothing changes after the first line, so there is no next write to fail:
    the closed pipe itself must end the run."""
    arkor.sim.add_job("j1", status="running")
    arkor.sim.emit("j1", "training.started", {})
    arkor.sim.emit("j1", "training.log", {"step": 1, "loss": 0.5})
    started = time.monotonic()
    proc = _piped_to_head(arkor, *args, timeout=20)
    assert len(proc.stdout.splitlines()) == 1
    # (--json names the job on stderr: stdout stays NDJSON)
    named = "Watching j1, running\n" if args == ("watch", "j1", "--json") else ""
    assert proc.stderr == f"{named}status=141\n"
    assert time.monotonic() - started < 10


# ---- Ctrl-C and SIGTERM at every stage -----------------------------------------


class Watched:
    """A CLI subprocess in its own session, its output read as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv,
            env=subprocess_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: leftovers are findable
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen = ""
        self.stderr = ""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._out = threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True)
        self._err = threading.Thread(target=self._read_err, daemon=True)
        self._out.start()
        self._err.start()

    def _pump(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            self.lines.put(line)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr += line
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            try:
                self.seen += self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"never saw {text!r}; got {self.seen[-500:]!r}") from None

    def stop(self, sig: int, timeout: float = 20) -> int:
        os.kill(self.proc.pid, sig)
        code = self.proc.wait(timeout=timeout)
        self._out.join(timeout=5)
        self._err.join(timeout=5)
        return code


def syn_sent_to(port: int) -> bool:
    """Some socket on this machine is stuck connecting to 127.0.0.1:port."""
    want = f"0100007F:{port:04X}"
    for table in ("/proc/net/tcp",):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[2] == want and fields[3] == "02":  # rem_address, state SYN_SENT
                return True
    return False


def group_members(pgid: int) -> list[int]:
    """Processes still alive in a process group (zombies included)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:  # after the name: state, ppid, pgrp
            members.append(int(entry.name))
    return members


needs_proc = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")

SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
STAGES = [
    ("watch", "connecting"),  # the first request hangs in connect()
    ("watch", "replaying"),  # a 20,000-event history is streaming in
    ("watch", "live"),  # caught up, waiting for the next event
    ("watch", "backoff"),  # between reconnects after 503s
    ("jobs-follow", "connecting"),
    ("jobs-follow", "live"),  # waiting for the next poll
    ("jobs-follow", "backoff"),  # polls failing
]


@needs_proc
@pytest.mark.parametrize(("command", "stage"), STAGES)
@pytest.mark.parametrize(("sig", "code"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_signals_at_every_stage(arkor, blackhole, command, stage, sig, code):
    sim = arkor.sim
    env = dict(arkor.env)
    full_job(sim, steps=20000 if stage == "replaying" else 3, end=False)
    if command == "watch":
        args = ["watch", "j1", "--plain", "--no-notify"]
        marker = {"replaying": "training.log", "live": "step=3", "backoff": "stream interrupted"}
    else:
        args = ["jobs", "--follow", "--interval", "1"]
        marker = {"live": "Status", "backoff": "poll failed"}
    if stage == "connecting":
        env.update(ARKOR_CLOUD_API_URL=blackhole, ARKOR_STUDIO_CONNECT_TIMEOUT="30")
    if stage == "backoff":
        if command == "watch":
            sim.add_fault("stream:j1", Fault(status=503), times=50)  # real 1 s, 2 s, ... waits
        else:
            sim.add_fault("jobs", Fault(status=503, body='{"error": "busy"}'), times=50)
    run = Watched([*cli_command(), *arkor.args(tuple(args))], env)
    try:
        if stage == "connecting":
            deadline = time.monotonic() + 20
            while not syn_sent_to(int(blackhole.rsplit(":", 1)[1])):
                assert time.monotonic() < deadline, "never tried to connect"
                time.sleep(0.02)
        else:
            run.wait_for(marker[stage])
        assert run.stop(sig) == code
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    assert "Traceback" not in run.stderr and "Error" not in run.stderr, run.stderr
    assert group_members(run.proc.pid) == []  # nothing left behind


@pytest.mark.parametrize("command", [("watch", "j1", "--no-notify"), ("jobs", "--follow")])
@pytest.mark.parametrize(
    ("sig", "code"), [*SIGNALS, (signal.SIGHUP, 129)], ids=["SIGINT", "SIGTERM", "SIGHUP"]
)
def test_signals_in_the_live_view_restore_the_terminal(arkor, command, sig, code):
    full_job(arkor.sim, steps=3, end=False)
    run = arkor.pty(*command, columns=90, rows=24)
    assert run.read_until(lambda out: b"\x1b[?25l" in out and b"j1" in out)  # drawn
    run.signal(sig)
    assert run.wait(timeout=20) == code
    out = bytes(run.output)
    assert out.rfind(b"\x1b[?25h") > out.rfind(b"\x1b[?25l")  # the cursor is back
    assert b"Traceback" not in out


# ---- arkor's files: corrupt, empty, unreadable, a directory ---------------------

DEFECTS = ["corrupt", "empty", "unreadable", "read-error", "directory"]


def _which_file(arkor: ModeArkor, name: str) -> Path:
    return {
        "credentials": arkor.credentials_file,
        "state": arkor.state_file,
        "studio-token": arkor.studio_token_file,
    }[name]


def _break(path: Path, defect: str) -> None:
    if defect == "corrupt":  # cut short (JSON), or not text at all (the token)
        path.write_bytes(b'{"orgSlug": "acme", "tok' if path.suffix else b"\xff\xfe\x00")
    elif defect == "empty":
        path.write_bytes(b"")
    elif defect == "unreadable":
        path.chmod(0)
    elif defect == "read-error":  # opens, then read() fails with EIO (for root too)
        path.unlink()
        path.symlink_to("/proc/self/mem")
    else:
        path.unlink()
        path.mkdir()
        (path / "inside").write_text("x")


def _fingerprint(path: Path) -> tuple[object, ...]:
    if path.is_symlink():
        return (os.readlink(path), path.lstat().st_mtime_ns)
    stat = path.stat()
    content = sorted(p.name for p in path.iterdir()) if path.is_dir() else path.read_bytes()
    return (stat.st_mode, stat.st_mtime_ns, stat.st_size, content)


@pytest.mark.parametrize("defect", DEFECTS)
@pytest.mark.parametrize("name", ["credentials", "state", "studio-token"])
def test_broken_files_are_one_clear_line_exit_4_and_left_untouched(
    tmp_path, sim, studio, name, defect
):
    if defect == "unreadable" and os.geteuid() == 0:
        pytest.skip("running as root: permissions do not stop root from reading")
    arkor = ModeArkor(tmp_path, sim, studio if name == "studio-token" else None)
    path = _which_file(arkor, name)
    _break(path, defect)
    before = _fingerprint(path)
    try:
        for args in (("jobs",), ("watch", "j1", "--plain"), ("show", "j1")):
            result = arkor.cli(*args)
            assert result.code == 4, (args, result.output)
            lines = error_lines(result.stderr)
            assert str(path) in lines[0]
            assert result.stdout == ""
        assert _fingerprint(path) == before  # read, never written
        assert sim.requests == [] and studio.requests == []  # nothing was sent
    finally:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_a_token_with_bytes_a_header_cannot_carry_is_a_config_error(arkor):
    """Before: a non-ASCII token was an "unexpected error" (exit 1) from httpx."""
    for token in (TOKEN + "é", TOKEN + "\x01", TOKEN + " x"):
        arkor.write_credentials({"mode": "anon", "token": token, "arkorCloudApiUrl": arkor.sim.url})
        result = arkor.cli("jobs")
        assert result.code == 4, result.output
        assert "the token contains spaces, control characters" in error_lines(result.stderr)[0]
        debug = arkor.cli("jobs", ARKOR_STUDIO_DEBUG="1")  # a traceback, but not the token
        assert debug.code == 4 and "Traceback" in debug.stderr
        assert TOKEN not in result.output + debug.output
    assert arkor.sim.requests == []


def test_a_non_ascii_event_id_is_sent_back_and_resumes_exactly_once(arkor):
    """Before: reconnecting after `id: é7` crashed (a str header must be ASCII)."""
    sim = arkor.sim
    sim.add_job("j1", status="running")
    sim.emit("j1", "training.started", {}, event_id="ü1")
    sim.emit("j1", "training.log", {"step": 1, "loss": 0.5}, event_id="é2")
    sim.emit("j1", "training.completed", {"artifacts": []}, event_id="ß3")
    sim.emit("j1", "end", raw_data="{}", event_id="4")
    sim.add_fault("stream:j1", Fault(drop_after=2))
    result = arkor.cli("watch", "j1", "--json", **FAST)
    assert result.code == 0, result.stderr
    assert ids_of(result.stdout) == ["ü1", "é2", "ß3", "4"]
    sent = [r.headers.get("last-event-id") for r in sim.stream_requests("j1")]
    assert sent[1] is not None and sent[1].encode("latin-1").decode() == "é2"  # UTF-8 bytes
