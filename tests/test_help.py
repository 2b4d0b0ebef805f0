"""Help that teaches: a snapshot of every command's --help, and the rules it follows.

The commands come from the app itself, so a newly registered command gets
its own snapshot (run `pytest tests/test_help.py --snapshot-update` once and
review the .ambr diff). Help is rendered in a subprocess whose environment
fixes the width and turns terminal detection off before typer is imported.
"""

from __future__ import annotations

import os
import re
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


def help_text(path: tuple[str, ...], width: str = WIDTH, *, via_help: bool = False) -> str:
    """`arkor-studio PATH --help` (or `arkor-studio help PATH`) at `width` columns."""
    env = subprocess_env(
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": "/nonexistent",
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "_TYPER_FORCE_DISABLE_TERMINAL": "1",
            "TERMINAL_WIDTH": width,
            "COLUMNS": width,
            "NO_COLOR": "1",
        }
    )
    args = ["help", *path] if via_help else [*path, "--help"]
    result = subprocess.run(
        [sys.executable, "-m", "arkor_cli_studio", *args],
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
    # a command continued on the next line (after `|`, `&&` or `\`) is one command
    joined = re.sub(r"(\||&&|\\)\n\s+", r"\1 ", examples)
    runnable = [line.strip() for line in joined.splitlines() if line.strip()]
    commands = [line for line in runnable if line.startswith("arkor-studio")]
    assert len(commands) >= 2, examples
    if path:
        # Examples of a command use that command.
        assert all(" ".join(path) in line for line in commands), commands
    assert max(len(line) for line in lines) <= int(WIDTH)


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "root" for p in PATHS])
@pytest.mark.parametrize("via_help", [False, True], ids=["--help", "help"])
def test_help_fits_80_columns_and_names_arguments_plainly(path, via_help):
    """At 80 columns no line is longer (the terminal would wrap the examples
    mid-word), and the usage line names arguments as Click does (`JOB_ID`),
    not as Typer writes a required one (`{JOB_ID}`)."""
    text = help_text(path, "80", via_help=via_help)
    assert text == help_text(path, "80")  # `help CMD` is `CMD --help`
    too_long = [line for line in text.splitlines() if len(line) > 80]
    assert too_long == []
    usage = text.splitlines()[0]
    assert "{" not in usage and "}" not in usage, usage
    if path in (("show",), ("watch",), ("cancel",), ("artifacts",)):
        assert usage.endswith("[OPTIONS] JOB_ID"), usage
    if path == ("compare",):
        assert usage.endswith("[OPTIONS] JOB_ID..."), usage


def test_a_usage_error_names_the_argument_plainly(arkor):
    result = arkor.cli("show")
    assert result.code == 2
    assert "Usage: arkor-studio show [OPTIONS] JOB_ID\n" in result.stderr, result.stderr
    assert "Missing argument 'JOB_ID'" in result.stderr


def test_examples_line_up_comments_and_move_those_that_do_not_fit():
    from arkor_cli_studio.commands import EXAMPLE_WIDTH, examples

    text = examples(
        "arkor-studio jobs  # the table",
        "arkor-studio watch job_1   # live",
        "arkor-studio watch job_1 --json |\njq -c .data",
        "arkor-studio show \"$(arkor-studio jobs --json | jq -r '.[0].id')\"  # the newest job",
    )
    assert text.splitlines() == [
        "Examples:",
        "",
        "\b",  # Click keeps the block as written
        "  arkor-studio jobs         # the table",
        "  arkor-studio watch job_1  # live",
        "  arkor-studio watch job_1 --json |",
        "      jq -c .data",
        "  # the newest job",
        "  arkor-studio show \"$(arkor-studio jobs --json | jq -r '.[0].id')\"",
    ]
    assert all(len(line) <= EXAMPLE_WIDTH + 2 for line in text.splitlines())
