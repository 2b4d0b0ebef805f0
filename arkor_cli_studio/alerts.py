"""Guardrails for a watched run: rules that notice a run going wrong (pure).

`parse_rules()` turns `--alert` texts (or the project file's) into `Rule`s;
an `AlertWatch` feeds them the job's events, its status and the connection's
notices, and a clock for the one rule that needs time (`stall`), and returns
an `Alert` each time a rule's condition *starts* to hold. A rule fires once
per condition and again only after the condition cleared (a NaN loss that
stays NaN is one alert, not one per event).

No I/O, no terminals, no threads: the watch engine calls `AlertWatch` under
its own lock and renders the alerts (a plain line, a JSON record, a banner,
a GitHub Actions annotation) wherever it writes. The clock is injectable so
that the timing rules are tested with plain values.

The rules (documented in the README, with examples):

    nan                    loss or evalLoss is NaN, +-Infinity or not a number
    loss>X  loss<X         the training loss crosses X
    eval_loss>X  eval_loss<X   the eval loss crosses X
    diverge[:K]            the loss (median of the last 5) is above K times (3)
                           its best smoothed level: one spike does not fire
    eval_rises:N           the eval loss rose N evaluations in a row
    plateau:STEPS[:DELTA]  the best loss improved by less than DELTA (relative,
                           1% by default) over the last STEPS steps
    stall:DURATION         no training.log for DURATION while the job runs
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from arkor_cli_studio.errors import ConfigError, UsageError
from arkor_cli_studio.model import (
    COMPLETED,
    END,
    FAILED,
    LOG,
    STARTED,
    TERMINAL_STATUSES,
    Event,
)

#: What `--alert` accepts, for usage errors and help texts.
RULES_USAGE: Final = (
    "nan, loss>X, loss<X, eval_loss>X, eval_loss<X, diverge[:K], eval_rises:N, "
    "plateau:STEPS[:MIN_DELTA], stall:DURATION, none"
)
#: The rules a watch applies when neither `--alert` nor the project file names any.
DEFAULT_RULES: Final = ("nan", "diverge")
#: `--on-alert`: what a firing does besides showing itself.
ACTIONS: Final = ("notify", "exit", "cancel")
DEFAULT_ACTION: Final = "notify"
#: The project's own defaults, at its root (next to `.arkor/`).
CONFIG_FILE: Final = ".arkor-studio.toml"
CONFIG_MAX_BYTES: Final = 1 << 20

DIVERGE_FACTOR: Final = 3.0
DIVERGE_WINDOW: Final = 5  # losses in the median: up to 2 spikes in 5 do not move it
_MIDDLE: Final = DIVERGE_WINDOW // 2
DIVERGE_ALPHA: Final = 0.05  # the best level's moving average: about 40 values
PLATEAU_MIN_DELTA: Final = 0.01
PLATEAU_MAX_POINTS: Final = 4096  # bounded memory whatever the window
MAX_VALUE_TEXT: Final = 40


# --------------------------------------------------------------------------
# Alerts


@dataclass(frozen=True, slots=True)
class Alert:
    """One firing: the rule (as written), the step it fired at, a message,
    and the numbers behind it (JSON-safe)."""

    rule: str
    step: float | None
    message: str
    values: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """`ALERT eval_rises:3 at step 1,200: eval loss 0.64 > 0.61 > 0.58 > 0.55`"""
        at = f" at step {format_step(self.step)}" if self.step is not None else ""
        return f"ALERT {self.rule}{at}: {self.message}"

    def record(self) -> dict[str, Any]:
        """The `--json` record: `{"event": "alert", "rule", "step", "values", "message"}`."""
        return {
            "event": "alert",
            "rule": self.rule,
            "step": _json_number(self.step),
            "values": self.values,
            "message": self.message,
        }


def format_step(step: float) -> str:
    """`1,200` (a whole step) or `1,200.5`."""
    if step.is_integer():
        return f"{int(step):,}"
    return f"{step:,.6g}" if abs(step) < 1e6 else f"{step:g}"


def format_value(value: float) -> str:
    """A loss as people read it: up to 4 significant digits (`0.6134`, `12.35`)."""
    if value != value or value in (math.inf, -math.inf):
        return _non_finite_name(value)
    text = f"{value:.4g}"
    return text


def _json_number(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _non_finite_name(value: float) -> str:
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


# --------------------------------------------------------------------------
# Rules


class Rule:
    """One condition over a job's events.

    `check(event)` reads one `training.log` and says whether the condition
    holds now (True), does not (False), or whether this event tells nothing
    about it (None). `alert()` words the latest True. Rules that need time
    (`stall`) also answer `tick(now)`; the others return None there."""

    #: The rule as the user wrote it, normalised (`eval_rises:3`).
    spec: str
    #: The condition held at the last answer (an alert was given for it).
    active: bool = False
    #: Needs `tick()` calls (and the job's status and the stream's notices).
    timed: bool = False

    def check(self, event: Event) -> bool | None:
        raise NotImplementedError

    def alert(self) -> Alert:
        raise NotImplementedError

    def tick(self, now: float) -> bool | None:
        return None

    def seen(self, event: Event, now: float) -> bool | None:
        """Any event (a timed rule's view of the stream); None: no news."""
        return None

    def status(self, status: str, now: float) -> None:
        """The job's status from a poll."""

    def notice(self, kind: str, now: float) -> None:
        """The connection dropped ("interrupted") or came back ("resumed")."""


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
            shown = _non_finite_name(value)
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
        smoothed = sorted(recent)[_MIDDLE]
        if smoothed > self.factor * best:
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
            "steps": _json_number(self.steps),
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
            values["lastStep"] = _json_number(self.step)
        return Alert(self.spec, self.step, message, values)


def format_seconds(seconds: float) -> str:
    """`45s`, `10m02s`, `1h05m00s`; below 10 s with a tenth (`1.2s`)."""
    from arkor_cli_studio.model import duration_text

    return f"{seconds:.1f}s" if seconds < 10 else duration_text(seconds)


# --------------------------------------------------------------------------
# Parsing


_THRESHOLD = re.compile(r"(loss|eval_loss|evalloss)([<>])(.*)")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)?")
_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _usage(message: str) -> UsageError:
    return UsageError(message, hint=f"Alert rules: {RULES_USAGE}.")


