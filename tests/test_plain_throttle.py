"""`--plain`'s progress lines: the sink asks the throttle only when its
bounds say a line may be due (a time, a done count, for as long as the job
and the presence of `epoch` stay as they were). The lines must be exactly
those of asking it at every event, whatever the run does: steps that jump
or go back, epochs that appear, a job whose total changes or goes, a clock
that stalls or leaps past 30 s."""

from __future__ import annotations

import io
import math
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from arkor_cli_studio.model import Event, Job
from arkor_cli_studio.progress import PlainThrottle, Total
from arkor_cli_studio.render.lines import plain_progress_line
from arkor_cli_studio.session.sinks import PlainSink
from arkor_cli_studio.watching import JobView

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CONFIGS = [
    {"maxSteps": 1000},
    {"maxSteps": 300},
    {"maxSteps": 7},
    {"numTrainEpochs": 3},
    {"maxSteps": 0, "numTrainEpochs": 2},
    {},
]


def scenario(rng: random.Random) -> list[tuple[str, object, float]]:
    """(kind, what, clock) steps: ("job", Job | None, t) or ("log", Event, t)."""
    steps: list[tuple[str, object, float]] = []
    clock, step, epoch_on = 100.0, 0.0, rng.random() < 0.5
    for i in range(rng.choice([50, 400, 1500])):
        if rng.random() < 0.01 or i == 0:
            config = rng.choice(CONFIGS)
            steps.append(("job", Job(id="j", name="n", status="running", config=config), clock))
        roll = rng.random()
        step = (
            max(0.0, step - rng.randrange(1, 50))
            if roll < 0.01
            else step + rng.choice([1, 1, 1, 5, 40])
        )
        if rng.random() < 0.005:
            epoch_on = not epoch_on
        clock += rng.choice([0.0, 0.01, 0.5, 2.0, 31.0]) if rng.random() < 0.2 else 0.05
        data: dict[str, object] = {
            "step": step,
            "loss": 1.0,
            "timestamp": (T0 + timedelta(seconds=i * 2)).isoformat().replace("+00:00", "Z"),
        }
        if epoch_on:
            data["epoch"] = step / 350
        steps.append(("log", Event("training.log", str(i), data), clock))
    return steps


def run_sink(steps, monkeypatch) -> list[str]:
    clock = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    view = JobView("j", None)
    sink = PlainSink(out=io.StringIO(), err=io.StringIO())
    sink.attach(SimpleNamespace(view=view, leaving=threading.Event()))  # type: ignore[arg-type]
    for kind, what, at in steps:
        clock[0] = at
        if kind == "job":
            view.apply_job(what)
        else:
            view.apply(what)
            sink.applied(what)
    return [line for line in sink.pending if "  progress  " in line]


def run_reference(steps) -> list[str]:
    """Asking the throttle at every event, as the sink did before."""
    view, throttle, lines = JobView("j", None), PlainThrottle(), []
    for kind, what, at in steps:
        if kind == "job":
            view.apply_job(what)
            continue
        view.apply(what)
        if throttle.may_be_due(view.fraction, at):
            p = view.progress(None)
            if throttle.due(p, at):
                line = plain_progress_line(p, what.timestamp or datetime.now(UTC))
                if line:
                    lines.append(line)
    return lines


@pytest.mark.parametrize("seed", range(40))
def test_progress_lines_are_those_of_asking_at_every_event(seed, monkeypatch):
    steps = scenario(random.Random(seed))
    reference = run_reference(steps)
    assert run_sink(steps, monkeypatch) == reference


def test_a_long_run_gets_its_ten_percent_lines(monkeypatch):
    steps = [("job", Job(id="j", name="n", status="running", config={"maxSteps": 1000}), 0.0)]
    steps += [
        ("log", Event("training.log", str(i), {"step": i, "loss": 1.0}), i * 0.001)
        for i in range(1, 1001)
    ]
    lines = run_sink(steps, monkeypatch)
    assert len(lines) == 10
    assert lines == run_reference(steps)


@pytest.mark.parametrize(
    "total", [None, Total("steps", 1000), Total("epochs", 3), Total("steps", 7)]
)
def test_the_bounds_never_hide_a_due_line(total):
    """Below both bounds, may_be_due is False, at any state of the throttle."""
    rng = random.Random(str(total))
    checked = 0
    for _ in range(2000):
        throttle = PlainThrottle()
        throttle._at = rng.choice([None, rng.uniform(0, 100)])
        throttle._bucket = rng.randrange(0, 11)
        until, below = throttle.quiet_bounds(total)
        if throttle._at is None:
            assert until == below == -math.inf  # before the first line: always ask
            continue
        now = until - rng.choice([0.0, 1e-9, 1e-3, 5.0])
        if below == math.inf:  # no total: any count is below
            done = rng.uniform(0, 1e6)
        else:
            done = below - rng.choice([0.0, 1e-12, 1e-6, 1.0])
        if now < until and done < below:
            fraction = None if total is None else done / total.value
            assert not throttle.may_be_due(fraction, now)
            checked += 1
    assert checked > 500  # (the case is exercised, not skipped)
