"""Total, rate and ETA as pure functions (issue 10)."""

from __future__ import annotations

import math

from arkor_cli_studio.progress import (
    PlainThrottle,
    Progress,
    RateWindow,
    Total,
    compute,
    progress_line,
    total_of,
)


def window(*samples: tuple[float, float]) -> RateWindow:
    w = RateWindow(60.0)
    for t, v in samples:
        w.add(t, v)
    return w


def run(config, step, epoch=None, steps=None, epochs=None, status="running", now=None):
    return compute(
        total=total_of(config, epoch_seen=epoch is not None),
        step=step,
        epoch=epoch,
        steps=steps or RateWindow(),
        epochs=epochs or RateWindow(),
        status=status,
        now=now,
    )


def test_total_from_max_steps_then_epochs_then_none():
    assert total_of({"maxSteps": 500, "numTrainEpochs": 3}, epoch_seen=True) == Total("steps", 500)
    assert total_of({"numTrainEpochs": 3}, epoch_seen=True) == Total("epochs", 3)
    assert total_of({"numTrainEpochs": 3}, epoch_seen=False) is None  # frames carry no epoch
    assert total_of({}, epoch_seen=True) is None
    assert total_of({"maxSteps": 0}, epoch_seen=False) is None
    assert total_of({"maxSteps": "500"}, epoch_seen=False) is None
    assert total_of({"maxSteps": -1, "numTrainEpochs": 2}, epoch_seen=True) == Total("epochs", 2)


def test_max_steps_progress_rate_and_eta():
    steps = window(*[(2.0 * i, float(i)) for i in range(1, 121)])
    p = run({"maxSteps": 500}, 120.0, steps=steps)
    assert p.fraction == 0.24
    assert p.rate == 0.5
    assert p.eta == 760.0
    assert progress_line(p) == "step 120/500 (24%) 0.5 steps/s ETA 12m40s"


def test_epochs_only():
    epochs = window((0.0, 0.0), (10.0, 0.1), (20.0, 0.2))
    steps = window((0.0, 0.0), (10.0, 10.0), (20.0, 20.0))
    p = run({"numTrainEpochs": 2}, 20.0, epoch=0.2, steps=steps, epochs=epochs)
    assert p.fraction is not None and math.isclose(p.fraction, 0.1)
    assert p.eta is not None and math.isclose(p.eta, 180.0)  # 1.8 epochs at 0.01/s
    assert progress_line(p) == "step 20 epoch 0.20/2 (10%) 1.0 steps/s ETA 3m00s"


def test_neither_total_shows_step_and_rate_only():
    p = run({}, 42.0, steps=window((0.0, 0.0), (10.0, 42.0)))
    assert (p.fraction, p.eta) == (None, None)
    assert progress_line(p) == "step 42 4.2 steps/s"
    assert progress_line(run({}, None)) is None


def test_irregular_timestamps_use_event_time_over_the_window():
    w = window((0, 0), (1, 10), (1.5, 11), (30, 20), (31, 30), (90, 40))
    # the window keeps one sample before its start: (30, 20) .. (90, 40)
    assert w.rate() == 20 / 60


def test_replayed_history_gives_true_rate_not_a_burst():
    # 1,000 steps, one every 3 s of event time, fed in a microsecond burst
    w = window(*[(1000.0 + 3 * i, float(i)) for i in range(1000)])
    assert math.isclose(w.rate() or 0, 1 / 3)


def test_stall_decays_rate_and_grows_eta_without_dividing_by_zero():
    steps = window(*[(float(i), float(i)) for i in range(0, 61)])  # 1 step/s until t=60
    fresh = run({"maxSteps": 100}, 60.0, steps=steps, now=60.5)
    stalled = run({"maxSteps": 100}, 60.0, steps=steps, now=600.0)
    assert fresh.rate == 1.0 and fresh.eta == 40.0
    assert stalled.rate is not None and 0 < stalled.rate < 0.2
    assert stalled.eta is not None and stalled.eta > 200
    single = run({"maxSteps": 100}, 1.0, steps=window((0.0, 1.0)), now=1e9)
    assert (single.rate, single.eta) == (None, None)
    same_time = window((5.0, 1.0), (5.0, 2.0))
    assert same_time.rate() is None


def test_steps_going_backwards_or_repeating():
    w = window((0, 0), (10, 100), (20, 200))
    w.add(25, 200)  # a repeat adds nothing
    assert w.rate() == 10.0
    w.add(30, 150)  # resumed from a checkpoint: a new window, never negative
    assert w.rate() is None
    w.add(40, 160)
    assert w.rate() == 1.0
    w.add(35, 170)  # an earlier timestamp is ignored
    assert w.rate() == 1.0
    p = run({"maxSteps": 100}, 250.0, steps=window((0, 0), (10, 250)))
    assert p.fraction == 1.0 and p.eta == 0.0  # past the total: clamped


def test_terminal_states():
    steps = window((0, 0), (10, 10))
    done = run({"maxSteps": 100}, 90.0, steps=steps, status="completed")
    assert (done.fraction, done.eta) == (1.0, None)
    failed = run({"maxSteps": 100}, 40.0, steps=steps, status="failed")
    assert (failed.fraction, failed.eta) == (0.4, None)


def test_plain_throttle_every_ten_percent_or_thirty_seconds():
    throttle = PlainThrottle()

    def p(step: float, total: float | None = 100) -> Progress:
        t = Total("steps", total) if total else None
        return Progress(step, t, step / total if total else None, 1.0, None)

    printed = [s for s in range(1, 101) if throttle.due(p(s), now=s * 0.01)]
    assert printed == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    slow = PlainThrottle()
    assert not slow.due(p(1, None), now=0.0)
    assert not slow.due(p(2, None), now=29.0)
    assert slow.due(p(3, None), now=30.0)
    assert not slow.due(p(3, None), now=70.0)  # nothing moved: no line
    assert slow.due(p(4, None), now=71.0)


def test_window_memory_is_bounded_for_very_fast_runs():
    w = window(*[(i / 1000, float(i)) for i in range(20_000)])  # 1,000 steps/s
    assert len(w._samples) <= 4096
    assert math.isclose(w.rate() or 0, 1000.0)
