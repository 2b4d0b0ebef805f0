"""Guardrails for a watched run: rules that notice a run going wrong (pure).

Three modules: `alert_config` reads the rules' texts (`--alert`, the
project's `.arkor-studio.toml`) into `Rule`s; `alert_rules` holds the rules
themselves (one class a kind); here, `Alert` (one firing) and `AlertWatch`,
which feeds the rules the job's events, its status and the connection's
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
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from arkor_cli_studio.model import LOG, Event

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
            "step": json_number(self.step),
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
        return non_finite_name(value)
    text = f"{value:.4g}"
    return text


def json_number(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def non_finite_name(value: float) -> str:
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


# --------------------------------------------------------------------------
# Rules: the interface (the rules themselves: `alert_rules`)


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
        from arkor_cli_studio.alert_config import parse_rules

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