def parse_rule(text: str) -> Rule:
    """One rule from its text (`diverge:4`, `loss > 2`); a `UsageError` (exit
    2) that says what is wrong otherwise."""
    from arkor_cli_studio.textsafe import clean_line

    raw = text
    text = "".join(text.split()).lower()  # `loss > 2` and `Plateau:200` read the same
    shown = clean_line(raw.strip())[:60]
    if not text:
        raise _usage("An alert rule cannot be empty.")
    if text == "nan":
        return NanRule()
    match = _THRESHOLD.fullmatch(text)
    if match:
        name, op, limit_text = match.groups()
        field_name = "loss" if name == "loss" else "evalLoss"
        limit = _finite(limit_text)
        if limit is None:
            raise _usage(f"The alert rule {shown!r} needs a number after {op!r}.")
        spec = f"{'loss' if field_name == 'loss' else 'eval_loss'}{op}{limit_text}"
        return ThresholdRule(spec, field_name, op == ">", limit)
    name, _, arg = text.partition(":")
    if name == "diverge":
        if not arg:
            return DivergeRule("diverge", DIVERGE_FACTOR)
        factor = _finite(arg)
        if factor is None or factor <= 1:
            raise _usage(
                f"diverge:K needs a factor K above 1 (diverge:3 fires at 3 times the best "
                f"loss), not {shown!r}."
            )
        return DivergeRule(f"diverge:{arg}", factor)
    if name == "eval_rises":
        count = _whole(arg)
        if count is None or count < 1:
            raise _usage(
                f"eval_rises:N needs a whole number N of 1 or more (evaluations in a row "
                f"that rose), not {shown!r}."
            )
        return EvalRisesRule(f"eval_rises:{count}", count)
    if name == "plateau":
        steps_text, _, delta_text = arg.partition(":")
        steps = _finite(steps_text)
        if steps is None or steps <= 0:
            raise _usage(
                f"plateau:STEPS[:MIN_DELTA] needs a number of steps above 0 (plateau:200 or "
                f"plateau:200:0.5%), not {shown!r}."
            )
        delta = PLATEAU_MIN_DELTA
        if delta_text:
            parsed = _fraction(delta_text)
            if parsed is None:
                raise _usage(
                    f"plateau's MIN_DELTA is a relative improvement: 0.01 or 1% (between 0 "
                    f"and 100%), not {shown!r}."
                )
            delta = parsed
        return PlateauRule(f"plateau:{arg}", steps, delta)
    if name == "stall":
        seconds = parse_duration(arg)
        if seconds is None:
            raise _usage(
                f"stall:DURATION needs a duration above 0, like 90s, 10m, 1h30m (a bare "
                f"number is seconds), not {shown!r}."
            )
        return StallRule(f"stall:{arg}", seconds)
    if name in ("loss", "eval_loss", "evalloss") and not arg:
        raise _usage(f"The alert rule {shown!r} needs a comparison: {name}>X or {name}<X.")
    raise _usage(f"Not an alert rule: {shown!r}.")


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _whole(text: str) -> int | None:
    if not text.isdigit() or not text.isascii():
        return None
    return int(text)


