"""The alert rules, one class a kind: each reads a job's events (and, for
`stall`, the clock, the job's status and the stream's notices) and says
whether its condition holds (pure). `alerts.AlertWatch` drives them;
`alert_config.parse_rule` builds them from their texts.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Final

from arkor_cli_studio.alerts import (
    Alert,
    Rule,
    format_step,
    format_value,
    json_number,
    non_finite_name,
)
from arkor_cli_studio.model import (
    COMPLETED,
    END,
    FAILED,
    LOG,
    STARTED,
    TERMINAL_STATUSES,
    Event,
)

DIVERGE_FACTOR: Final = 3.0
DIVERGE_WINDOW: Final = 5  # losses in the median: up to 2 spikes in 5 do not move it
_MIDDLE: Final = DIVERGE_WINDOW // 2
DIVERGE_ALPHA: Final = 0.05  # the best level's moving average: about 40 values
PLATEAU_MIN_DELTA: Final = 0.01
PLATEAU_MAX_POINTS: Final = 4096  # bounded memory whatever the window
MAX_VALUE_TEXT: Final = 40


# --------------------------------------------------------------------------
# Rules (`alerts.Rule` is what they answer)


class NanRule(Rule):
    """`nan`: a training.log whose loss or evalLoss is not a finite number.

    Each field's condition holds from a bad value until a good one in the
    same field (`null`, an absent value, says nothing): a run whose loss
    stays NaN is one alert, whatever its eval-only frames say."""

    def __init__(self) -> None:
        self.spec = "nan"
        self.loss_bad = False
        self.eval_bad = False
        self.field = ""
        self.bad: Any = None
        self.step: float | None = None

    def check(self, event: Event) -> bool | None:
        # The common case first (every training.log of every watch comes here).
        if event.loss is not None:
            self.loss_bad = False
            if event.eval_loss is not None:
                self.eval_bad = False
                return False
            if event.data.get("evalLoss") is None:
                return self.eval_bad
        return self._check(event)

    def _check(self, event: Event) -> bool | None:
        # `event.loss` is the finite number or None (cached): a field that is
        # present and not null but has no finite number holds the bad value.
        seen = False
        if event.loss is None:
            value = event.data.get("loss")
            if value is not None:
                seen = self.loss_bad = True
                self.field, self.bad, self.step = "loss", value, event.step
        else:
            seen, self.loss_bad = True, False
        if event.eval_loss is None:
            value = event.data.get("evalLoss")
            if value is not None:
                seen = True
                if not self.eval_bad and not self.loss_bad:
                    self.field, self.bad, self.step = "evalLoss", value, event.step
                self.eval_bad = True
        else:
            seen, self.eval_bad = True, False
        return (self.loss_bad or self.eval_bad) if seen else None

    def alert(self) -> Alert:
        label = _LABELS.get(self.field, self.field)
        value = self.bad
        if isinstance(value, float):  # NaN, +-Infinity (1e309 reads as Infinity)
            shown = non_finite_name(value)
            message = f"{label} is {shown}"
        elif isinstance(value, int) and not isinstance(value, bool):
            shown = "Infinity" if value > 0 else "-Infinity"  # too big for a float
            message = f"{label} is {shown} (an integer too big for a number)"
        else:
            shown = _value_text(value)
            message = f"{label} is {shown} (not a number)"
        return Alert(self.spec, self.step, message, {self.field: shown})


def _value_text(value: Any) -> str:
    """A short, one-line, terminal-safe text of a JSON value (server data)."""
    import json

    from arkor_cli_studio.textsafe import clean_line

    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    text = clean_line(text)
    return text if len(text) <= MAX_VALUE_TEXT else text[: MAX_VALUE_TEXT - 1] + "…"


_LABELS: Final = {"loss": "loss", "evalLoss": "eval loss"}


class ThresholdRule(Rule):
    """`loss>X`, `loss<X`, `eval_loss>X`, `eval_loss<X`."""

    def __init__(self, spec: str, field: str, above: bool, limit: float) -> None:
        self.spec = spec
        self.field = field  # "loss" or "evalLoss"
        self.above = above
        self.limit = limit
        self.value = math.nan
        self.step: float | None = None

    def check(self, event: Event) -> bool | None:
        value = event.loss if self.field == "loss" else event.eval_loss
        if value is None:
            return None
        self.value, self.step = value, event.step
        return value > self.limit if self.above else value < self.limit

    def alert(self) -> Alert:
        op = ">" if self.above else "<"
        message = (
            f"{_LABELS[self.field]} {format_value(self.value)} {op} {format_value(self.limit)}"
        )
        return Alert(
            self.spec, self.step, message, {self.field: self.value, "threshold": self.limit}
        )


class DivergeRule(Rule):
    """`diverge[:K]`: the loss is above K times its best level so far.

    Both sides are smoothed, so noise and spikes do not fire it: the loss
    now is the median of its last 5 values (up to two spikes in five do not
    move it), and its best level is the lowest its moving average (an EMA
    over about 40 values) has been. A minimum of the raw values, or of the
    medians, would be an outlier: on a noisy run, 3 times an outlier is
    within the noise. Says nothing before 5 values; never fires while the
    best level is 0 or below (a ratio means nothing there)."""

    def __init__(self, spec: str, factor: float) -> None:
        self.spec = spec
        self.factor = factor
        self.recent: deque[float] = deque(maxlen=DIVERGE_WINDOW)
        self.average = math.nan
        self.best = math.inf
        self.best_step: float | None = None
        self.smoothed = math.nan
        self.step: float | None = None

    def check(self, event: Event) -> bool | None:
        # (Every training.log of every watch comes here: kept tight.)
        value = event.loss
        if value is None:
            return None
        recent = self.recent
        recent.append(value)
        average = self.average
        if average != average:  # the first value (NaN: none yet)
            self.average = value
            return None
        self.average = average = average + DIVERGE_ALPHA * (value - average)
        if len(recent) < DIVERGE_WINDOW:
            return None
        best = self.best
        if average < best:
            self.best = best = average
            self.best_step = event.step
        if best <= 0.0:
            return False
        limit = self.factor * best
        if max(recent) <= limit:  # (the usual case: no sort needed)
            return False
        smoothed = sorted(recent)[_MIDDLE]
        if smoothed > limit:
            self.smoothed, self.step = smoothed, event.step
            return True
        return False

    def alert(self) -> Alert:
        at = f" (step {format_step(self.best_step)})" if self.best_step is not None else ""
        message = (
            f"loss {format_value(self.smoothed)} (median of the last {DIVERGE_WINDOW}) "
            f"> {self.factor:g} × its best level {format_value(self.best)}{at}"
        )
        values = {"loss": self.smoothed, "best": self.best, "factor": self.factor}
        return Alert(self.spec, self.step, message, values)


class EvalRisesRule(Rule):
    """`eval_rises:N`: the eval loss went up at N evaluations in a row (each
    evaluation above the one before it: N + 1 values). An evaluation repeated
    at the same step (the same numbers logged twice) counts once."""

    def __init__(self, spec: str, rises: int) -> None:
        self.spec = spec
        self.rises = rises
        self.values: deque[float] = deque(maxlen=rises + 1)
        self.count = 0
        self.last_step: float | None = None
        self.step: float | None = None

    def check(self, event: Event) -> bool | None:
        value = event.eval_loss
        if value is None:
            return None
        step = event.step
        values = self.values
        if values and step is not None and step == self.last_step:
            return None  # the same evaluation again
        self.count = self.count + 1 if values and value > values[-1] else 0
        values.append(value)
        self.last_step = self.step = step
        return self.count >= self.rises

    def alert(self) -> Alert:
        shown = list(self.values)[-(self.rises + 1) :]
        message = "eval loss " + " > ".join(format_value(v) for v in reversed(shown))
        return Alert(self.spec, self.step, message, {"evalLoss": shown})


class PlateauRule(Rule):
    """`plateau:STEPS[:MIN_DELTA]`: over the last STEPS steps the best training
    loss improved by less than MIN_DELTA of itself (relative; 1% by default).
    Says nothing until the run has logged STEPS steps; a step number that
    goes back (a restarted run) starts over."""

    def __init__(self, spec: str, steps: float, min_delta: float) -> None:
        self.spec = spec
        self.steps = steps
        self.min_delta = min_delta
        # (step, best so far) at each step where the best improved: a step
        # function, so the best at any earlier step is the last point at or
        # before it.
        self.points: deque[tuple[float, float]] = deque()
        self.best = math.inf
        self.first: float | None = None
        self.last: float | None = None
        self.before = math.nan
        self.step: float | None = None

    def check(self, event: Event) -> bool | None:
        value, step = event.loss, event.step
        if value is None or step is None:
            return None
        points = self.points
        if self.last is not None and step < self.last:
            points.clear()
            self.best, self.first = math.inf, None
        self.last = step
        if self.first is None:
            self.first = step
        if value < self.best:
            self.best = value
            points.append((step, value))
            if len(points) > PLATEAU_MAX_POINTS:
                self._thin()
        cutoff = step - self.steps
        if cutoff < self.first:
            return None  # not a whole window yet
        while len(points) >= 2 and points[1][0] <= cutoff:
            points.popleft()
        before = points[0][1]
        self.before, self.step = before, step
        gained = before - self.best
        return gained < self.min_delta * abs(before)

    def _thin(self) -> None:
        """Keep every other improvement point (the first and the last stay).
        The best at the window's start then reads as an earlier, higher one:
        the rule can only fire later for it, never falsely."""
        kept = list(self.points)
        self.points = deque([*kept[:-1:2], kept[-1]])

    def alert(self) -> Alert:
        gained = self.before - self.best
        relative = gained / abs(self.before) if self.before else 0.0
        message = (
            f"best loss {format_value(self.best)}, improved {_percent(relative)} "
            f"over the last {format_step(self.steps)} steps (less than {_percent(self.min_delta)})"
        )
        values = {
            "best": self.best,
            "bestBefore": self.before,
            "steps": json_number(self.steps),
            "minDelta": self.min_delta,
        }
        return Alert(self.spec, self.step, message, values)


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.3g}%"


class StallRule(Rule):
    """`stall:DURATION`: no training.log for DURATION while the job runs.

    Time is our clock at arrival, not the events' timestamps (a replayed
    history arrives at once; the server's clock may differ). The clock
    starts when training starts (`training.started`, a first log, or a poll
    that says running): the GPU warm-up before it never counts. It stops at
    the job's end, and pauses while the connection is down (a silence we
    caused says nothing about the job); a reconnect starts it again."""

    timed = True

    def __init__(self, spec: str, seconds: float) -> None:
        self.spec = spec
        self.seconds = seconds
        self.running = False
        self.ended = False
        self.connected = True
        self.since = 0.0  # when the silence started (clock seconds)
        self.silent = 0.0
        self.step: float | None = None

    def check(self, event: Event) -> bool | None:
        return None  # all in seen()

    def seen(self, event: Event, now: float) -> bool | None:
        name = event.name
        if name == LOG:
            if self.ended:
                return None
            self.running = True
            self.since = now
            step = event.step
            if step is not None:
                self.step = step
            return False
        if name == STARTED:
            if not self.running and not self.ended:
                self.running, self.since = True, now
            return None
        if name in (COMPLETED, FAILED, END):
            self.running, self.ended = False, True
            return False
        return None

    def status(self, status: str, now: float) -> None:
        if status in TERMINAL_STATUSES:
            self.running, self.ended = False, True
        elif status == "running" and not self.running and not self.ended:
            self.running, self.since = True, now

    def notice(self, kind: str, now: float) -> None:
        if kind == "interrupted":
            self.connected = False
        elif kind == "resumed":
            self.connected, self.since = True, now

    def tick(self, now: float) -> bool | None:
        if not self.running or not self.connected:
            return None
        self.silent = now - self.since
        return self.silent >= self.seconds

    def alert(self) -> Alert:
        message = f"no training.log for {format_seconds(self.silent)}"
        if self.step is not None:
            message += f" (last step {format_step(self.step)})"
        values: dict[str, Any] = {"seconds": round(self.silent, 3), "limit": self.seconds}
        if self.step is not None:
            values["lastStep"] = json_number(self.step)
        return Alert(self.spec, self.step, message, values)


def format_seconds(seconds: float) -> str:
    """`45s`, `10m02s`, `1h05m00s`; below 10 s with a tenth (`1.2s`)."""
    from arkor_cli_studio.model import duration_text

    return f"{seconds:.1f}s" if seconds < 10 else duration_text(seconds)
