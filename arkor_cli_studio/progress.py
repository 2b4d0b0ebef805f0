"""Progress of a training run: total, rate, ETA (pure functions, plain values).

The total comes from the job's config (`maxSteps`, else `numTrainEpochs`
when the frames carry an `epoch`), never guessed. Rates come from the
events' own timestamps over a sliding window, so replaying the history of
a half-finished run gives true figures rather than a burst of thousands of
steps per second. Nothing here reads a clock: callers pass `now`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from arkor_cli_studio.model import format_duration, number

WINDOW: Final = 60.0  # seconds of event time the rate is measured over
PLAIN_EVERY_FRACTION: Final = 0.10
PLAIN_EVERY_SECONDS: Final = 30.0


@dataclass(frozen=True, slots=True)
class Total:
    """What "done" means: `kind` is "steps" or "epochs"."""

    kind: str
    value: float


def total_of(config: dict[str, Any], *, epoch_seen: bool) -> Total | None:
    """`config.maxSteps`; else `config.numTrainEpochs` once frames carry an
    `epoch`; else None (show the step and the rate, no bar, no ETA)."""
    steps = number(config.get("maxSteps"))
    if steps is not None and steps > 0:
        return Total("steps", steps)
    epochs = number(config.get("numTrainEpochs"))
    if epochs is not None and epochs > 0 and epoch_seen:
        return Total("epochs", epochs)
    return None


class RateWindow:
    """Units (steps or epochs) per second of event time, over the last `window` s.

    Samples are (event time in seconds, value). Robust to what real streams do:
    - a value that goes backwards (training resumed from a checkpoint) starts
      a new window, so the rate is never negative;
    - a repeated value or an earlier timestamp adds nothing;
    - a stall: `rate(now)` decays once the silence exceeds the usual interval.
    """

    __slots__ = ("_samples", "window")

    def __init__(self, window: float = WINDOW) -> None:
        self.window = window
        # Bounded by count too: a very fast run keeps its last 4,096 samples
        # (a shorter span, still a true rate).
        self._samples: deque[tuple[float, float]] = deque(maxlen=4096)

    def add(self, t: float, value: float) -> None:
        samples = self._samples
        if samples:
            last_t, last_v = samples[-1]
            if value < last_v:
                samples.clear()  # went backwards: a new run of steps
            elif value == last_v or t <= last_t:
                return
        samples.append((t, value))
        # Keep one sample at or before the window's start, so the span covers it.
        horizon = t - self.window
        while len(samples) > 2 and samples[1][0] <= horizon:
            samples.popleft()

    def rate(self, now: float | None = None) -> float | None:
        """Units per second; None until two samples. With `now` (event-time
        clock of a live run), silence longer than the mean interval slows it."""
        samples = self._samples
        if len(samples) < 2:
            return None
        (t0, v0), (t1, v1) = samples[0], samples[-1]
        span = t1 - t0
        if span <= 0:
            return None
        if now is not None:
            mean_interval = span / (len(samples) - 1)
            span += max(0.0, (now - t1) - mean_interval)
        return (v1 - v0) / span


@dataclass(frozen=True, slots=True)
class Progress:
    step: float | None
    total: Total | None
    fraction: float | None  # 0..1, None without a total
    rate: float | None  # steps per second
    eta: float | None  # seconds, None when unknown
    epoch: float | None = None


def compute(
    *,
    total: Total | None,
    step: float | None,
    epoch: float | None,
    steps: RateWindow,
    epochs: RateWindow,
    status: str,
    now: float | None,
) -> Progress:
    """Where the run is. `status` is the watched status; `now` the current time
    as epoch seconds for a live run (None: no stall decay)."""
    live = status == "running"
    rate = steps.rate(now if live else None)
    fraction: float | None = None
    eta: float | None = None
    if total is not None:
        done = step if total.kind == "steps" else epoch
        if status == "completed":
            fraction = 1.0
        elif done is not None:
            fraction = min(1.0, max(0.0, done / total.value))
        if live and done is not None:
            unit_rate = rate if total.kind == "steps" else epochs.rate(now)
            if unit_rate is not None and unit_rate > 0:
                eta = max(0.0, total.value - done) / unit_rate
    return Progress(step, total, fraction, rate, eta, epoch)


def format_step(value: float) -> str:
    """`120`, or `1.5` for a fractional step."""
    return f"{value:.0f}" if value == int(value) else f"{value:g}"


def format_rate(rate: float | None) -> str | None:
    if rate is None:
        return None
    if rate >= 10:
        return f"{rate:.0f} steps/s"
    if rate >= 0.1:
        return f"{rate:.1f} steps/s"
    return f"{rate * 60:.1f} steps/min"


def step_labels(p: Progress) -> list[str]:
    """`step 120/500`, or `step 120` plus `epoch 1.20/3` when the total is in epochs."""
    step = format_step(p.step) if p.step is not None else "-"
    if p.total is not None and p.total.kind == "steps":
        return [f"step {step}/{format_step(p.total.value)}"]
    labels = [f"step {step}"]
    if p.total is not None and p.epoch is not None:
        labels.append(f"epoch {p.epoch:.2f}/{format_step(p.total.value)}")
    return labels


def progress_line(p: Progress) -> str | None:
    """`step 120/500 (24%) 1.8 steps/s ETA 3m31s`; None before any step."""
    if p.step is None and p.fraction is None:
        return None
    parts = step_labels(p)
    if p.fraction is not None:
        parts.append(f"({p.fraction * 100:.0f}%)")
    rate = format_rate(p.rate)
    if rate:
        parts.append(rate)
    if p.eta is not None:
        parts.append(f"ETA {format_eta(p.eta)}")
    return " ".join(parts)


def format_eta(seconds: float) -> str:
    return format_duration(timedelta(seconds=min(seconds, 99 * 86400.0)))


class PlainThrottle:
    """When plain mode prints a progress line: every 10% or 30 s, whichever
    comes first, and only when the step moved since the last line."""

    def __init__(
        self,
        every_fraction: float = PLAIN_EVERY_FRACTION,
        every_seconds: float = PLAIN_EVERY_SECONDS,
    ) -> None:
        self.every_fraction = every_fraction
        self.every_seconds = every_seconds
        self._bucket = 0  # the last 10% mark printed
        self._at: float | None = None  # when the last line was printed
        self._step: float | None = None

    def may_be_due(self, fraction: float | None, now: float) -> bool:
        """A cheap pre-check (no Progress built): False means `due()` would be."""
        if self._at is None or now - self._at >= self.every_seconds:
            return True
        return fraction is not None and fraction >= (self._bucket + 1) * self.every_fraction - 1e-9

    def quiet_bounds(self, total: Total | None) -> tuple[float, float]:
        """(until, below): while `now < until` and the done count (steps or
        epochs, as `total` counts them) is below `below`, `may_be_due` is
        False, so a plain run can skip it (and the fraction) per event.
        Conservative at the edges: a bound errs towards asking."""
        if self._at is None:
            return -math.inf, -math.inf  # no line yet: ask every time
        until = self._at + self.every_seconds - 1e-6
        if total is None:
            return until, math.inf  # no fraction: only the clock can make it due
        mark = (self._bucket + 1) * self.every_fraction - 1e-9
        return until, mark * total.value * (1 - 2**-40)

    def due(self, p: Progress, now: float) -> bool:
        """`now`: a monotonic clock. Records the line as printed when True."""
        if p.step is None:
            return False
        if self._at is None:
            self._at = now  # the first step starts the 30 s clock
        bucket = int(p.fraction / self.every_fraction + 1e-9) if p.fraction is not None else None
        crossed = bucket is not None and bucket > self._bucket
        stale = p.step != self._step and now - self._at >= self.every_seconds
        if not (crossed or stale):
            return False
        self._bucket = max(self._bucket, bucket or 0)
        self._at, self._step = now, p.step
        return True
