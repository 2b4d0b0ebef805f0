"""Help that teaches: a snapshot of every command's --help, and the rules it follows.

The commands come from the app itself, so a newly registered command gets
its own snapshot (run `pytest tests/test_help.py --snapshot-update` once and
review the .ambr diff). Help is rendered in a subprocess whose environment
fixes the width and turns terminal detection off before typer is imported.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer

from arkor_cli_studio.app import app
from tests.helpers import subprocess_env

WIDTH = "100"


def command_paths() -> list[tuple[str, ...]]:
    """Every command path the app registers: (), ("jobs",), ("group", "sub"), ..."""
    paths: list[tuple[str, ...]] = [()]

    def walk(command: object, prefix: tuple[str, ...]) -> None:
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            if getattr(sub, "hidden", False):
                continue
            paths.append((*prefix, name))
            walk(sub, (*prefix, name))

    walk(typer.main.get_command(app), ())
    return paths


def help_text(path: tuple[str, ...]) -> str:
    env = subprocess_env(
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": "/nonexistent",
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "_TYPER_FORCE_DISABLE_TERMINAL": "1",
            "TERMINAL_WIDTH": WIDTH,
            "COLUMNS": WIDTH,
            "NO_COLOR": "1",
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "arkor_cli_studio", *path, "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


PATHS = command_paths()


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "root" for p in PATHS])
def test_help_snapshot(path, snapshot):
    assert help_text(path) == snapshot


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "root" for p in PATHS])
def test_help_teaches(path):
    """A one-line summary, the options, and two or more runnable examples."""
    text = help_text(path)
    lines = text.splitlines()
    assert lines[0].startswith("Usage: arkor-studio")
    summary = lines[2].strip()
    assert summary and len(summary) <= 90 and lines[3].strip() == "", summary
    assert "Options:" in text and "-h, --help" in text
    assert "Examples:" in text
    examples = text.split("Examples:", 1)[1]
    runnable = [line.strip() for line in examples.splitlines() if line.strip()]
    commands = [line for line in runnable if line.startswith("arkor-studio")]
    assert len(commands) >= 2, examples
    if path:
        # Examples of a command use that command.
        assert all(" ".join(path) in line for line in commands), commands
    assert max(len(line) for line in lines) <= int(WIDTH)
