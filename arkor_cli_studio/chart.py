"""Studio's loss-chart points, as pure values (no I/O, no terminals).

Studio's Job detail keeps the last 2,000 `training.log` frames that carry a
finite numeric `step` and a finite `loss` or `evalLoss` (`JobDetail.tsx`:
a frame without a step, or with neither number, is dropped before it takes
a slot). Its chart (`LossChart.tsx`) merges the frames of one step into one
point (a later frame wins for each field it fills in), sorts the points by
step, and draws and summarises those: the Advanced cards are `stats.ts`'s
`summarize()` of the merged points' losses, and of their evalLosses.

`ChartWindow` is that selection for any window size; `merge_by_step` is the
chart's union; `window_summaries` the cards.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from arkor_cli_studio.model import LOG, Event
from arkor_cli_studio.stats import SeriesStats, summarize

#: Studio's MAX_LOSS_POINTS: the frames the chart keeps.
CHART_SIZE: Final = 2000


@dataclass(slots=True)  # not frozen: its __init__ is 3x cheaper, one per event
class ChartPoint:
    """One training.log frame with a step and a loss and/or evalLoss; or,
    after `merge_by_step`, one step of the chart (read-only)."""

    step: float
    loss: float | None
    eval_loss: float | None


def chart_frame(event: Event) -> ChartPoint | None:
    """The frame Studio keeps for the chart, or None (not a training.log
    frame, no finite step, neither a finite loss nor a finite evalLoss)."""
    if event.name != LOG:
        return None
    step = event.step
    if step is None:
        return None
    loss, eval_loss = event.loss, event.eval_loss
    if loss is None and eval_loss is None:
        return None
    return ChartPoint(step, loss, eval_loss)


def merge_by_step(frames: Iterable[ChartPoint]) -> list[ChartPoint]:
    """LossChart's `unified`: one point per step, the later frame winning
    for each field it fills in, sorted by step."""
    by_step: dict[float, ChartPoint] = {}
    for frame in frames:
        found = by_step.get(frame.step)
        if found is None:
            by_step[frame.step] = ChartPoint(frame.step, frame.loss, frame.eval_loss)
            continue
        if frame.loss is not None:
            found.loss = frame.loss
        if frame.eval_loss is not None:
            found.eval_loss = frame.eval_loss
    return sorted(by_step.values(), key=_step_of)


def _step_of(point: ChartPoint) -> float:
    return point.step


def window_summaries(points: Iterable[ChartPoint]) -> tuple[SeriesStats, SeriesStats]:
    """The two Advanced cards of merged chart points: (training loss, eval loss)."""
    merged = list(points)
    return (
        summarize(p.loss for p in merged if p.loss is not None),
        summarize(p.eval_loss for p in merged if p.eval_loss is not None),
    )


class ChartWindow:
    """The last `size` chart frames of a stream, as Studio keeps them
    (bounded memory: `size` frames), and the cards over them."""

    __slots__ = ("frames", "size")

    def __init__(self, size: int = CHART_SIZE) -> None:
        if size < 1:
            raise ValueError("a chart window holds at least one frame")
        self.size = size
        self.frames: deque[ChartPoint] = deque(maxlen=size)

    def feed(self, event: Event) -> bool:
        """Take one event; True when it is a chart frame."""
        frame = chart_frame(event)
        if frame is None:
            return False
        self.frames.append(frame)
        return True

    def feed_all(self, events: Iterable[Event]) -> ChartWindow:
        for event in events:
            self.feed(event)
        return self

    def points(self) -> list[ChartPoint]:
        """The chart's points: the window's frames merged by step."""
        return merge_by_step(self.frames)

    def summaries(self, last: int | None = None) -> tuple[SeriesStats, SeriesStats]:
        """(training loss, eval loss) over the chart's points (`last` is
        the window's size already; accepted to match `stats.ChartSeries`)."""
        return window_summaries(self.points())
