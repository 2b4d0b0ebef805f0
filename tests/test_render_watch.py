"""The live frame at a fixed width, clock and time zone (snapshots), and its height bound."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from arkor_cli_studio.model import Event, Job, StreamNotice
from arkor_cli_studio.render.lines import plain_event_line
from arkor_cli_studio.render.losschart import loss_chart
from arkor_cli_studio.render.watch import watch_frame
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
    from arkor_cli_studio.chart import ChartPoint

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
    from arkor_cli_studio.render.advanced import Advanced
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
        assert "Advanced · whole run  so far" in out and "Training loss  n 400" in out  # compacted


# --------------------------------------------------------------------------
# Issue 15: the chart's x-axis is the step


def chart_text(view: JobView, width: int = 80, height: int = 12, **kw: object) -> list[str]:
    from arkor_cli_studio.render.losschart import chart_block

    return [line.plain for line in chart_block(view, width, height, **kw)]  # type: ignore[arg-type]


def plot_columns(rows: list[str]) -> list[int]:
    """The columns right of the y axis that hold any line character."""
    plot = [row for row in rows if "┤" in row or "┼" in row]
    axis = plot[0].index("┤") if "┤" in plot[0] else plot[0].index("┼")
    width = max(len(row) for row in plot)
    return [c for c in range(axis + 1, width) if any(c < len(r) and r[c] != " " for r in plot)]


def feed(view: JobView, frames: list[dict[str, object]]) -> JobView:
    for i, data in enumerate(frames):
        view.apply(Event("training.log", str(i), {"timestamp": ts(i), **data}))
    return view


def test_an_eval_frame_does_not_break_the_training_line():
    frames: list[dict[str, object]] = []
    for step in range(1, 41):
        frames.append({"step": step, "loss": 2.0 - step / 40})
        if step % 10 == 0:
            frames.append({"step": step, "evalLoss": 1.9 - step / 50})  # eval-only frame
    rows = chart_text(feed(JobView("j"), frames))
    columns = plot_columns(rows)
    assert columns == list(range(columns[0], columns[-1] + 1))  # no gap anywhere
    assert sum(row.count("●") for row in rows[1:]) == 4  # one marker per eval step


def test_points_are_placed_by_step_and_labelled_with_steps():
    from arkor_cli_studio.render.losschart import chart_geometry, place_by_step

    view = feed(JobView("j"), [{"step": s, "loss": 1.0 / s} for s in (1, 2, 3, 1000)])
    points = view.chart_points()
    geometry = chart_geometry(points, 80)
    assert geometry is not None
    train, _, _ = place_by_step(points, geometry)
    filled = [i for i, v in enumerate(train) if not math.isnan(v)]
    assert filled[-1] == geometry.columns - 1  # step 1000 at the right edge
    assert filled == [0, 1, geometry.columns - 1]  # steps 1-3 share the left edge (min, max)
    rows = chart_text(view)
    axis = next(row for row in rows if row.lstrip().startswith("step"))
    assert axis.split() == ["step", "1", "334", "667", "1,000"]  # Studio's ticks (4 points)


def test_a_repeated_step_is_one_point_and_a_stepless_loss_no_dip():
    view = feed(
        JobView("j"),
        [
            {"step": 1, "loss": 1.0},
            {"step": 2, "loss": 0.9},
            {"step": 2, "loss": 0.8},  # re-emitted: the later value, drawn once
            {"loss": 0.0001},  # no step: not a dip to 0.0001
            {"step": 3, "loss": 0.7},
        ],
    )
    rows = chart_text(view)
    assert not any(row.lstrip().startswith("0.0001") for row in rows)
    assert [(p.step, p.loss) for p in view.chart_points()] == [(1, 1.0), (2, 0.8), (3, 0.7)]


def test_legend_lists_only_the_series_that_have_points():
    eval_only = feed(JobView("j"), [{"step": 10, "evalLoss": 0.5}, {"step": 20, "evalLoss": 0.4}])
    legend = chart_text(eval_only)[0]
    assert "Eval loss" in legend and "Training loss" not in legend
    train_only = feed(JobView("j"), [{"step": 1, "loss": 0.5}])
    legend = chart_text(train_only)[0]
    assert "Training loss" in legend and "Eval loss" not in legend


def test_chart_cursor_marks_a_step_and_shows_its_values():
    view = training_view(150)
    rows = chart_text(view, width=100, height=16, cursor=60)
    assert rows[-1].startswith("Cursor  step 60 · loss ")
    assert "evalLoss 1.2987" in rows[-1] and "Esc" in rows[-1]
    assert any("┊" in row for row in rows)  # the vertical mark
    # the nearest step when the cursor sits between two
    sparse = feed(JobView("j"), [{"step": s, "loss": 1.0 / s} for s in (10, 20, 40)])
    assert chart_text(sparse, cursor=31)[-1].startswith("Cursor  step 40 · loss 0.0250")
    assert chart_text(sparse)[-1] == "Latest  step 40 · loss 0.0250"


def test_an_event_without_a_time_keeps_the_log_aligned():
    from arkor_cli_studio.render.watch import event_log_lines

    view = JobView("j")
    view.apply(Event("checkpoint.saved", "1", {"step": 5, "timestamp": ts(1)}))
    view.apply(Event("checkpoint.saved", "2", {"step": 6}))  # no timestamp
    first, second = (line.plain for line in event_log_lines(view, 80, 5, UTC))
    assert first.index("checkpoint.saved") == second.index("checkpoint.saved")
    assert second.startswith("-  ")


def test_cursor_keys_move_along_the_steps():
    from arkor_cli_studio.render.losschart import move_cursor

    few = feed(JobView("j"), [{"step": s, "loss": 1.0 / s} for s in (10, 20, 40)]).chart_points()
    assert move_cursor(few, None, "left", 80) == 20  # from the latest, one point back
    assert move_cursor(few, 20, "left", 80) == 10
    assert move_cursor(few, 10, "left", 80) == 10  # the first stays
    assert move_cursor(few, 10, "right", 80) == 20
    assert move_cursor(few, None, "right", 80) == 40
    assert (move_cursor(few, 20, "home", 80), move_cursor(few, 10, "end", 80)) == (10, 40)
    assert move_cursor(few, 20, "esc", 80) is None  # back to following the latest
    assert move_cursor(few, 20, "x", 80) == 20
    many = training_view(300).chart_points()  # more points than columns: a column a press
    first = move_cursor(many, None, "left", 80)
    assert first is not None and 290 <= first < 300


def test_the_key_help_names_the_cursor_keys():
    rows = chart_text(training_view(20), width=100, toggle=False)
    assert rows[0].endswith("←→ Home End: step  [a] Advanced")
    assert chart_text(training_view(20), width=60, toggle=False)[0].endswith("[a] Advanced")
    assert "Home End" not in chart_text(training_view(20), width=100)[0]  # no keys: no help


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


def test_badge_status_and_phase_agree_while_warming_up_past_90s():
    view = JobView("job-7f3a")
    view.apply_job(
        Job(id="job-7f3a", name="gemma-sft", status="queued", created_at=T0, config=CONFIG)
    )
    out = text(view, 600)  # ten minutes in the queue: still warming up, on the job page
    header, phase = out.splitlines()[:2]
    assert "Warming up GPU" in header and "queued" not in out
    assert phase.startswith("Phase      Warming up GPU  10m00s")  # the one clock
    assert "Status     Warming up GPU" in out and "Duration   N/A" in out
    assert "elapsed" not in out  # no second clock
