"""What the end of a watched run reports, gathered as it goes (pure, bounded).

`RunFacts` is fed every event (and the view's final state) and keeps what
the job summary, the final NDJSON record and the webhook tell: best and
final losses, the artifacts, the checkpoints, and the loss curve
downsampled to a bounded number of buckets (`LossCurve`), so its memory
does not grow with the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from arkor_cli_studio.model import CHECKPOINT, COMPLETED, FAILED, LOG, Event, number
from arkor_cli_studio.textsafe import clean_line
from arkor_cli_studio.watching import JobView

#: The chart GitHub renders gets about this many points.
CHART_POINTS: Final = 100
#: The curve keeps at most this many buckets while the run goes on.
CURVE_CAP: Final = 512
#: The summary lists at most this many artifacts.
MAX_ARTIFACTS: Final = 50


class LossCurve:
    """A series of (step, value) downsampled as it grows: points are summed
    into buckets of `stride` points; when `cap` buckets are full, adjacent
    pairs merge and the stride doubles. A bucket's point is the mean of its
    values at the last step it holds. Memory: O(cap), whatever the run."""

    __slots__ = ("_buckets", "_pending", "cap", "first_step", "stride")

    def __init__(self, cap: int = CURVE_CAP) -> None:
        self.cap = max(2, cap - cap % 2)
        self.stride = 1
        self.first_step: float | None = None
        self._buckets: list[tuple[float, float, int]] = []  # (last step, sum, count)
        self._pending: tuple[float, float, int] | None = None

    def add(self, step: float, value: float) -> None:
        if self.first_step is None:
            self.first_step = step
        pending = self._pending
        total, count = (pending[1] + value, pending[2] + 1) if pending else (value, 1)
        if count < self.stride:
            self._pending = (step, total, count)
            return
        self._pending = None
        self._buckets.append((step, total, count))
        if len(self._buckets) >= self.cap:
            pairs = zip(self._buckets[::2], self._buckets[1::2], strict=True)
            self._buckets = [_merge(a, b) for a, b in pairs]
            self.stride *= 2

    def __len__(self) -> int:
        return len(self._buckets) + (self._pending is not None)

    def points(self, limit: int = CHART_POINTS) -> list[tuple[float, float]]:
        """At most `limit` (step, mean value) points, spread over the whole run."""
        buckets = list(self._buckets)
        if self._pending is not None:
            buckets.append(self._pending)
        if not buckets:
            return []
        size = math.ceil(len(buckets) / max(1, limit))
        out = []
        for start in range(0, len(buckets), size):
            group = buckets[start : start + size]
            step = group[-1][0]
            total = math.fsum(b[1] for b in group)
            count = sum(b[2] for b in group)
            out.append((step, total / count))
        return out


def _merge(a: tuple[float, float, int], b: tuple[float, float, int]) -> tuple[float, float, int]:
    return (b[0], a[1] + b[1], a[2] + b[2])


@dataclass
class RunFacts:
    """Facts of the run beyond `JobView`'s (fed every event, in order)."""

    loss_curve: LossCurve = field(default_factory=LossCurve)
    eval_curve: LossCurve = field(default_factory=LossCurve)
    best_loss: float | None = None
    best_loss_step: float | None = None
    best_eval_loss: float | None = None
    best_eval_step: float | None = None
    checkpoints: int = 0
    artifacts: list[str] = field(default_factory=list)  # cleaned pathnames
    artifact_count: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    completed: bool = False  # training.completed seen

    def observe(self, event: Event) -> None:
        name = event.name
        if name == LOG:
            step = event.step
            loss, eval_loss = event.loss, event.eval_loss
            x = step if step is not None else float(len(self.loss_curve))
            if loss is not None:
                self.loss_curve.add(x, loss)
                if self.best_loss is None or loss < self.best_loss:
                    self.best_loss, self.best_loss_step = loss, step
            if eval_loss is not None:
                self.eval_curve.add(x, eval_loss)
                if self.best_eval_loss is None or eval_loss < self.best_eval_loss:
                    self.best_eval_loss, self.best_eval_step = eval_loss, step
        elif name == CHECKPOINT:
            self.checkpoints += 1
        elif name == COMPLETED:
            self.completed = True
            items = event.artifacts
            self.artifact_count = len(items)
            self.artifacts = [path for item in items[:MAX_ARTIFACTS] if (path := _pathname(item))]
            metrics = event.data.get("metrics")
            if isinstance(metrics, dict):
                self.metrics = {
                    clean_line(str(key)): value
                    for key, raw in list(metrics.items())[:20]
                    if (value := number(raw)) is not None
                }
        elif name == FAILED:
            pass  # the view keeps the error


