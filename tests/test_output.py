"""When stdout itself fails (full, closed) or the working directory is gone:
one clear line and the documented exit code, never "unexpected error"."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import cli_command, subprocess_env
from tests.test_faults import full_job

pytestmark = pytest.mark.slow  # subprocesses

NEEDS_DEV_FULL = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")


def run(arkor, args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [*cli_command(), *args],
        env=subprocess_env(arkor.env),
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        **kwargs,
    )


@NEEDS_DEV_FULL
@pytest.mark.parametrize(
    "command",
    [("--version",), ("jobs", "--json"), ("jobs",), ("watch", "j1", "--json"), ("show", "j1")],
)
def test_stdout_to_dev_full_says_the_output_could_not_be_written(arkor, command):
    full_job(arkor.sim, steps=3)
    args = [*arkor.args(()), *command] if command[0] != "--version" else list(command)
    with open("/dev/full", "w") as full:
        result = run(arkor, args, stdout=full)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1:] == [
        "arkor-studio: could not write the output: No space left on device."
    ]
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [("jobs", "--json"), ("watch", "j1", "--json")])
def test_a_closed_stdout_says_so(arkor, command):
    full_job(arkor.sim, steps=3)

    def close_stdout() -> None:
        os.close(1)

    result = run(
        arkor, [*arkor.args(()), *command], stdout=subprocess.DEVNULL, preexec_fn=close_stdout
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1:] == [
        "arkor-studio: could not write the output: standard output is closed."
    ]
    assert "AttributeError" not in result.stderr


@pytest.mark.parametrize("command", [("jobs",), ("watch", "j1"), ("train",)])
def test_a_removed_working_directory_is_one_clear_line(arkor, tmp_path, command):
    gone = tmp_path / "gone"
    gone.mkdir()

    def enter_and_remove() -> None:
        os.chdir(gone)
        os.rmdir(gone)

    result = run(arkor, list(command), stdout=subprocess.PIPE, preexec_fn=enter_and_remove)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "arkor-studio: The current directory no longer exists (it was removed or moved).",
        "hint: cd to the project again, or name it with -C DIR.",
    ]
