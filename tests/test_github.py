"""GitHub Actions: workflow-command escaping and the log of a watched run.

The golden files are the log of the demo's completed and failed runs (at
fixed times) as the GitHub Actions sink prints it; regenerate them with
ARKOR_UPDATE_GOLDEN=1 and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from arkor_cli_studio.demo import Scenario
from arkor_cli_studio.event_text import summary_line
from arkor_cli_studio.github import (
    GitHubLog,
    GitHubReport,
    command,
    detect_ci,
    escape_data,
    escape_property,
    log_line,
)
from arkor_cli_studio.model import Event, StreamNotice
from arkor_cli_studio.render.lines import plain_event_line, plain_notice_line, plain_progress_line
from tests import gha_runner
from tests.ci_runs import CREATED, DemoRun, demo_run, iso, new_view

GOLDEN = Path(__file__).parent / "golden"

HOSTILE = [
    "::error::injected",
    "  ::set-output name=x::y",
    "\n::error title=x::injected",
    "a\r::warning::b",
    "%0A::error::encoded newline",
    "50% done %25 %3A %2C",
    "##[error]legacy",
    "x ##[set-env name=A;]B",
    "::stop-commands::token",
    "title, with: separators",
    "\x1b]0;title\x07bell \x1b[31mred",
    "\u2028::error::line separator",
]


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ARKOR_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {name}: run with ARKOR_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def github_log(run: DemoRun) -> list[str]:
    """What the GitHub Actions sink prints for the run (events in order)."""
    view = new_view(run)
    report = GitHubReport(plain_event_line, plain_progress_line)
    lines = report.begin(view)
    for event in run.events:
        view.apply(event)
        lines += report.event(view, event)
    view.apply_job(run.final)
    lines += report.finish(view, summary_line(view.display_name, view.summary(run.ended_at)))
    return lines


def visible(lines: list[str]) -> list[str]:
    """The lines shown with every group collapsed (group titles included)."""
    out, inside = [], False
    for line in lines:
        parsed = gha_runner.parse(line)
        if parsed is not None and parsed.name == "group":
            out.append(line)
            inside = True
        elif parsed is not None and parsed.name == "endgroup":
            inside = False
        elif not inside or (parsed is not None and parsed.name in ("error", "warning")):
            out.append(line)
    return out


# ---- escaping ---------------------------------------------------------------


def test_escape_data_follows_the_runner_rules() -> None:
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_command_shape() -> None:
    assert command("endgroup") == "::endgroup::"
    assert command("group", "Training run") == "::group::Training run"
    assert (
        command("error", "out of memory", title="Training failed")
        == "::error title=Training failed::out of memory"
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_server_text_in_a_command_is_its_data_and_nothing_more(text: str) -> None:
    from arkor_cli_studio.textsafe import clean_line

    line = command("error", text, title=text)
    assert "\n" not in line and "\r" not in line
    parsed = gha_runner.parse(line)
    assert parsed is not None and parsed.name == "error"
    assert set(parsed.properties) == {"title"}
    assert parsed.properties["title"] == clean_line(text)
    assert parsed.data == clean_line(text).replace("##[", "##%5B")


@pytest.mark.parametrize("text", HOSTILE)
def test_server_text_in_a_plain_line_is_never_a_command(text: str) -> None:
    line = log_line(text)
    assert "\n" not in line and "\r" not in line
    assert gha_runner.parse(line) is None


def test_the_runner_port_does_read_commands() -> None:
    """(The check above could not fail if the port read nothing.)"""
    assert gha_runner.parse("  ::error title=a%2Cb::x%0Ay").properties == {"title": "a,b"}  # type: ignore[union-attr]
    assert gha_runner.parse("text ##[warning]legacy") is not None
    assert gha_runner.parse("2026  ::error::not at the start") is None


def test_detection() -> None:
    assert detect_ci({"GITHUB_ACTIONS": "true"}) == "github"
    assert detect_ci({}) is None
    assert detect_ci({"GITHUB_ACTIONS": "false"}) is None
    assert detect_ci({}, "github") == "github"
    assert detect_ci({"GITHUB_ACTIONS": "true"}, "none") is None


# ---- the log ---------------------------------------------------------------------


def test_golden_log_of_a_completed_run() -> None:
    lines = github_log(demo_run(Scenario()))
    golden("github-completed.log", "\n".join(lines) + "\n")


def test_golden_log_of_a_failed_run() -> None:
    lines = github_log(demo_run(Scenario(fail=True)))
    golden("github-failed.log", "\n".join(lines) + "\n")
    assert lines[-1].startswith("::error title=Training failed::CUDA out of memory.")


def test_every_event_line_is_inside_a_group_and_groups_balance() -> None:
    run = demo_run(Scenario())
    lines = github_log(run)
    depth = 0
    for line in lines:
        parsed = gha_runner.parse(line)
        if parsed is not None and parsed.name == "group":
            assert depth == 0, "groups do not nest in GitHub Actions"
            depth = 1
        elif parsed is not None and parsed.name == "endgroup":
            assert depth == 1
            depth = 0
        elif "  training." in line or "  checkpoint." in line:
            assert depth == 1, line
    assert depth == 0
    titles = [gha_runner.parse(line).data for line in lines if line.startswith("::group::")]  # type: ignore[union-attr]
    assert titles[0] == "Warming up GPU" and titles[-1] == "The end"
    assert "Training run" in titles


def test_a_two_hour_run_has_a_short_visible_log() -> None:
    """A 2-hour demo run (4,800 steps of ~1.5 s): thousands of lines, under
    100 of them visible with the groups collapsed."""
    run = demo_run(Scenario(steps=4800))
    assert run.ended_at - CREATED >= __import__("datetime").timedelta(hours=2)
    lines = github_log(run)
    shown = visible(lines)
    assert len(lines) > 4800
    assert len(shown) < 100, len(shown)
    progress = [line for line in shown if "  progress  " in line]
    assert len(progress) == 10  # one per tenth
    assert shown[-1].startswith("Job smoltalk-chat-qwen2.5-0.5b completed in 2h")


def test_one_warning_per_interruption() -> None:
    log = GitHubReport(plain_event_line, plain_progress_line)
    view = new_view(demo_run(Scenario()))
    now = CREATED
    lines = log.begin(view)
    drops = [
        StreamNotice("interrupted", "connection reset", 1, 1.0),
        StreamNotice("interrupted", "connection refused", 2, 2.0),
        StreamNotice("resumed"),
        StreamNotice("interrupted", "::error::server says", 1, 1.0),
    ]
    for notice in drops:
        lines += log.notice(notice, plain_notice_line(notice, now))
    warnings = [gha_runner.parse(line) for line in lines if line.startswith("::warning")]
    assert [w.data for w in warnings if w] == [
        "The event stream dropped: connection reset; reconnecting.",
        "The event stream dropped: ::error::server says; reconnecting.",
    ]
    commands = [gha_runner.parse(line) for line in lines]
    assert [c.name for c in commands if c] == ["group", "warning", "warning"]


def test_an_alert_is_a_warning_annotation() -> None:
    log = GitHubLog()
    (line,) = log.alert("loss rose 3 evals in a row: 0.61 → 0.64", title="Alert: eval loss")
    parsed = gha_runner.parse(line)
    assert parsed is not None and parsed.name == "warning"
    assert parsed.properties == {"title": "Alert: eval loss"}


def test_hostile_job_text_never_forms_a_command() -> None:
    """A job whose error and event payloads try to inject commands."""
    run = demo_run(Scenario(steps=20, fail=True))
    for index, event in enumerate(run.events):
        if event.name == "training.failed":
            data = {**event.data, "error": "\n".join(HOSTILE)}
            run.events[index] = Event(event.name, event.id, data)
    run.events.insert(
        1, Event("::error::x", "x", {"timestamp": iso(CREATED), "type": "::warning::y"})
    )
    lines = github_log(run)
    names = [parsed.name for line in lines if (parsed := gha_runner.parse(line))]
    assert set(names) <= {"group", "endgroup", "error"}
    assert names.count("error") == 1
    assert all("\n" not in line and "\r" not in line for line in lines)