def _pathname(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in ("pathname", "path", "name", "url"):
            value = item.get(key)
            if isinstance(value, str) and value:
                return clean_line(value)
        return None
    if isinstance(item, str) and item:
        return clean_line(item)
    return None


@dataclass(frozen=True)
class Outcome:
    """How the watch ended, for the summary record and the reports."""

    job_id: str
    name: str
    #: completed | failed | cancelled (the job's end), or how the watch ended
    #: before it: lost (the stream was given up), interrupted (Ctrl-C),
    #: terminated (SIGTERM), running (--once on a job still going), ...
    outcome: str
    exit_code: int
    duration: timedelta | None
    step: float | None
    total_steps: float | None
    loss: float | None
    eval_loss: float | None
    error: str | None = None
    ended_at: datetime | None = None
    status: str | None = None  # the job's status as last seen
    reason: str | None = None  # why the watch ended before the job did


def summary_record(outcome: Outcome, facts: RunFacts | None = None) -> dict[str, Any]:
    """The final `{"event":"summary", ...}` record of `watch --json`: the
    fields of `wait --json`'s record, then the run's own."""
    record: dict[str, Any] = {
        "event": "summary",
        "jobId": outcome.job_id,
        "name": outcome.name,
        "outcome": outcome.outcome,
        "status": outcome.status or outcome.outcome,
        "exitCode": outcome.exit_code,
        "durationSeconds": (
            round(outcome.duration.total_seconds(), 3) if outcome.duration is not None else None
        ),
        "step": _step(outcome.step),
        "totalSteps": _step(outcome.total_steps),
        "loss": _finite(outcome.loss),
        "evalLoss": _finite(outcome.eval_loss),
    }
    record["artifacts"] = None
    record["reason"] = clean_line(outcome.reason) if outcome.reason else None
    if facts is not None:
        record["artifacts"] = facts.artifact_count if facts.completed else None
        record["bestLoss"] = _finite(facts.best_loss)
        record["bestEvalLoss"] = _finite(facts.best_eval_loss)
        record["checkpoints"] = facts.checkpoints
    if outcome.error is not None:
        record["error"] = clean_line(outcome.error)
    return record


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _step(value: float | None) -> float | int | None:
    """A step as JSON writes it: `120`, not `120.0`."""
    value = _finite(value)
    return int(value) if value is not None and value.is_integer() else value


def outcome_of(
    view: JobView, outcome: str, exit_code: int, now: datetime, reason: str | None = None
) -> Outcome:
    """The view's end as an `Outcome` (`outcome`: the watch's own word for
    it: the job's status, or e.g. "interrupted" when Ctrl-C ended the watch)."""
    total = view.total()
    error = None
    if view.status == "failed":
        error = view.error if view.error is not None else (view.job.error if view.job else None)
    return Outcome(
        job_id=view.job_id,
        name=view.display_name,
        outcome=outcome,
        exit_code=exit_code,
        duration=view.run_duration(now),
        step=view.step,
        total_steps=total.value if total is not None and total.kind == "steps" else None,
        loss=view.loss,
        eval_loss=view.eval_loss,
        error=error or None,
        ended_at=now,
        status=view.status,
        reason=reason,
    )
