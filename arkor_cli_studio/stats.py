"""Studio's Advanced-panel loss statistics, as pure functions (no I/O).

Per series: count; mean with the half-width of its 95% confidence interval
(`t * s / sqrt(n)`, Student's t for `df = n - 1` from the standard table to
3 decimals, 1.96 once n > 31); Bessel-corrected (ddof = 1) standard
deviation and variance; p90 and p95 interpolated linearly as numpy's
default method does.

Values are kept compactly in `array('d')`. The moments are exact-rounded
sums (`math.fsum`: the mean, then one pass for the squared deviations);
the order statistics come from one sort. `LossSeries` takes points one at
a time (the live panel) and folds new points into its moments and its
sorted copy only when a summary is asked for, so a summary after k new
points costs about O(k log k + n) in C, not a fresh Python pass over n.
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from bisect import bisect_right, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any, Final

from arkor_cli_studio.model import LOG, Event

#: Two-tailed 95% critical values of Student's t, df = 1..30, to 3 decimals.
T_TABLE_95: Final[tuple[float, ...]] = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
Z_95: Final = 1.96
#: The largest sample that still uses the t table (n = 31, df = 30).
T_TABLE_MAX_N: Final = len(T_TABLE_95) + 1

# Inserting one by one into the sorted copy (a memmove each) beats a merge
# sort of everything only for a handful of new points.
_INSORT_MAX = 32
# Up to n / _SPLICE_RATIO new points are spliced into the sorted copy (sort
# them, find each one's place by bisection, copy the runs between): C copies
# of the old values instead of a Python float object for each of them, ~30x
# faster than the merge sort for 2,000 new points on a million.
_SPLICE_RATIO = 8


def t_critical_95(n: int) -> float | None:
    """The multiplier of the CI half-width for a sample of n (None when n < 2)."""
    if n < 2:
        return None
    if n > T_TABLE_MAX_N:
        return Z_95
    return T_TABLE_95[n - 2]


@dataclass(frozen=True, slots=True)
class SeriesStats:
    """One card of the Advanced panel. None where a value is undefined (n = 0)."""

    count: int
    mean: float | None = None
    ci95_half_width: float | None = None
    stddev: float | None = None
    variance: float | None = None
    p90: float | None = None
    p95: float | None = None

    @property
    def empty(self) -> bool:
        return self.count == 0

    def to_json(self) -> dict[str, Any]:
        """Exact keys for `--json`; null (never NaN) where undefined."""
        return {
            "count": self.count,
            "mean": _finite(self.mean),
            "ci95HalfWidth": _finite(self.ci95_half_width),
            "stddev": _finite(self.stddev),
            "variance": _finite(self.variance),
            "p90": _finite(self.p90),
            "p95": _finite(self.p95),
        }


EMPTY: Final = SeriesStats(0)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def percentile_sorted(ordered: Any, q: float) -> float:
    """Percentile q (0..100) of non-empty ascending data, as numpy's default
    ("linear") method computes it, down to its interpolation formula."""
    n = len(ordered)
    virtual = (n - 1) * (q / 100)
    if virtual >= n - 1:
        return float(ordered[n - 1])
    if virtual <= 0:
        return float(ordered[0])
    below = math.floor(virtual)
    gamma = virtual - below
    a = float(ordered[below])
    b = float(ordered[below + 1])
    diff = b - a
    if gamma >= 0.5:
        return b - diff * (1 - gamma)
    return a + diff * gamma


def _moments(values: Any) -> tuple[float, float]:
    """(mean, sum of squared deviations) of a non-empty sequence of floats."""
    n = len(values)
    mean = math.fsum(values) / n
    m2 = math.fsum((x - mean) * (x - mean) for x in values)
    return mean, m2


def _make(n: int, mean: float, m2: float, ordered: Any) -> SeriesStats:
    if n == 0:
        return EMPTY
    p90 = percentile_sorted(ordered, 90)
    p95 = percentile_sorted(ordered, 95)
    t = t_critical_95(n)
    if t is None:  # n == 1
        return SeriesStats(1, mean, 0.0, 0.0, 0.0, p90, p95)
    variance = m2 / (n - 1)
    stddev = math.sqrt(variance)
    return SeriesStats(n, mean, t * stddev / math.sqrt(n), stddev, variance, p90, p95)


def summarize(values: Iterable[float]) -> SeriesStats:
    """The statistics of finite floats (any iterable; an array is not copied)."""
    data = values if isinstance(values, array) else array("d", values)
    if not data:
        return EMPTY
    mean, m2 = _moments(data)
    ordered = data.tolist()
    ordered.sort()  # the one sort (faster from a list than sorted() of an array)
    return _make(len(data), mean, m2, ordered)


class LossSeries:
    """One series of the chart, point by point, with summaries on demand.

    `add` only appends to an `array('d')`; `summary()` folds the points
    added since the last summary into the running moments (Chan et al.'s
    pairwise update) and the sorted copy, then reads the statistics off.
    """

    __slots__ = ("_folded", "_m2", "_mean", "_sorted", "_values")

    def __init__(self, values: Iterable[float] = ()) -> None:
        self._values = array("d")
        self._sorted = array("d")
        self._folded = 0
        self._mean = 0.0
        self._m2 = 0.0
        self.extend(values)

    def add(self, value: float) -> None:
        if not math.isfinite(value):
            raise ValueError(f"loss values must be finite, not {value!r}")
        self._values.append(value)

    def extend(self, values: Iterable[float]) -> None:
        for value in values:
            self.add(value)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def values(self) -> array[float]:
        """The points in arrival order (a copy)."""
        return array("d", self._values)

    def summary(self, last: int | None = None) -> SeriesStats:
        """Statistics of the whole series, or of its last `last` points."""
        if last is not None:
            if last < 0:
                raise ValueError("last must be >= 0")
            if last < len(self._values):
                return summarize(self._values[len(self._values) - last :])
        self._fold()
        return _make(len(self._values), self._mean, self._m2, self._sorted)

    def _fold(self) -> None:
        n_a, n = self._folded, len(self._values)
        if n_a == n:
            return
        new = self._values[n_a:]
        n_b = n - n_a
        mean_b, m2_b = _moments(new)
        if n_a == 0:
            self._mean, self._m2 = mean_b, m2_b
        else:
            delta = mean_b - self._mean
            self._mean += delta * n_b / n
            self._m2 += m2_b + delta * delta * n_a * n_b / n
        if n_b <= _INSORT_MAX and n_a:
            for value in new:
                insort(self._sorted, value)
        elif n_b * _SPLICE_RATIO <= n_a:
            self._sorted = _splice(self._sorted, sorted(new))
        else:
            # Timsort finds the sorted run and merges the new points into it.
            self._sorted = array("d", sorted(chain(self._sorted, new)))
        self._folded = n


def _splice(ordered: array[float], new: list[float]) -> array[float]:
    """Ascending `ordered` with the ascending `new` merged in (ties: new last)."""
    merged = array("d")
    start = 0
    for value in new:
        end = bisect_right(ordered, value, start)
        merged += ordered[start:end]
        merged.append(value)
        start = end
    merged += ordered[start:]
    return merged


class ChartSeries:
    """The chart's two series, filled from events exactly as Studio does:
    a finite numeric `loss` / `evalLoss` of a `training.log` frame is a point
    (an eval-only frame counts for eval only; a frame with neither counts
    for neither)."""

    __slots__ = ("eval_loss", "loss")

    def __init__(self) -> None:
        self.loss = LossSeries()
        self.eval_loss = LossSeries()

    def feed(self, event: Event) -> bool:
        """Take one event; True when it added a point to either series."""
        if event.name != LOG:
            return False
        loss, eval_loss = event.loss, event.eval_loss
        if loss is not None:
            self.loss.add(loss)
        if eval_loss is not None:
            self.eval_loss.add(eval_loss)
        return loss is not None or eval_loss is not None

    def feed_all(self, events: Iterable[Event]) -> ChartSeries:
        for event in events:
            self.feed(event)
        return self

    def summaries(self, last: int | None = None) -> tuple[SeriesStats, SeriesStats]:
        """(training loss, eval loss), each over its last `last` points if given."""
        return self.loss.summary(last), self.eval_loss.summary(last)


class LiveStats:
    """The chart's two series shared by two threads: the stream thread
    `observe()`s points (a `watching.LossObserver`), a reader thread asks
    for `summaries()`.

    `observe` only appends to a pending buffer under a private lock (no
    folding, no sorting); `summaries` swaps the buffers out under that lock
    and folds them into its own `ChartSeries` outside it, so the stream
    thread never waits for a sort. Summaries are throttled by their own
    cost: after one that took `c` seconds, the next is computed no sooner
    than `c / max_share` later (the cached one is returned meanwhile), so a
    very long run spends at most ~`max_share` of the time on statistics.
    """

    def __init__(self, *, max_share: float = 0.1, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()  # the pending buffers
        self._read_lock = threading.Lock()  # the folded series and the cache
        self._loss = array("d")
        self._eval = array("d")
        self._series = ChartSeries()
        self._cached: tuple[SeriesStats, SeriesStats] = (EMPTY, EMPTY)
        self._next_due = 0.0
        self._max_share = max_share
        self._clock = clock

    def observe(self, loss: float | None, eval_loss: float | None) -> None:
        """One chart point (finite numbers, as the chart takes them)."""
        with self._lock:
            if loss is not None:
                self._loss.append(loss)
            if eval_loss is not None:
                self._eval.append(eval_loss)

    def summaries(self, *, fresh: bool = False) -> tuple[SeriesStats, SeriesStats]:
        """(training loss, eval loss) over every point observed so far (up to
        the throttle; `fresh` ignores it, e.g. for the final numbers)."""
        with self._read_lock:
            now = self._clock()
            if not fresh and now < self._next_due:
                return self._cached
            with self._lock:
                loss, evals = self._loss, self._eval
                if not loss and not evals:
                    return self._cached  # nothing new: still exact
                self._loss, self._eval = array("d"), array("d")
            self._series.loss.extend(loss)
            self._series.eval_loss.extend(evals)
            self._cached = self._series.summaries()
            took = self._clock() - now
            self._next_due = now + took / self._max_share
            return self._cached


def series_from_events(events: Iterable[Event]) -> ChartSeries:
    return ChartSeries().feed_all(events)


def stats_json(loss: SeriesStats, eval_loss: SeriesStats, **extra: Any) -> dict[str, Any]:
    """`{"loss": {...}, "evalLoss": {...}, **extra}`: the `stats --json` object."""
    return {"loss": loss.to_json(), "evalLoss": eval_loss.to_json(), **extra}
