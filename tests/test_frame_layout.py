"""The live frame's priorities at the sizes people use (issue 16, items 1-3).

Pure frames first (fast, exact), then the same under a pseudo-terminal
against the simulator: what someone watching a run needs first (name,
status, phase, the progress line with its ETA, the chart, the latest
events) is kept before the metadata, which collapses into compact lines.
"""

from __future__ import annotations

import io
import re
import signal
import time
from datetime import UTC, timedelta

import pytest
from rich.console import Console

from arkor_cli_studio.model import Event, Job
from arkor_cli_studio.render.watch import watch_frame
from arkor_cli_studio.watching import JobView
from tests.test_render_watch import CONFIG, T0, advanced_of, training_view, ts

OOM = (
    "CUDA out of memory. Tried to allocate 1.95 GiB. GPU 0 has a total capacity of "
    "15.77 GiB of which 1.02 GiB is free. Including non-PyTorch memory, this process "
    "has 14.75 GiB memory in use. Lower batchSize or maxLength, or set loadIn4bit."
)
#: A plotted row of the chart: the y label, then the axis.
PLOT_ROW = re.compile(r"^\s*-?\d+\.\d+ +[┤┼]")
#: (columns, rows, the fewest plotted chart rows kept there)
SIZES = [(80, 24, 8), (50, 18, 5)]


def render(view: JobView, width: int, height: int, now_s: float = 341, **kwargs: object) -> str:
    console = Console(
        file=io.StringIO(), record=True, width=width, color_system=None, force_terminal=False
    )
    frame = watch_frame(
        view,
        T0 + timedelta(seconds=now_s),
        width,
        height,
        tz=UTC,
        **kwargs,  # type: ignore[arg-type]
    )
    console.print(frame)
    return console.export_text()


def outcome_view(outcome: str) -> JobView:
    view = training_view(150)
    if outcome == "failed":
        view.apply(Event("training.failed", "900", {"error": OOM, "timestamp": ts(400)}))
    elif outcome == "completed":
        view.apply(Event("training.completed", "900", {"artifacts": [{}], "timestamp": ts(400)}))
    return view


def check_priorities(frame: str, columns: int, rows: int, chart_min: int, outcome: str) -> None:
    lines = frame.rstrip("\n").split("\n")
    assert len(lines) <= rows - 1, frame
    assert all(len(line) <= columns for line in lines), frame
    # name, status and phase first
    assert lines[0].startswith("gemma-sft") and outcome in lines[0], frame
    # the progress line, its ETA whole while the run is live
    progress = [line for line in lines if "step 150/300" in line]
    assert progress, frame
    if outcome == "running":
        assert re.search(r"ETA (\d+h)?\d+m\d\ds$", progress[0].rstrip()), progress[0]
    else:
        assert "…" not in progress[0]
    # the chart's rows
    plotted = [line for line in lines if PLOT_ROW.match(line)]
    assert len(plotted) >= chart_min, frame
    assert any(line.startswith("Latest  step 150") for line in lines), frame
    # the latest events, at least three, the newest last
    title = next(i for i, line in enumerate(lines) if line.startswith("Events ("))
    events = lines[title + 1 :]
    assert len(events) >= 3, frame
    last = {"running": "step=150", "failed": "training.failed", "completed": "training.compl"}
    assert last[outcome] in events[-1], frame
    if outcome == "failed":
        assert any(line.startswith("Job failed: CUDA out of memory.") for line in lines)


@pytest.mark.parametrize(("columns", "rows", "chart_min"), SIZES)
@pytest.mark.parametrize("outcome", ["running", "failed", "completed"])
def test_frame_priorities(columns, rows, chart_min, outcome):
    frame = render(outcome_view(outcome), columns, rows)
    check_priorities(frame, columns, rows, chart_min, outcome)


def test_short_terminal_metadata_collapses_to_compact_lines():
    frame = render(outcome_view("completed"), 80, 24)
    lines = frame.splitlines()
    assert not any(line.startswith("Created    ") for line in lines)  # not one row each
    meta = [line for line in lines if "  ·  " in line and "samples/s" not in line]
    assert 1 <= len(meta) <= 3, frame
    text = " ".join(meta)
    for item in ("Duration 6m00s", "Created 2026-03-01 12:00:00", "Started 12:00:40"):
        assert item in text  # Started without the date it shares with Created
    assert "Artifacts 1" in text and "Job ID job-7f3a" in text
    assert "Status" not in text  # the badge says it


def test_tall_terminal_keeps_one_row_per_item():
    frame = render(outcome_view("running"), 80, 50)
    assert "Phase      Training run" in frame
    assert "Created    2026-03-01 12:00:00" in frame and "Job ID     job-7f3a" in frame


