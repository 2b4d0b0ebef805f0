"""`--accessible` (or `ACCESSIBLE=1`): output a screen reader can follow.

No cursor movement and no redraws: whole lines, each a sentence, status
always in words (never only a colour or a mark). A line when the phase
changes (warming up, training, the end), for each checkpoint, for each
eval, and a progress line at most every 30 s of wall-clock time (`clock`
is injected for tests). Pure: `AccessibleLog` returns the lines; a sink
writes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from arkor_cli_studio.model import CHECKPOINT, COMPLETED, FAILED, LOG, STARTED, Event
from arkor_cli_studio.progress import format_rate, format_step
from arkor_cli_studio.textsafe import clean_line

if TYPE_CHECKING:
    from arkor_cli_studio.model import StreamNotice
    from arkor_cli_studio.watching import JobView

PROGRESS_EVERY: Final = 30.0


def wanted(flag: bool, env: Mapping[str, str]) -> bool:
    """`--accessible`, or ACCESSIBLE set to anything but empty/0/false/no."""
    value = env.get("ACCESSIBLE", "").strip().lower()
    return flag or value not in ("", "0", "false", "no")


def _value(value: float) -> str:
    return f"{value:.4f}"


def in_words(seconds: float) -> str:
    """`1 hour 48 minutes`, `3 minutes 42 seconds`, `12 seconds`: read aloud well."""
    total = round(min(seconds, 99 * 86400.0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    for value, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")):
        if value:
            parts.append(f"{value} {unit}" + ("" if value == 1 else "s"))
    if hours:
        parts = parts[:2]  # (seconds do not matter an hour away)
    return " ".join(parts) or "0 seconds"


class AccessibleLog:
    """The lines of a watched run, for a screen reader."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.phase: str | None = None
        self.progress_at: float | None = None
        self.progress_step: float | None = None

    def _phase(self, phase: str) -> list[str]:
        if phase == self.phase:
            return []
        self.phase = phase
        return [f"Phase: {phase}."]

    def begin(self, view: JobView) -> list[str]:
        name = clean_line(view.display_name)
        lines = [f"Watching job {name}. Status: {view.status}."]
        if view.status == "queued":
            lines += self._phase("warming up, waiting for a GPU")
        return lines

    def event(self, view: JobView, event: Event) -> list[str]:
        """After the view applied `event`."""
        name = event.name
        if name == STARTED:
            return self._phase("training")
        if name == CHECKPOINT:
            step = event.step
            where = f" at step {format_step(step)}" if step is not None else ""
            return [f"Checkpoint saved{where}."]
        if name == COMPLETED:
            count = len(event.artifacts)
            noun = "artifact" if count == 1 else "artifacts"
            return [*self._phase("the end"), f"Training completed, {count} {noun}."]
        if name == FAILED:
            error = clean_line(view.error or "unknown error")
            return [*self._phase("the end"), f"Training failed: {error}"]
        if name != LOG:
            return []
        lines = [] if self.phase == "training" else self._phase("training")
        if event.eval_loss is not None:
            step = event.step
            where = f" at step {format_step(step)}" if step is not None else ""
            lines.append(f"Eval loss {_value(event.eval_loss)}{where}.")
        now = self.clock()
        if (
            view.step is not None
            and view.step != self.progress_step
            and (self.progress_at is None or now - self.progress_at >= PROGRESS_EVERY)
        ):
            self.progress_at, self.progress_step = now, view.step
            lines.append(self.progress(view))
        return lines

    def progress(self, view: JobView) -> str:
        p = view.progress(None)
        parts = [f"Progress: step {format_step(p.step) if p.step is not None else 'unknown'}"]
        if p.total is not None and p.total.kind == "steps":
            parts[0] += f" of {format_step(p.total.value)}"
        if p.fraction is not None:
            parts.append(f"{p.fraction * 100:.0f} percent")
        if view.loss is not None:
            parts.append(f"loss {_value(view.loss)}")
        rate = format_rate(p.rate)
        if rate:
            parts.append(rate.replace("/s", " per second").replace("/min", " per minute"))
        if p.eta is not None:
            parts.append(f"about {in_words(p.eta)} left")
        return ", ".join(parts) + "."

    def notice(self, notice: StreamNotice) -> list[str]:
        if notice.kind == "resumed":
            return ["The event stream is back."]
        reason = f": {clean_line(notice.reason)}" if notice.reason else ""
        return [f"The event stream dropped{reason}. Reconnecting."]

    def finish(self, view: JobView, summary: str) -> list[str]:
        status = view.status
        lines = self._phase("the end") if status in ("completed", "failed", "cancelled") else []
        return [*lines, f"Status: {status}. {clean_line(summary)}."]
