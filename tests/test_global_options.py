"""Root options after the command, and `help [COMMAND]` (issue 16 item 11)."""

from __future__ import annotations

import pytest

from arkor_cli_studio.app import COMMANDS
from arkor_cli_studio.argv import global_options_first
from tests.helpers import run_inprocess


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["jobs", "-C", "d"], ["-C", "d", "jobs"]),
        (["watch", "j1", "--no-color", "--plain"], ["--no-color", "watch", "j1", "--plain"]),
        (["-C", "a", "show", "j1", "--api-url=u"], ["-C", "a", "--api-url=u", "show", "j1"]),
        (["stats", "--file", "-", "--", "-C"], ["stats", "--file", "-", "--", "-C"]),
        (["help"], ["--help"]),
        (["help", "watch"], ["watch", "--help"]),
        (["--version"], ["--version"]),
    ],
)  # fmt: skip
def test_rewrite(args, expected):
    assert global_options_first(args, COMMANDS) == expected


def test_jobs_with_the_project_after_the_command(arkor):
    arkor.sim.add_job("j1", name="after", status="running")
    result = run_inprocess(["jobs", "-C", str(arkor.project), "--no-color"], arkor.env)
    assert result.code == 0, result.stderr
    assert "after" in result.stdout and "j1" in result.stdout


def test_help_command(arkor):
    root = run_inprocess(["help"], arkor.env)
    assert root.code == 0 and "Commands" in root.stdout
    watch = run_inprocess(["help", "watch"], arkor.env)
    assert watch.code == 0 and watch.stdout.startswith("Usage: arkor-studio watch")
