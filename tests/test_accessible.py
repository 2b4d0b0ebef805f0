"""--accessible: the lines a screen reader gets for a whole demo run."""

from __future__ import annotations

import itertools

from arkor_cli_studio.accessible import AccessibleLog, in_words, wanted
from arkor_cli_studio.demo import Scenario
from arkor_cli_studio.event_text import summary_line
from arkor_cli_studio.model import StreamNotice
from tests.ci_runs import demo_run, new_view


def accessible_lines(fail: bool = False, seconds_per_event: float = 1.0) -> list[str]:
    run = demo_run(Scenario(fail=fail))
    ticks = itertools.count(0.0, seconds_per_event)
    log = AccessibleLog(clock=lambda: next(ticks))
    view = new_view(run)
    lines = log.begin(view)
    for event in run.events:
        view.apply(event)
        lines += log.event(view, event)
    view.apply_job(run.final)
    return lines + log.finish(view, summary_line(view.display_name, view.summary(run.ended_at)))


def test_a_completed_run_reads_as_sentences() -> None:
    lines = accessible_lines()
    assert lines[:3] == [
        "Watching job smoltalk-chat-qwen2.5-0.5b. Status: queued.",
        "Phase: warming up, waiting for a GPU.",
        "Phase: training.",
    ]
    assert [line for line in lines if line.startswith("Phase:")] == [
        "Phase: warming up, waiting for a GPU.",
        "Phase: training.",
        "Phase: the end.",
    ]
    assert lines.count("Checkpoint saved at step 40.") == 1
    assert sum(line.startswith("Checkpoint saved") for line in lines) == 3
    assert sum(line.startswith("Eval loss ") for line in lines) == 12
    assert "Training completed, 4 artifacts." in lines
    assert lines[-1].startswith("Status: completed. Job smoltalk-chat-qwen2.5-0.5b completed in")
    # Whole lines, no escape sequences, no cursor movement.
    assert all("\x1b" not in line and "\r" not in line and "\n" not in line for line in lines)


def test_progress_at_most_every_30_seconds() -> None:
    """One event a second: 138 log frames give 5 progress lines, not 138."""
    lines = accessible_lines(seconds_per_event=1.0)
    progress = [line for line in lines if line.startswith("Progress:")]
    assert 3 <= len(progress) <= 6
    assert progress[0].startswith("Progress: step 1 of 120, 1 percent")
    many = [line for line in accessible_lines(seconds_per_event=31.0) if "Progress:" in line]
    assert len(many) == 120  # every step once 30 s have passed each time


def test_a_failed_run_says_so_in_words() -> None:
    lines = accessible_lines(fail=True)
    assert any(line.startswith("Training failed: CUDA out of memory.") for line in lines)
    assert lines[-1].startswith("Status: failed. Job smoltalk-chat-qwen2.5-0.5b failed in")


def test_stream_notices() -> None:
    log = AccessibleLog()
    assert log.notice(StreamNotice("interrupted", "connection reset\x1b[2J", 1, 1.0)) == [
        "The event stream dropped: connection reset. Reconnecting."
    ]
    assert log.notice(StreamNotice("resumed")) == ["The event stream is back."]


def test_wanted() -> None:
    assert wanted(True, {})
    assert wanted(False, {"ACCESSIBLE": "1"})
    assert not wanted(False, {"ACCESSIBLE": "0"})
    assert not wanted(False, {"ACCESSIBLE": ""})
    assert not wanted(False, {})


def test_in_words() -> None:
    assert in_words(222) == "3 minutes 42 seconds"
    assert in_words(6533) == "1 hour 48 minutes"
    assert in_words(1) == "1 second"
    assert in_words(0) == "0 seconds"
