"""Studio's Advanced-panel loss statistics, as pure functions (no I/O).

Per series: count; mean with the half-width of its 95% confidence interval
(`t * s / sqrt(n)`, Student's t for `df = n - 1` from the standard table to
3 decimals, 1.96 once n > 31); Bessel-corrected (ddof = 1) standard
deviation and variance; p90 and p95 interpolated linearly as numpy's
default method does.

Values are kept compactly in `array('d')`. The moments are exact-rounded
sums (`math.fsum`: the mean, then one pass for the squared deviations);
the order statistics come from one sort. A growing series
(`RunningSummary`: the live panel, `LossSeries`) folds new points into
running moments (Chan et al.'s pairwise update) and into sorted blocks
(`SortedBlocks`), so a summary after k new points costs O(k log k) plus
one pass over the blocks' lengths, whatever the length of the run.

Losses near the largest float (two of 1.7e308: their sum overflows) are
summed scaled by a power of two, which is exact; a statistic that itself
exceeds the largest float (the variance of 1.7e308 and -1.7e308) is
`inf`, shown as "overflow" and written as null in JSON.
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from arkor_cli_studio.model import LOG, Event
from arkor_cli_studio.sorted_blocks import SortedBlocks

#: Two-tailed 95% critical values of Student's t, df = 1..30, to 3 decimals.
T_TABLE_95: Final[tuple[float, ...]] = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
Z_95: Final = 1.96
#: The largest sample that still uses the t table (n = 31, df = 30).
T_TABLE_MAX_N: Final = len(T_TABLE_95) + 1

# Below this magnitude squares and sums of squares cannot overflow for any
# realistic count (2**802 * 2**60 < 2**1024); above it the moments are
# computed on values scaled by 2**-e (exact: a power of two).
_SCALE_ABOVE: Final = 2.0**400


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
    if math.isinf(diff):  # a and b of opposite signs near the largest float
        return a * (1 - gamma) + b * gamma
    if gamma >= 0.5:
        return b - diff * (1 - gamma)
    return a + diff * gamma


def _moments_of(values: Any) -> tuple[float, float]:
    """(mean, sum of squared deviations) of a non-empty sequence of floats."""
    n = len(values)
    mean = math.fsum(values) / n
    m2 = math.fsum((x - mean) * (x - mean) for x in values)
    return mean, m2


def _scale_of(values: Any) -> int:
    """The power of two e to divide `values` by before summing: 0 (none) for
    ordinary magnitudes, else the binary exponent of the largest |value|, so
    that every scaled value is below 1 in magnitude."""
    biggest = max(max(values), -min(values))
    return math.frexp(biggest)[1] if biggest > _SCALE_ABOVE else 0


def _scaled(values: Any, e: int) -> Any:
    return values if e == 0 else array("d", [math.ldexp(x, -e) for x in values])


def _moments(values: Any) -> tuple[float, float, int]:
    """(mean, sum of squared deviations, e) of a non-empty sequence of finite
    floats, the first two in units of 2**e (e = 0 unless values are huge)."""
    e = _scale_of(values)
    mean, m2 = _moments_of(_scaled(values, e))
    return mean, m2, e


def _ldexp(x: float, e: int) -> float:
    """x * 2**e, `inf` (with x's sign) past the largest float."""
    try:
        return math.ldexp(x, e)
    except OverflowError:
        return math.copysign(math.inf, x)


def _make(n: int, mean: float, m2: float, ordered: Any, e: int = 0) -> SeriesStats:
    """The card from n, the moments in units of 2**e, and the ascending values."""
    if n == 0:
        return EMPTY
    p90 = percentile_sorted(ordered, 90)
    p95 = percentile_sorted(ordered, 95)
    mean = _ldexp(mean, e)
    t = t_critical_95(n)
    if t is None:  # n == 1
        return SeriesStats(1, mean, 0.0, 0.0, 0.0, p90, p95)
    variance = m2 / (n - 1)
    stddev = math.sqrt(variance)
    ci = t * stddev / math.sqrt(n)
    if e:
        variance, stddev, ci = _ldexp(variance, 2 * e), _ldexp(stddev, e), _ldexp(ci, e)
    return SeriesStats(n, mean, ci, stddev, variance, p90, p95)


def summarize(values: Iterable[float]) -> SeriesStats:
    """The statistics of finite floats (any iterable; an array is not copied)."""
    data = values if isinstance(values, array) else array("d", values)
    if not data:
        return EMPTY
    mean, m2, e = _moments(data)
    ordered = data.tolist()
    ordered.sort()  # the one sort (faster from a list than sorted() of an array)
    return _make(len(data), mean, m2, ordered, e)


class RunningSummary:
    """The exact statistics of a growing series, without its arrival order:
    running moments and sorted blocks (what the live panel keeps, ~8 bytes
    a point). `extend` folds a batch; `summary` reads the card off."""

    __slots__ = ("_e", "_m2", "_mean", "_n", "_ordered")

    def __init__(self) -> None:
        self._n = 0
        self._mean = 0.0  # in units of 2**_e
        self._m2 = 0.0  # in units of 2**(2 * _e)
        self._e = 0
        self._ordered = SortedBlocks()

    def __len__(self) -> int:
        return self._n

    def extend(self, batch: array[float]) -> None:
        """Fold finite points in (any order)."""
        n_b = len(batch)
        if not n_b:
            return
        e = max(self._e, _scale_of(batch))
        if e != self._e:  # huge values arrived: rescale what is folded (exact)
            shift = self._e - e
            self._mean, self._m2 = math.ldexp(self._mean, shift), math.ldexp(self._m2, 2 * shift)
            self._e = e
        mean_b, m2_b = _moments_of(_scaled(batch, e))
        n_a = self._n
        n = n_a + n_b
        if n_a == 0:
            self._mean, self._m2 = mean_b, m2_b
        else:
            delta = mean_b - self._mean
            self._mean += delta * n_b / n
            self._m2 += m2_b + delta * delta * n_a * n_b / n
        self._n = n
        self._ordered.update(batch)

    def summary(self) -> SeriesStats:
        return _make(self._n, self._mean, self._m2, self._ordered, self._e)


class LossSeries:
    """One series of the chart, point by point, with summaries on demand.

    `add` only appends to an `array('d')` (the arrival order, for `last`);
    `summary()` folds the points added since the last summary into a
    `RunningSummary`, then reads the statistics off.
    """

    __slots__ = ("_folded", "_running", "_values")

    def __init__(self, values: Iterable[float] = ()) -> None:
        self._values = array("d")
        self._running = RunningSummary()
        self._folded = 0
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
        if self._folded < len(self._values):
            self._running.extend(self._values[self._folded :])
            self._folded = len(self._values)
        return self._running.summary()


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
    and folds them into its own `RunningSummary`s outside it, so the stream
    thread never waits for a sort. A fold costs what its new points cost,
    not what the run's length does, and nothing keeps the points' order:
    ~8 bytes a point. Summaries are throttled by their own
    cost: after one that took `c` seconds, the next is computed no sooner
    than `c / max_share` later (the cached one is returned meanwhile), so a
    very long run spends at most ~`max_share` of the time on statistics.
    """

    def __init__(self, *, max_share: float = 0.1, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()  # the pending buffers
        self._read_lock = threading.Lock()  # the folded series and the cache
        self._loss = array("d")
        self._eval = array("d")
        self._loss_summary = RunningSummary()
        self._eval_summary = RunningSummary()
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
            self._loss_summary.extend(loss)
            self._eval_summary.extend(evals)
            self._cached = (self._loss_summary.summary(), self._eval_summary.summary())
            took = self._clock() - now
            self._next_due = now + took / self._max_share
            return self._cached


def series_from_events(events: Iterable[Event]) -> ChartSeries:
    return ChartSeries().feed_all(events)


def stats_json(loss: SeriesStats, eval_loss: SeriesStats, **extra: Any) -> dict[str, Any]:
    """`{"loss": {...}, "evalLoss": {...}, **extra}`: the `stats --json` object."""
    return {"loss": loss.to_json(), "evalLoss": eval_loss.to_json(), **extra}
