from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from arkor_cli_studio import arkor_project, start_output
from tests import fake_arkor
from tests.helpers import ROOT, cli_command, start_pty, subprocess_env

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed: no manifest import")

EXPECTED_STDOUT = b"".join(fake_arkor.START_STDOUT)
EXPECTED_STDERR = b"".join(fake_arkor.START_STDERR)


def install_fake(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    source = Path(fake_arkor.__file__).read_text()
    path.write_text(f"#!{sys.executable}\n{source}")
    path.chmod(0o755)
    return path


@dataclass
class Run:
    code: int
    stdout: bytes
    stderr: bytes

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")


class TrainProject:
    """The `arkor` fixture's HOME + project, with a fake arkor in node_modules/.bin."""

    def __init__(self, arkor, tmp: Path) -> None:  # type: ignore[no-untyped-def]
        self.home: Path = arkor.home
        self.project: Path = arkor.project
        self.tmp = tmp
        self.log = tmp / "arkor-calls.jsonl"
        self.signals = tmp / "signals.txt"
        self.pidfile = tmp / "start.pid"
        self.bin = install_fake(self.project / "node_modules" / ".bin" / "arkor")
        (self.project / "src" / "arkor").mkdir(parents=True)
        (self.project / "src" / "arkor" / "index.ts").write_text("export const arkor = 1;\n")
        self.env: dict[str, str] = {
            **arkor.env,
            "FAKE_ARKOR_LOG": str(self.log),
            "FAKE_SIGNALS": str(self.signals),
            "FAKE_PIDFILE": str(self.pidfile),
            "ARKOR_STUDIO_STOP_GRACE": "5",
        }

    def argv(self, *args: str) -> list[str]:
        return [*cli_command(), "-C", str(self.project), "train", *args]

    def run(self, *args: str, timeout: float = 60, **env: str) -> Run:
        proc = subprocess.run(
            self.argv(*args),
            env=subprocess_env({**self.env, **env}),
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def popen(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.argv(*args),
            env=subprocess_env({**self.env, **env}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # no controlling terminal: a kill() is not the keyboard's
        )

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line)["args"] for line in self.log.read_text().splitlines()]

    def received(self) -> list[str]:
        return self.signals.read_text().split() if self.signals.exists() else []

    def wait_for_child(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pidfile.exists():
                return int(self.pidfile.read_text())
            time.sleep(0.02)
        raise TimeoutError("arkor start never started")

    def lock_file(self) -> Path:
        key = arkor_project.lock_path(self.project, {}).name
        return self.home / ".local" / "state" / "arkor-studio" / "locks" / key


@pytest.fixture
def tp(arkor, tmp_path: Path) -> TrainProject:  # type: ignore[no-untyped-def]
    return TrainProject(arkor, tmp_path)


def gone(pid: int, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


# --- labels -------------------------------------------------------------------------


@needs_node
def test_label_then_byte_exact_passthrough_of_both_streams(tp):
    result = tp.run("--no-notify")
    assert result.code == 0, result.err
    assert result.stdout == EXPECTED_STDOUT  # only arkor's bytes, split characters intact
    assert result.stderr.startswith(b"Run training: my-trainer\n")
    assert EXPECTED_STDERR in result.stderr  # invalid byte and escape codes untouched
    assert result.err.rstrip().endswith("Job job-42 completed (arkor start exited with status 0).")
    assert tp.calls() == [["build"], ["start"]]


@needs_node
def test_label_from_the_default_export_and_untrusted_name_is_cleaned(tp):
    result = tp.run(
        "--no-notify", FAKE_BUILD="default", FAKE_TRAINER="evil\x1b]0;pwned\x07\x1b[31m-red"
    )
    assert result.code == 0, result.err
    first = result.stderr.splitlines()[0]
    assert first == b"Run training: evil-red"


@needs_node
def test_no_trainer_label_exit_4_nothing_started(tp):
    result = tp.run("--no-notify", FAKE_BUILD="none")
    assert result.code == 4
    assert (
        "No trainer in src/arkor/index.ts yet. Add createTrainer(...) and pass it to createArkor."
        in result.err
    )
    assert tp.calls() == [["build"]] and result.stdout == b""


def test_build_failure_is_couldnt_read_manifest(tp):
    result = tp.run("--no-notify", FAKE_BUILD="fail")
    assert result.code == 4
    assert "Couldn't read manifest: src/arkor/index.ts:3:7: ERROR: Expected" in result.err
    assert tp.calls() == [["build"]]


@needs_node
def test_import_error_is_couldnt_read_manifest(tp):
    result = tp.run("--no-notify", FAKE_BUILD="throw")
    assert result.code == 4
    assert "Couldn't read manifest: boom at import" in result.err
    assert tp.calls() == [["build"]]


def test_node_missing_is_couldnt_read_manifest(tp, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = tp.run("--no-notify", PATH=str(empty))
    assert result.code == 4
    assert "Couldn't read manifest: Node.js (`node`) is not on PATH." in result.err
    assert tp.calls() == [["build"]]


def test_manifest_output_parsing():
    assert arkor_project.parse_manifest_output(0, b'{"trainer":{"name":"t"}}\n', b"") == "t"
    assert arkor_project.parse_manifest_output(0, b'{"trainer":null}\n', b"") is None
    with pytest.raises(arkor_project.ManifestError, match="Couldn't read manifest: x"):
        arkor_project.parse_manifest_output(0, b'{"error":"x"}', b"")
    with pytest.raises(arkor_project.ManifestError, match="Couldn't read manifest: SyntaxError"):
        arkor_project.parse_manifest_output(1, b"", b"SyntaxError: bad\n")


# --- exit status, discovery ---------------------------------------------------------


@needs_node
def test_exit_status_is_arkor_starts(tp):
    result = tp.run("--no-notify", FAKE_EXIT="3")
    assert result.code == 3
    assert "arkor start failed (exit status 3)." in result.err
    assert result.stdout == EXPECTED_STDOUT


def test_arkor_not_found_says_where_it_looked(tp, tmp_path):
    shutil.rmtree(tp.project / "node_modules")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = tp.run(PATH=str(empty))
    assert result.code == 4
    assert str(tp.project / "node_modules" / ".bin" / "arkor") in result.err
    assert "PATH" in result.err and "npm install arkor" in result.err


def test_discovery_order(tp, tmp_path):
    on_path = install_fake(tmp_path / "pathbin" / "arkor")
    from_env = install_fake(tmp_path / "envbin" / "arkor")
    explicit = install_fake(tmp_path / "explicit" / "arkor")
    path = f"{on_path.parent}{os.pathsep}{tp.env['PATH']}"

    def used(*args: str, **env: str) -> str:
        tp.log.unlink(missing_ok=True)
        assert tp.run("--no-manifest", "--no-notify", *args, PATH=path, **env).code == 0
        return json.loads(tp.log.read_text().splitlines()[0])["argv0"]

    assert used() == str(tp.bin)
    assert used(ARKOR_BIN=str(from_env)) == str(from_env)
    assert used("--arkor", str(explicit), ARKOR_BIN=str(from_env)) == str(explicit)
    shutil.rmtree(tp.project / "node_modules")
    assert used() == str(on_path)
    bad = tp.run("--arkor", str(tmp_path / "nope"), PATH=path)
    assert bad.code == 4 and "is not an executable file" in bad.err


# --- --file ------------------------------------------------------------------------


@needs_node
def test_file_inside_is_passed_to_build_and_start(tp):
    alt = tp.project / "src" / "arkor" / "alt.ts"
    alt.write_text("x")
    result = tp.run("--no-notify", "--file", "src/arkor/alt.ts")
    assert result.code == 0, result.err
    assert tp.calls() == [["build", str(alt)], ["start", str(alt)]]


def test_file_outside_and_symlink_outside_are_usage_errors(tp, tmp_path):
    outside = tmp_path / "outside.ts"
    outside.write_text("x")
    (tp.project / "src" / "arkor" / "link.ts").symlink_to(outside)
    for entry in (str(outside), "../outside.ts", "src/arkor/link.ts"):
        result = tp.run("--no-notify", "--file", entry)
        assert result.code == 2, (entry, result.err)
        assert "outside the project directory" in result.err
    missing = tp.run("--no-notify", "--file", "src/arkor/missing.ts")
    assert missing.code == 2 and "no such file" in missing.err
    assert tp.calls() == []


# --- --no-manifest -------------------------------------------------------------------


def test_no_manifest_skips_build_and_warns_about_a_stale_bundle(tp):
    bundle = tp.project / ".arkor" / "build" / "index.mjs"
    bundle.parent.mkdir(parents=True)
    bundle.write_text("export default {};\n")
    old = time.time() - 100
    os.utime(bundle, (old, old))
    result = tp.run("--no-manifest", "--no-notify")
    assert result.code == 0 and tp.calls() == [["start"]]
    assert "warning: src/arkor/index.ts is newer than .arkor/build/index.mjs" in result.err
    assert result.stdout == EXPECTED_STDOUT

    os.utime(bundle, None)
    fresh = tp.run("--no-manifest", "--no-notify")
    assert fresh.code == 0 and "warning" not in fresh.err


# --- the lock -----------------------------------------------------------------------


def test_second_run_in_the_same_project_is_refused_with_the_pid(tp):
    first = tp.popen("--no-manifest", "--no-notify", FAKE_SLEEP="1")
    try:
        tp.wait_for_child()
        assert tp.lock_file().read_text().strip() == str(first.pid)
        second = tp.run("--no-manifest", "--no-notify")
        assert second.code == 1
        assert f"already running in this project (pid {first.pid})" in second.err
        assert [c for c in tp.calls() if c == ["start"]] == [["start"]]
    finally:
        os.kill(first.pid, signal.SIGINT)
        first.communicate(timeout=20)
    assert first.returncode == 130
    assert not tp.lock_file().exists()
    assert tp.run("--no-manifest", "--no-notify").code == 0  # free again


def test_stale_lock_is_taken_over_and_removed(tp):
    lock = tp.lock_file()
    lock.parent.mkdir(parents=True)
    lock.write_text("999999\n")  # a dead process's lock: nobody holds the flock
    result = tp.run("--no-manifest", "--no-notify")
    assert result.code == 0, result.err
    assert not lock.exists()


def test_lock_lives_under_xdg_state_home(tp, tmp_path):
    state = tmp_path / "xdg-state"
    first = tp.popen("--no-manifest", "--no-notify", FAKE_SLEEP="1", XDG_STATE_HOME=str(state))
    try:
        tp.wait_for_child()
        locks = list((state / "arkor-studio" / "locks").iterdir())
        assert len(locks) == 1 and locks[0].read_text().strip() == str(first.pid)
        assert not (tp.project / ".arkor" / "train.lock").exists()
    finally:
        os.kill(first.pid, signal.SIGINT)
        first.communicate(timeout=20)
    assert list((state / "arkor-studio" / "locks").iterdir()) == []


def test_lock_is_removed_after_a_guard_failure(tp):
    assert tp.run("--no-notify", FAKE_BUILD="fail").code == 4
    assert not tp.lock_file().exists()


# --- signals ------------------------------------------------------------------------


def test_interrupt_reaches_the_child_once_and_we_exit_130(tp):
    proc = tp.popen("--no-manifest", "--no-notify", FAKE_SLEEP="1")
    child = tp.wait_for_child()
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert tp.received() == ["INT"]
    assert gone(child)
    assert b"interrupted; arkor start stopped." in err
    assert b"Traceback" not in err


def test_interrupt_escalates_to_term_after_the_grace_period(tp):
    proc = tp.popen(
        "--no-manifest", "--no-notify", FAKE_SLEEP="1", FAKE_IGNORE="INT",
        ARKOR_STUDIO_STOP_GRACE="0.5",
    )  # fmt: skip
    child = tp.wait_for_child()
    os.kill(proc.pid, signal.SIGINT)
    proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert tp.received() == ["INT", "TERM"]
    assert gone(child)


def test_sigterm_to_us_terminates_the_child_first(tp):
    proc = tp.popen("--no-manifest", "--no-notify", FAKE_SLEEP="1")
    child = tp.wait_for_child()
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert tp.received() == ["TERM"]
    assert gone(child)
    assert not tp.lock_file().exists()


def test_sighup_and_a_stubborn_child_ends_in_sigkill(tp):
    proc = tp.popen(
        "--no-manifest", "--no-notify", FAKE_SLEEP="1", FAKE_IGNORE="TERM",
        ARKOR_STUDIO_STOP_GRACE="0.5",
    )  # fmt: skip
    child = tp.wait_for_child()
    os.kill(proc.pid, signal.SIGHUP)
    proc.communicate(timeout=20)
    assert proc.returncode == 128 + signal.SIGHUP
    assert tp.received() == ["TERM"]  # then SIGKILL, which it cannot record
    assert gone(child)


def test_ctrl_c_in_a_terminal_reaches_the_child_exactly_once(tp):
    # The child ignores SIGINT (records it and goes on): a second, forwarded SIGINT
    # would show up; after the grace period it gets SIGTERM.
    env = {**tp.env, "FAKE_SLEEP": "1", "FAKE_IGNORE": "INT", "ARKOR_STUDIO_STOP_GRACE": "0.5"}
    run = start_pty(["-C", str(tp.project), "train", "--no-manifest", "--no-notify"], env)
    assert run.read_until(lambda out: b"sleeping" in out), run.text
    child = int(tp.pidfile.read_text())
    run.send(b"\x03")  # the terminal sends SIGINT to the whole foreground group
    assert run.wait() == 130, run.text
    assert tp.received() == ["INT", "TERM"]  # not a second, forwarded SIGINT
    assert gone(child)
    assert b"Job job-42 finished" in run.output  # the child wrote to the terminal itself


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_the_build_stops_it_and_releases_the_lock(tp, sig, code):
    proc = tp.popen("--no-notify", FAKE_BUILD_SLEEP="30")
    build = tp.wait_for_child()
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == code, err
    assert b"Traceback" not in err
    assert gone(build)
    assert tp.calls() == [["build"]]
    assert not tp.lock_file().exists()


def test_nohup_keeps_sighup_ignored_for_us_and_the_child(tp):
    proc = subprocess.Popen(
        ["nohup", *tp.argv("--no-manifest", "--no-notify")],
        env=subprocess_env({**tp.env, "FAKE_SLEEP": "1"}),
        cwd=tp.tmp,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    child = tp.wait_for_child()
    os.kill(proc.pid, signal.SIGHUP)
    time.sleep(0.3)
    assert proc.poll() is None and not gone(child, timeout=0.1)
    os.kill(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 143
    assert tp.received() == ["TERM"]  # the SIGHUP reached nobody
    assert gone(child)


# --- notification -------------------------------------------------------------------


def fake_notify_send(tmp_path: Path) -> tuple[str, Path]:
    bin_dir = tmp_path / "notify-bin"
    record = tmp_path / "notify-argv.jsonl"
    script = bin_dir / "notify-send"
    bin_dir.mkdir()
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(record)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    script.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}", record


def notifications(record: Path) -> list[list[str]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines()]


def test_notification_completed_and_failed(tp, tmp_path):
    path, record = fake_notify_send(tmp_path)
    assert tp.run("--notify", "--no-manifest", PATH=path).code == 0
    assert tp.run("--notify", "--no-manifest", PATH=path, FAKE_EXIT="2").code == 2
    done, failed = notifications(record)
    assert done[-4:-1] == ["normal", "--", "Training completed"]
    assert failed[-4:-1] == ["critical", "--", "Training failed"]
    assert "exited with status 2" in failed[-1]


def test_no_notification_when_off_or_piped_or_interrupted(tp, tmp_path):
    path, record = fake_notify_send(tmp_path)
    assert tp.run("--no-notify", "--no-manifest", PATH=path).code == 0
    assert tp.run("--no-manifest", PATH=path).code == 0  # default: off when not a terminal
    proc = tp.popen("--notify", "--no-manifest", PATH=path, FAKE_SLEEP="1")
    tp.wait_for_child()
    os.kill(proc.pid, signal.SIGINT)
    proc.communicate(timeout=20)
    assert notifications(record) == []


def test_notification_on_by_default_in_a_terminal(tp, tmp_path):
    path, record = fake_notify_send(tmp_path)
    run = start_pty(["-C", str(tp.project), "train", "--no-manifest"], {**tp.env, "PATH": path})
    assert run.wait() == 0, run.text
    assert [argv[-2] for argv in notifications(record)] == ["Training completed"]


# --- the pipe path (for --watch) and the scanner ---------------------------------------

PIPE_DRIVER = """
import os, sys
from pathlib import Path
from arkor_cli_studio import runner
from arkor_cli_studio import start_output
scanner = start_output.StartedJobScanner()
ids, calls = [], []
stop = sys.argv[3] == "stop"
def feed(chunk):
    calls.append(len(chunk))
    found = scanner.feed(chunk)
    if found:
        ids.append(found)
    return stop and found is not None
result = runner.run_start(Path(sys.argv[1]), Path(sys.argv[2]), None, os.environ, on_stdout=feed)
sys.stderr.write(f"\\nDRIVER ids={ids} calls={len(calls)} code={result.code}\\n")
sys.exit(result.code)
"""


@pytest.mark.parametrize("mode", ["stop", "all"])
def test_pipe_passthrough_is_byte_exact_and_finds_the_job_id(tp, mode):
    """The --watch path: stdout through a pipe, every chunk to a callback; with
    "stop", the callback is done after `Started job` and the rest is spliced."""
    proc = subprocess.run(
        [sys.executable, "-c", PIPE_DRIVER, str(tp.bin), str(tp.project), mode],
        env=subprocess_env({**tp.env, "FAKE_EXIT": "5"}),
        capture_output=True,
        cwd=ROOT,
        timeout=30,
    )
    assert proc.stdout == EXPECTED_STDOUT
    assert proc.stderr.startswith(EXPECTED_STDERR)
    tail = proc.stderr.rsplit(b"\nDRIVER ", 1)[1].decode()
    ids, calls, code = tail.split()
    assert (ids, code) == ("ids=['job-42']", "code=5")
    assert proc.returncode == 5
    if mode == "stop":  # the callback saw only the chunk with the id; the rest was spliced
        assert calls == "calls=1", calls


def test_pipe_passthrough_of_bulk_output_after_the_id(tp):
    proc = subprocess.run(
        [sys.executable, "-c", PIPE_DRIVER, str(tp.bin), str(tp.project), "stop"],
        env=subprocess_env({**tp.env, "FAKE_BYTES": "3000000"}),
        capture_output=True,
        cwd=ROOT,
        timeout=30,
    )
    expected = b"Started job job-bench\n"
    body = (fake_arkor.PATTERN * 50)[: 3_000_000 - len(expected)]
    assert proc.stdout == expected + body
    assert b"ids=['job-bench']" in proc.stderr and proc.returncode == 0


def test_scanner_finds_the_id_however_the_bytes_are_split():
    data = b"building...\n\x1b[32mStarted job\x1b[0m job-7f3a\r\nStarted job other\n"
    for size in range(1, len(data) + 1):
        for offset in range(size):
            scanner = start_output.StartedJobScanner()
            pieces = [data[:offset]] + [data[i : i + size] for i in range(offset, len(data), size)]
            found = [hit for piece in pieces if (hit := scanner.feed(piece))]
            assert found == ["job-7f3a"], (size, offset)
            assert scanner.job_id == "job-7f3a"


def test_scanner_waits_for_the_end_of_the_line_and_bounds_memory():
    scanner = start_output.StartedJobScanner(max_line=64)
    assert scanner.feed(b"Started job job-1") is None  # the id may continue
    assert scanner.feed(b"23\n") == "job-123"
    scanner = start_output.StartedJobScanner(max_line=64)
    assert scanner.feed(b"x" * 100 + b" Started job too-long\n") is None
    assert scanner.feed(b"Started job ok\n") == "ok"
    assert start_output.StartedJobScanner().feed(b"Started job \x1b]0;t\x07 \n") is None


def test_scanners_skip_whole_lines_without_the_key_and_still_find_it_after():
    """The fast path for a chatty trainer's chunks (whole lines, no key) keeps
    the state right: a long line being skipped, a line split across chunks."""
    scanner = start_output.StartedJobScanner(max_line=32)
    assert scanner.feed(b"x" * 40) is None  # too long: skipped to its end
    assert scanner.feed(b"tail\n") is None
    assert scanner.feed(b"step 1\nstep 2\n") is None
    assert scanner.feed(b"Started job j1\n") == "j1"
    outcome = start_output.OutcomeScanner()
    for chunk in (b"Job j1 fini", b"shed with status=completed\n", b"step 3\n"):
        outcome.feed(chunk)
    assert (outcome.job_id, outcome.status) == ("j1", "completed")