@pytest.mark.parametrize("width", [120, 220])
def test_wide_terminal_uses_the_width(width):
    config = {
        **CONFIG,
        "model": "meta-llama/Llama-3.1-8B-Instruct-with-a-long-suffix",
        "datasetSource": {"type": "huggingface", "name": "HuggingFaceH4/ultrachat_200k_long"},
    }
    job = Job(id="job-7f3a", name="gemma-sft", status="running", created_at=T0, config=config)
    view = JobView(job.id, job)
    frame = render(view, width, 60, now_s=20)
    assert "meta-llama/Llama-3.1-8B-Instruct-with-a-long-suffix" in frame  # not cut
    assert "HuggingFaceH4/ultrachat_200k_long" in frame
    duration = next(line for line in frame.splitlines() if "Duration" in line)
    assert duration.index("Duration") < 60  # beside Status, not at the middle of 220


def test_the_progress_line_gives_way_before_its_eta():
    view = outcome_view("running")
    for width in (40, 50, 60, 80, 100):
        line = next(x for x in render(view, width, 40).splitlines() if "ETA" in x)
        assert line.rstrip().endswith("ETA 5m00s"), (width, line)


def test_a_failure_banner_wraps_and_is_bounded():
    view = outcome_view("failed")
    wide = render(view, 120, 40).splitlines()
    start = next(i for i, line in enumerate(wide) if line.startswith("Job failed:"))
    banner = wide[start : start + 3]
    assert " ".join(line.strip() for line in banner) == f"Job failed: {OOM}"  # whole, by words
    assert wide[start + 3].startswith("Loss")
    narrow = render(view, 80, 24)
    lines = narrow.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Job failed:"))
    assert lines[start + 2].endswith("…")  # three lines at most, then an ellipsis
    assert not lines[start + 3].startswith(("Including", "has ", "Lower"))


def test_advanced_compact_appears_at_50x18():
    view = training_view(150)
    frame = render(view, 50, 18, advanced=advanced_of(view), toggle=True)
    lines = frame.rstrip("\n").split("\n")
    assert len(lines) <= 17 and all(len(line) <= 50 for line in lines)
    assert "Advanced · whole run  so far" in frame
    assert re.search(r"^Train  n 150  mean", frame, re.M), frame
    assert re.search(r"^Eval   n 7 ", frame, re.M), frame
    assert len([line for line in lines if PLOT_ROW.match(line)]) >= 5


# ---- the same under a pseudo-terminal, against the simulator ---------------


def emit_run(sim, outcome: str) -> None:
    """The run of `training_view(150)`, its steps two seconds apart, the last one now."""
    from arkor_cli_studio.simulator import iso

    start = time.time() - 300

    def ts(seconds: float) -> str:
        return iso(start + seconds - 40)

    sim.add_job(
        "j1",
        name="gemma-sft",
        status="running",
        config={"maxSteps": 300, "model": "unsloth/gemma-3-270m-it", "datasetSource": {}},
    )
    sim.emit("j1", "training.started", {}, timestamp=ts(40))
    for i in range(1, 151):
        data: dict[str, object] = {"step": i, "loss": 2.0 / (1 + i / 30) + 0.3}
        if i % 20 == 0:
            data["evalLoss"] = 1.8 / (1 + i / 40) + 0.4
        sim.emit("j1", "training.log", data, timestamp=ts(40 + 2 * i))
    if outcome == "failed":
        sim.emit("j1", "training.failed", {"error": OOM}, timestamp=ts(400))
        sim.end("j1")
    elif outcome == "completed":
        sim.emit("j1", "training.completed", {"artifacts": [{}]}, timestamp=ts(400))
        sim.end("j1")


def final_frame(output: bytes) -> str:
    from tests.test_watch import last_frame

    frame = last_frame(output)
    # what is written after the final frame (stderr) is not part of it
    return frame.split("\narkor-studio: ")[0].split("\nJob gemma-sft failed: ")[0]


@pytest.mark.parametrize(("columns", "rows", "chart_min"), SIZES)
@pytest.mark.parametrize("outcome", ["running", "failed", "completed"])
def test_live_frame_priorities_under_a_pseudo_terminal(arkor, columns, rows, chart_min, outcome):
    emit_run(arkor.sim, outcome)
    run = arkor.pty("watch", "j1", "--no-notify", columns=columns, rows=rows)
    if outcome == "running":
        assert run.read_until(lambda out: "step=150" in final_frame(out)), run.text[-2000:]
        run.signal(signal.SIGINT)
        assert run.wait(timeout=20) == 130
    else:
        assert run.wait(timeout=30) == (1 if outcome == "failed" else 0), run.text[-2000:]
    check_priorities(final_frame(run.output), columns, rows, chart_min, outcome)
    if outcome == "failed":  # the whole error after the final frame (item 2)
        assert f"Job gemma-sft failed: {OOM}\n" in run.text.replace("\r", "")
