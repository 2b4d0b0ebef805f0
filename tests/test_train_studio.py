"""`--studio train`: the manifest from GET /api/manifest, the run through POST /api/train
(a fake `arkor dev` in front of the simulator)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ModeArkor
from tests.helpers import STUDIO_TOKEN, TOKEN, cli_command, subprocess_env
from tests.studio_server import TrainScript
from tests.test_train import Run
from tests.test_watch import lifecycle

NO_TRAINER = (
    "No trainer in src/arkor/index.ts yet. Add createTrainer(...) and pass it to createArkor."
)


def train(sa: ModeArkor, *args: str, **env: str) -> Run:
    """`train` in a subprocess (it writes to file descriptor 1 itself), as bytes."""
    proc = subprocess.run(
        [*cli_command(), *sa.args(("train", "--no-notify", *args))],
        env=subprocess_env({**sa.env, **env}),
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def posts(sa: ModeArkor) -> list[dict]:
    assert sa.studio is not None
    return [json.loads(r.body) for r in sa.studio.requests if r.method == "POST"]


def assert_no_secrets(run: Run) -> None:
    for secret in (STUDIO_TOKEN, TOKEN):
        assert secret.encode() not in run.stdout + run.stderr


def test_label_then_byte_exact_output_and_the_trailers_exit_status(studio_arkor):
    output = b"Started job j1\ncaf\xc3\xa9 \xe2\x9c\x93 loss=0.5\r\nraw \xff byte\nno newline"
    raw = output + b"\n---\nexit=3\n"
    # Cut inside both multi-byte characters and inside the trailer.
    studio_arkor.studio.train = TrainScript(raw=raw, pieces=[18, 4, 3, 30, 6, 2])
    result = train(studio_arkor)
    assert result.code == 3, result.err
    assert result.stdout == output  # not the trailer, not one byte of ours
    assert result.stderr.startswith(b"Run training: my-trainer\n")
    assert "arkor start failed (exit status 3)." in result.err
    assert posts(studio_arkor) == [{}]
    assert [r.target for r in studio_arkor.studio.requests] == ["/api/manifest", "/api/train"]
    assert_no_secrets(result)


def test_exit_zero_and_killed_by_a_signal(studio_arkor):
    studio_arkor.studio.train = TrainScript(chunks=[b"ok\n"], exit=0)
    result = train(studio_arkor)
    assert (result.code, result.stdout) == (0, b"ok\n")
    assert "arkor start finished (exit status 0)" in result.err
    studio_arkor.studio.train = TrainScript(chunks=[b"bye\n"], exit=None)
    result = train(studio_arkor)
    assert (result.code, result.stdout) == (1, b"bye\n")
    assert "a signal killed arkor start (exit=null)" in result.err


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ((200, {"trainer": None}), NO_TRAINER),
        ((400, {"error": "Build failed: src/arkor/index.ts:3:7"}),
         "Couldn't read manifest: Build failed: src/arkor/index.ts:3:7"),
    ],
)  # fmt: skip
def test_no_trainer_or_unreadable_manifest_is_exit_4_and_nothing_runs(
    studio_arkor, manifest, message
):
    studio_arkor.studio.manifest = manifest
    result = train(studio_arkor)
    assert result.code == 4
    assert f"arkor-studio: {message}" in result.err
    assert posts(studio_arkor) == [] and result.stdout == b""


def test_no_manifest_skips_the_manifest(studio_arkor):
    studio_arkor.studio.manifest = (200, {"trainer": None})  # would refuse
    result = train(studio_arkor, "--no-manifest")
    assert result.code == 0, result.err
    assert [r.target for r in studio_arkor.studio.requests] == ["/api/train"]


def test_file_is_checked_here_then_sent_resolved(studio_arkor, tmp_path):
    alt = studio_arkor.project / "src" / "arkor" / "alt.ts"
    alt.parent.mkdir(parents=True)
    alt.write_text("x")
    assert train(studio_arkor, "--file", "src/arkor/alt.ts").code == 0
    assert posts(studio_arkor) == [{"file": str(alt.resolve())}]
    outside = tmp_path / "outside.ts"
    outside.write_text("x")
    studio_arkor.studio.requests.clear()
    result = train(studio_arkor, "--file", str(outside))
    assert result.code == 2 and "outside the project directory" in result.err
    assert studio_arkor.studio.requests == []  # refused before anything was sent


def test_arkor_option_is_refused_with_studio(studio_arkor, tmp_path):
    result = train(studio_arkor, "--arkor", str(tmp_path / "arkor"))
    assert result.code == 2
    assert "--arkor doesn't apply with --studio" in result.err
    assert studio_arkor.studio.requests == []


def test_failed_to_start_is_one_clear_line(studio_arkor):
    studio_arkor.studio.train = TrainScript(chunks=[b"building\n"], start_error="spawn node ENOENT")
    result = train(studio_arkor)
    assert result.code == 4
    assert result.stdout == b"building\n"
    assert "arkor-studio: Studio could not start `arkor start`: spawn node ENOENT" in result.err
    assert "Traceback" not in result.err


def test_wrong_token_and_studio_not_running_are_exit_5(studio_arkor):
    result = train(studio_arkor, ARKOR_STUDIO_TOKEN="wrong-token-1234")
    assert result.code == 5  # the page did not show it: never sent
    assert "is not the Studio whose token is in ARKOR_STUDIO_TOKEN" in result.err
    assert "wrong-token-1234" not in result.err
    assert posts(studio_arkor) == []
    proc = subprocess.run(
        [*cli_command(), "--studio-url", "http://127.0.0.1:1", "-C", str(studio_arkor.project),
         "train", "--no-notify"],
        env=subprocess_env(studio_arkor.env), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 5
    assert "Studio is not running at http://127.0.0.1:1." in proc.stderr


def test_watch_through_studio_follows_the_started_job(studio_arkor):
    lifecycle(studio_arkor.sim, "j1", steps=3, name="studio run")
    studio_arkor.studio.train = TrainScript(chunks=[b"Started job j1\n", b"done\n"], exit=0)
    result = train(studio_arkor, "--watch")
    assert result.code == 0, result.err
    assert result.stdout == b"Started job j1\ndone\n"
    assert "training.completed" in result.err and "step=3" in result.err
    events = [r for r in studio_arkor.studio.requests if r.target == "/api/jobs/j1/events"]
    assert events  # followed through Studio, not the cloud
    assert_no_secrets(result)


def test_watch_starts_while_studio_holds_back_the_newline(studio_arkor):
    """`Started job j1\n` then nothing for a while: the newline is held back (it
    might start the trailer), yet the watch starts at once."""
    lifecycle(studio_arkor.sim, "j1", steps=2, name="studio run")
    gate = threading.Event()
    studio_arkor.studio.train = TrainScript(chunks=[b"Started job j1\n", b"done\n"], gate=gate)
    proc = subprocess.Popen(
        [*cli_command(), *studio_arkor.args(("train", "--no-notify", "--watch"))],
        env=subprocess_env(studio_arkor.env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        seen = b""
        deadline = time.monotonic() + 6  # well before the gate would open by itself (10 s)
        while b"training.completed" not in seen:  # the watch ran before the gate opened
            ready, _, _ = select.select([proc.stderr], [], [], deadline - time.monotonic())
            assert ready, f"no watch before the next output: {seen!r}"
            piece = os.read(proc.stderr.fileno(), 4096)
            assert piece, seen
            seen += piece
    finally:
        gate.set()
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out == b"Started job j1\ndone\n"


@pytest.mark.parametrize(
    ("sig", "code", "why"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "got signal 15")],
)
def test_ctrl_c_closes_the_connection_and_says_what_studio_does(studio_arkor, sig, code, why):
    gate = threading.Event()
    studio_arkor.studio.train = TrainScript(chunks=[b"Started job j9\n", b"never\n"], gate=gate)
    proc = subprocess.Popen(
        [*cli_command(), *studio_arkor.args(("train", "--no-notify"))],
        env=subprocess_env(studio_arkor.env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        first = os.read(proc.stdout.fileno(), 100)  # streamed, not at the end; its newline
        assert first == b"Started job j9"  # is held back: it might start Studio's trailer
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        gate.set()
    assert proc.returncode == code, err
    text = err.decode()
    assert f"{why}; closed the connection to Studio" in text
    assert "kills the process when its client goes away" in text
    assert out == b"", (out, text)  # that newline was not output after all
    assert "Traceback" not in text
    locks = Path(studio_arkor.home, ".local", "state", "arkor-studio", "locks")
    assert list(locks.iterdir()) == []  # the lock was taken, and released on the way out


def test_notification_as_in_direct_mode(studio_arkor, tmp_path):
    from tests.test_train import fake_notify_send, notifications

    path, record = fake_notify_send(tmp_path)
    studio_arkor.studio.train = TrainScript(chunks=[b"x\n"], exit=2)
    proc = subprocess.run(
        [*cli_command(), *studio_arkor.args(("train", "--notify"))],
        env=subprocess_env({**studio_arkor.env, "PATH": path}),
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 2
    [argv] = notifications(record)
    assert argv[-4:-1] == ["critical", "--", "Training failed"]
    assert argv[-1] == "my-trainer: arkor start exited with status 2"
