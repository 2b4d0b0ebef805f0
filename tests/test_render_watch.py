"""The live frame at a fixed width, clock and time zone (snapshots), and its height bound."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from arkor_cli_studio.model import Event, Job, StreamNotice
from arkor_cli_studio.render.watch import loss_chart, plain_event_line, watch_frame
from arkor_cli_studio.watching import JobView

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
CONFIG = {
    "model": "unsloth/gemma-3-270m-it",
    "maxSteps": 300,
    "datasetSource": {"type": "huggingface", "name": "org/data", "subset": "a", "split": "train"},
}


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def text(view: JobView, now_s: float, width: int = 100, height: int = 40) -> str:
    console = Console(
        file=io.StringIO(), record=True, width=width, color_system=None, force_terminal=False
    )
    console.print(watch_frame(view, T0 + timedelta(seconds=now_s), width, height, tz=UTC))
    return console.export_text()


def training_view(steps: int, *, status: str = "running") -> JobView:
    job = Job(
        id="job-7f3a",
        name="gemma-sft",
        status=status,
        created_at=T0,
        started_at=T0 + timedelta(seconds=40),
        config=CONFIG,
    )
    view = JobView(job.id, job)
    view.apply(Event("training.started", "1", {"type": "training.started", "timestamp": ts(40)}))
    for i in range(1, steps + 1):
        data: dict[str, object] = {
            "step": i,
            "loss": 2.2 * math.exp(-i / 60) + 0.3 + (0.9 if i == 45 else 0),
            "learningRate": 2e-4,
            "epoch": i / 150,
            "samplesPerSecond": 14.25,
            "timestamp": ts(40 + 2 * i),
        }
        if i % 20 == 0:
            data["evalLoss"] = 2.0 * math.exp(-i / 70) + 0.45
        view.apply(Event("training.log", str(i + 1), data))
    return view


def test_warming_up(snapshot):
    view = JobView("job-7f3a")
    assert "Waiting for GPU" in text(view, 0)
    view.apply_job(
        Job(id="job-7f3a", name="gemma-sft", status="queued", created_at=T0, config=CONFIG)
    )
    assert text(view, 42) == snapshot


def test_running_with_progress_and_chart(snapshot):
    view = training_view(150)
    assert text(view, 40 + 300 + 1) == snapshot


def test_running_with_no_points_yet():
    view = training_view(0)
    assert "Waiting for training.log events…" in text(view, 50)


def test_failed_and_interrupted_banners(snapshot):
    view = training_view(30)
    view.apply(
        Event(
            "training.failed", "99", {"error": "CUDA out of memory\x1b[31m", "timestamp": ts(200)}
        )
    )
    view.apply_notice(StreamNotice("interrupted", "dropped", 1, 1.0))
    out = text(view, 400, width=80, height=30)
    assert out == snapshot
    assert "Job failed: CUDA out of memory" in out and "\x1b" not in out
    assert "Event stream interrupted." in out


def test_completed_long_run_downsampled_keeps_the_spike(snapshot):
    view = training_view(300)
    view.apply(Event("training.completed", "2000", {"artifacts": [{}], "timestamp": ts(700)}))
    out = text(view, 9999, width=100, height=45)
    assert out == snapshot
    assert "Artifacts  1" in out and "100%" in out
    spike_row = next(line for line in out.splitlines() if line.startswith("2.2983"))
    assert "╭╮" in spike_row  # the one-step spike at step 45 survives downsampling


@pytest.mark.parametrize("width", [40, 80, 132])
@pytest.mark.parametrize("height", [5, 10, 16, 24, 40, 60])
def test_never_taller_than_the_terminal(width, height):
    view = training_view(400)
    view.apply(Event("training.failed", "x", {"error": "e" * 300, "timestamp": ts(900)}))
    view.apply_notice(StreamNotice("interrupted"))
    out = text(view, 1000, width=width, height=height)
    lines = out.rstrip("\n").split("\n")
    assert len(lines) <= height - 1
    assert all(len(line) <= width for line in lines)


def test_chart_series_and_markers():
    from arkor_cli_studio.watching import ChartPoint

    points = [ChartPoint(i, 1.0 / i, 0.8 if i == 5 else None) for i in range(1, 11)]
    rows = [line.plain for line in loss_chart(points, 60, 8)]
    assert 1 <= len(rows) <= 8
    assert sum(row.count("●") for row in rows) == 1  # the one eval point, marked
    only_eval = [ChartPoint(1, None, 0.5), ChartPoint(2, None, 0.4)]
    assert sum(line.plain.count("●") for line in loss_chart(only_eval, 60, 6)) == 2


def test_plain_event_line_is_sanitised():
    event = Event("training.failed", "1", {"error": "bad\x1b]0;pwn\x07\nline", "timestamp": ts(5)})
    assert plain_event_line(event, UTC) == "2026-03-01 12:00:05  training.failed     bad line"


# --------------------------------------------------------------------------
# The Advanced panel (`watch --advanced`)


def advanced_of(view: JobView, *, so_far: bool = True):  # type: ignore[no-untyped-def]
    from arkor_cli_studio.render.watch import Advanced
    from arkor_cli_studio.stats import series_from_events

    series = series_from_events(view.log)  # every frame of these short runs is in the log
    return Advanced(*series.summaries(), so_far=so_far)


def advanced_text(view: JobView, width: int, height: int, **kwargs: object) -> str:
    console = Console(
        file=io.StringIO(), record=True, width=width, color_system=None, force_terminal=False
    )
    frame = watch_frame(
        view,
        T0 + timedelta(seconds=341),
        width,
        height,
        tz=UTC,
        **kwargs,  # type: ignore[arg-type]
    )
    console.print(frame)
    return console.export_text()


def test_advanced_panel_is_stats_panel_line_for_line(snapshot):
    from arkor_cli_studio.render.stats import stats_panel

    view = training_view(150)
    advanced = advanced_of(view)
    out = advanced_text(view, 100, 40, advanced=advanced, toggle=True)
    assert out == snapshot
    reference = Console(
        file=io.StringIO(), record=True, width=100, color_system=None, force_terminal=False
    )
    reference.print(stats_panel(advanced.loss, advanced.eval_loss, so_far=True, expand=False))
    panel = [line.rstrip() for line in reference.export_text().splitlines()]
    lines = out.splitlines()
    start = lines.index(panel[0])
    assert lines[start : start + len(panel)] == panel  # the same rendering, in the frame
    assert "So far: the run has not finished" in out
    # under the chart, above the event log
    assert lines[start - 1].startswith("Latest")
    assert lines[start + len(panel) + 1].startswith("Events")
    # the key's hint sits in the chart's header, as Studio's toggle
    legend = next(line for line in lines if line.startswith("Loss  "))
    assert legend.endswith("[a] Advanced")


def test_advanced_compact_on_a_short_terminal_has_the_same_numbers(snapshot):
    from arkor_cli_studio.render.stats import card_rows

    view = training_view(150)
    advanced = advanced_of(view, so_far=False)
    out = advanced_text(view, 80, 24, advanced=advanced)
    assert out == snapshot
    assert "╭─ Advanced" not in out and "so far" not in out
    assert "Training loss  n 150" in out and "Eval loss      n 7" in out
    for stats in (advanced.loss, advanced.eval_loss):
        for _, value in card_rows(stats):
            assert value in out
    assert "Loss  ── Training loss" in out  # the chart keeps its place


def test_advanced_without_eval_points_says_so():
    view = training_view(19)  # eval every 20 steps: none yet
    out = advanced_text(view, 100, 40, advanced=advanced_of(view))
    assert "No eval points yet." in out
    out = advanced_text(view, 80, 24, advanced=advanced_of(view))
    assert "Eval loss      No eval points yet." in out


@pytest.mark.parametrize(
    ("width", "height"),
    [(200, 60), (132, 40), (100, 30), (80, 24), (60, 15), (40, 20), (80, 10), (30, 8), (20, 3)],
)
@pytest.mark.parametrize("steps", [0, 400])
def test_advanced_frame_never_taller_or_wider_than_the_terminal(width, height, steps):
    view = training_view(steps)
    view.apply_notice(StreamNotice("interrupted"))
    out = advanced_text(view, width, height, advanced=advanced_of(view), toggle=False)
    lines = out.rstrip("\n").split("\n")
    assert len(lines) <= height - 1
    assert all(len(line) <= width for line in lines)
    if (width, height) in ((200, 60), (132, 40)):
        assert "╭─ Advanced" in out  # the cards fit
    elif (width, height) in ((80, 24), (60, 15)) and steps:
        assert "╭─ Advanced" not in out
        assert "Advanced  so far" in out and "Training loss  n 400" in out  # compacted


def test_alert_banner_highlighted_while_it_holds_then_marked_cleared():
    from arkor_cli_studio.render.watch import ALERT, ALERT_CLEARED, banner_lines

    view = training_view(30)
    assert not any("ALERT" in line.plain for line in banner_lines(view, 80))
    version = view.version
    view.apply_alert("ALERT loss>2 at step 30: loss 2.1 > 2", True)
    assert view.version > version  # the live view redraws for it
    (line,) = banner_lines(view, 80)
    assert line.plain == "ALERT loss>2 at step 30: loss 2.1 > 2" and line.style == ALERT
    out = text(view, 200, width=80, height=30)
    assert "ALERT loss>2 at step 30: loss 2.1 > 2" in out
    # Above the chart: seen first.
    assert out.index("ALERT loss>2") < out.index("Loss")
    view.apply_alert("ALERT loss>2 at step 30: loss 2.1 > 2", False)
    (line,) = banner_lines(view, 80)
    assert line.plain.endswith("(cleared)") and line.style == ALERT_CLEARED