def _fraction(text: str) -> float | None:
    percent = text.endswith("%")
    value = _finite(text[:-1] if percent else text)
    if value is None:
        return None
    if percent:
        value /= 100.0
    return value if 0.0 <= value < 1.0 else None


def parse_duration(text: str) -> float | None:
    """`90s`, `10m`, `1h30m`, `1.5h`, `500ms`, `45` (seconds) -> seconds above 0, else None."""
    text = "".join(text.split()).lower()
    if not text:
        return None
    total, pos = 0.0, 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            return None
        amount, unit = match.groups()
        if unit is None and (pos or match.end() != len(text)):
            return None  # a bare number only alone: `1h30` could mean either
        total += float(amount) * _UNITS[unit or "s"]
        pos = match.end()
    return total if 0.0 < total < math.inf else None


def parse_rules(texts: Iterable[str]) -> list[Rule]:
    """The rules, in order, each once (`none` alone: no rules at all)."""
    rules: list[Rule] = []
    seen: set[str] = set()
    texts = list(texts)
    if any("".join(t.split()).lower() == "none" for t in texts):
        if len(texts) > 1:
            raise _usage("The alert rule 'none' (no alerts) cannot be combined with others.")
        return []
    for text in texts:
        rule = parse_rule(text)
        if rule.spec not in seen:
            seen.add(rule.spec)
            rules.append(rule)
    return rules


def check_action(text: str) -> str:
    action = text.strip().lower()
    if action not in ACTIONS:
        from arkor_cli_studio.textsafe import clean_line

        raise UsageError(
            f"--on-alert is one of {', '.join(ACTIONS)}, not {clean_line(text)[:40]!r}."
        )
    return action


# --------------------------------------------------------------------------
# The project file


@dataclass(frozen=True, slots=True)
class ProjectAlerts:
    """`[alerts]` of `.arkor-studio.toml`; None where the file says nothing."""

    path: Path | None = None
    rules: tuple[str, ...] | None = None
    on_alert: str | None = None


_KNOWN_KEYS: Final = ("rules", "on-alert")


def load_project_alerts(project: Path) -> ProjectAlerts:
    """The project's defaults from `<project>/.arkor-studio.toml` (absent: none).

    A file that is there but wrong (not TOML, a rule we do not know, an
    unknown key in `[alerts]`) is a configuration error (exit 4) naming the
    file: guardrails that silently do nothing are worse than none."""
    path = project / CONFIG_FILE
    try:
        with path.open("rb") as handle:
            data = handle.read(CONFIG_MAX_BYTES + 1)
    except FileNotFoundError:
        return ProjectAlerts()
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a settings file.") from None
    except OSError as exc:
        raise ConfigError(f"Can't read {path}: {exc.strerror or exc}.") from None
    if len(data) > CONFIG_MAX_BYTES:
        raise ConfigError(f"{path} is over 1 MiB: not a settings file.")
    return parse_project_alerts(data, path)


def parse_project_alerts(data: bytes, path: Path) -> ProjectAlerts:
    import tomllib

    from arkor_cli_studio.textsafe import clean_line

    example = 'e.g. [alerts] rules = ["nan", "diverge", "stall:20m"], on-alert = "notify"'
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {clean_line(str(exc))}") from None
    section = document.get("alerts")
    if section is None:
        return ProjectAlerts(path)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: `alerts` must be a table ([alerts]).", hint=example)
    unknown = [key for key in section if key not in _KNOWN_KEYS]
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {clean_line(unknown[0])[:40]!r} in [alerts] "
            f"(known: {', '.join(_KNOWN_KEYS)}).",
            hint=example,
        )
    rules: tuple[str, ...] | None = None
    if "rules" in section:
        value = section["rules"]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{path}: [alerts] rules must be a list of strings.", hint=example)
        try:
            parse_rules(value)
        except UsageError as exc:
            raise ConfigError(f"{path}: {exc.message}", hint=exc.hint) from None
        rules = tuple(value)
    on_alert: str | None = None
    if "on-alert" in section:
        value = section["on-alert"]
        if not isinstance(value, str) or value.strip().lower() not in ACTIONS:
            shown = clean_line(str(value))[:40]
            raise ConfigError(
                f"{path}: [alerts] on-alert is one of {', '.join(ACTIONS)}, not {shown!r}."
            )
        on_alert = value.strip().lower()
    return ProjectAlerts(path, rules, on_alert)


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """What a watch applies: the rules' texts, the action, where they came from."""

    rules: tuple[str, ...]
    action: str
    source: str  # "--alert", the file's path, or "defaults"


