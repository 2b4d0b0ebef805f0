"""`demo --serve`: several simulated jobs to try every command on, from another terminal."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers import cli_command, run_subprocess, subprocess_env

pytestmark = pytest.mark.slow


def start_serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, str], str]:
    env = subprocess_env({"HOME": str(tmp_path / "real-home"), "PATH": os.environ["PATH"]})
    proc = subprocess.Popen(
        [*cli_command(), "demo", "--serve", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    lines = []
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        assert line, "".join(lines)
        lines.append(line)
        if line.startswith("(Instead of cd"):
            break
    text = "".join(lines)
    home = re.search(r"export HOME=(\S+)", text)
    project = re.search(r"\n  cd (\S+)", text)
    assert home and project, text
    return proc, {"HOME": home.group(1), "PATH": os.environ["PATH"]}, project.group(1)


def test_serve_offers_every_command_then_cleans_up(tmp_path):
    proc, env, project = start_serve(tmp_path, "--speed", "200")
    try:
        listed = run_subprocess(["-C", project, "jobs", "--json"], env)
        assert listed.code == 0, listed.stderr
        ids = {job["id"] for job in json.loads(listed.stdout)}
        assert ids == {"sweep-80", "sweep-120", "sweep-160", "live-ok", "live-oom", "live-queued"}
        compared = run_subprocess(
            ["-C", project, "compare", "sweep-80", "sweep-120", "sweep-160", "--json"], env
        )
        assert compared.code == 0, compared.stderr
        assert [j["complete"] for j in json.loads(compared.stdout)["jobs"]] == [True] * 3
        waited = run_subprocess(["-C", project, "wait", "live-ok", "live-oom"], env, timeout=60)
        assert waited.code == 1, waited.output  # live-oom runs out of GPU memory
        assert (
            "Job " in waited.stdout and "failed" in waited.stdout and "completed" in waited.stdout
        )
        stats = run_subprocess(["-C", project, "stats", "sweep-120", "--json"], env)
        assert json.loads(stats.stdout)["loss"]["count"] == 120
        cancelled = run_subprocess(["-C", project, "cancel", "live-queued", "--yes"], env)
        assert cancelled.code == 0, cancelled.output
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    home = Path(env["HOME"])
    assert "removed" in err and not home.exists() and not home.parent.exists()
    assert not (tmp_path / "real-home").exists()  # the user's own HOME was never touched


@pytest.mark.parametrize("sig, code", [(signal.SIGHUP, 129), (signal.SIGTERM, 143)])
def test_serve_removes_its_directory_on_hangup_and_term(tmp_path, sig, code):
    proc, env, _ = start_serve(tmp_path)
    proc.send_signal(sig)
    proc.communicate(timeout=10)
    assert proc.returncode == code
    assert not Path(env["HOME"]).parent.exists()