def resolve_alerts(
    flags: Sequence[str] | None, on_alert: str | None, project: Path
) -> AlertSettings:
    """Flags override the project file, which overrides the defaults: `--alert`
    given replaces the file's rules (not merged), `--on-alert` its action.
    Everything is checked here, before anything is sent."""
    action = check_action(on_alert) if on_alert is not None else None
    if flags:
        parse_rules(flags)  # usage errors first, exit 2
    project_alerts = load_project_alerts(project)
    if flags:
        rules, source = tuple(flags), "--alert"
    elif project_alerts.rules is not None:
        rules, source = project_alerts.rules, str(project_alerts.path)
    else:
        rules, source = DEFAULT_RULES, "defaults"
    if action is None:
        action = project_alerts.on_alert or DEFAULT_ACTION
    return AlertSettings(rules, action, source)


# --------------------------------------------------------------------------
# The detector


_NOTHING: Final[list[Alert]] = []  # shared, never appended to: the common answer


class AlertWatch:
    """The rules of one watch, fed the job's events; gives the alerts that fire.

    Not thread-safe: call it under the watch's lock. `clock` (monotonic
    seconds) is read for the timed rules only: on each event, status,
    notice and `tick()`; the engine ticks about once a second, so a stall is
    seen within DURATION plus that second."""

    def __init__(self, rules: Sequence[Rule], clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = list(rules)
        self.clock = clock
        self.log_rules = [rule for rule in self.rules if not rule.timed]
        self.timed = [rule for rule in self.rules if rule.timed]
        self.fired: list[Alert] = []  # every alert so far, in order (for summaries)
        self._last_rule: Rule | None = None  # the rule of fired[-1]

    @classmethod
    def from_texts(
        cls, texts: Iterable[str], clock: Callable[[], float] = time.monotonic
    ) -> AlertWatch:
        return cls(parse_rules(texts), clock)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def observe(self, event: Event) -> list[Alert]:
        """The alerts that this event fires (usually none)."""
        timed = self.timed
        if event.name != LOG:
            if not timed:
                return _NOTHING
            now = self.clock()
            for rule in timed:
                if rule.seen(event, now) is False:
                    rule.active = False
            return _NOTHING
        fired = _NOTHING
        for rule in self.log_rules:
            holds = rule.check(event)
            if holds is None:
                continue
            if holds:
                if not rule.active:
                    rule.active = True
                    if fired is _NOTHING:
                        fired = []
                    fired.append(rule.alert())
            elif rule.active:
                rule.active = False
        if timed:
            now = self.clock()
            for rule in timed:
                if rule.seen(event, now) is False:
                    rule.active = False
        if fired:
            self._fired(fired)
        return fired

    def _fired(self, alerts: list[Alert]) -> None:
        self.fired.extend(alerts)
        last = alerts[-1].rule
        self._last_rule = next((rule for rule in self.rules if rule.spec == last), None)

    @property
    def latest(self) -> tuple[Alert | None, bool]:
        """The last alert that fired, and whether its condition still holds
        (the live view's banner)."""
        if not self.fired:
            return None, False
        rule = self._last_rule
        return self.fired[-1], rule is not None and rule.active

    def observe_all(self, events: Iterable[Event]) -> list[Alert]:
        fired: list[Alert] = []
        for event in events:
            found = self.observe(event)
            if found:
                fired.extend(found)
        return fired

    def status(self, status: str) -> None:
        """The job's status, as a poll read it."""
        if self.timed:
            now = self.clock()
            for rule in self.timed:
                rule.status(status, now)

    def notice(self, kind: str) -> None:
        """The stream was "interrupted" or "resumed"."""
        if self.timed:
            now = self.clock()
            for rule in self.timed:
                rule.notice(kind, now)

    def tick(self) -> list[Alert]:
        """The timed rules' alerts now (call about once a second)."""
        if not self.timed:
            return _NOTHING
        now = self.clock()
        fired: list[Alert] = []
        for rule in self.timed:
            holds = rule.tick(now)
            if holds is None:
                continue
            if holds and not rule.active:
                rule.active = True
                fired.append(rule.alert())
            elif not holds:
                rule.active = False
        if fired:
            self._fired(fired)
        return fired
