"""The statistics, as pure functions, against numpy and exact arithmetic."""

from __future__ import annotations

import json
import math
from array import array
from fractions import Fraction

import numpy as np
import pytest

from arkor_cli_studio.model import Event, parse_event
from arkor_cli_studio.stats import (
    EMPTY,
    T_TABLE_95,
    LossSeries,
    SeriesStats,
    percentile_sorted,
    series_from_events,
    stats_json,
    summarize,
    t_critical_95,
)

# The two-tailed 95% column of the standard t table, typed in from the table
# (not computed from our code): df -> critical value.
STANDARD_T_95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365,
    8: 2.306, 9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145,
    15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080,
    22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048,
    29: 2.045, 30: 2.042,
}  # fmt: skip
REL = 1e-9
KEYS = {"count", "mean", "ci95HalfWidth", "stddev", "variance", "p90", "p95"}


def close(a: float | None, b: float, rel: float = REL) -> bool:
    assert a is not None
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)


def numpy_stats(values: np.ndarray) -> dict[str, float]:
    """The reference: numpy's own functions, and the t table typed in above."""
    n = len(values)
    std = float(np.std(values, ddof=1)) if n > 1 else 0.0
    t = STANDARD_T_95[n - 1] if 1 < n <= 31 else 1.96
    return {
        "mean": float(np.mean(values)),
        "variance": float(np.var(values, ddof=1)) if n > 1 else 0.0,
        "stddev": std,
        "ci95HalfWidth": t * std / math.sqrt(n) if n > 1 else 0.0,
        "p90": float(np.percentile(values, 90)),
        "p95": float(np.percentile(values, 95)),
    }


def assert_matches(stats: SeriesStats, values: np.ndarray) -> None:
    expected = numpy_stats(values)
    got = stats.to_json()
    assert got["count"] == len(values)
    for key, value in expected.items():
        assert close(got[key], value), (key, got[key], value)


# --------------------------------------------------------------------------
# The t table


def _t_pdf_integral(t: float, df: int, steps: int = 20_000) -> float:
    """∫_0^t of Student's t density (Simpson's rule): an independent check."""
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    xs = np.linspace(0.0, t, steps + 1)
    ys = np.exp(log_c - (df + 1) / 2 * np.log1p(xs * xs / df))
    h = t / steps
    return float(h / 3 * (ys[0] + ys[-1] + 4 * ys[1:-1:2].sum() + 2 * ys[2:-1:2].sum()))


def _t_critical(df: int) -> float:
    lo, hi = 0.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _t_pdf_integral(mid, df) < 0.475:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@pytest.mark.parametrize("df", range(1, 31))
def test_t_table_matches_the_standard_table_at_every_df(df):
    assert T_TABLE_95[df - 1] == STANDARD_T_95[df]
    assert t_critical_95(df + 1) == STANDARD_T_95[df]
    # and the standard table is the true quantile rounded to 3 decimals
    assert round(_t_critical(df), 3) == STANDARD_T_95[df]


def test_t_multiplier_edges():
    assert t_critical_95(0) is None and t_critical_95(1) is None
    assert t_critical_95(2) == 12.706
    assert t_critical_95(31) == 2.042  # df 30: still the table
    assert t_critical_95(32) == 1.96  # n > 31: z
    assert t_critical_95(10**7) == 1.96
    assert len(T_TABLE_95) == 30


# --------------------------------------------------------------------------
# Against numpy


@pytest.mark.parametrize("n", [2, 3, 31, 32, 33, 1000, 200_000])
@pytest.mark.parametrize("seed", [0, 1])
def test_summarize_matches_numpy(n, seed):
    rng = np.random.default_rng(seed * 1000 + n)
    values = rng.lognormal(mean=0.3, sigma=0.6, size=n)
    assert_matches(summarize(values.tolist()), values)
    assert_matches(summarize(array("d", values.tolist())), values)


def test_n_equals_1_has_zero_spread_and_its_value_everywhere():
    stats = summarize([0.731])
    assert stats == SeriesStats(1, 0.731, 0.0, 0.0, 0.0, 0.731, 0.731)
    assert_matches(stats, np.array([0.731]))


def test_n_equals_0_has_no_numbers():
    for stats in (summarize([]), LossSeries().summary(), LossSeries().summary(last=5)):
        assert stats == EMPTY and stats.empty
        assert stats.to_json() == {key: (0 if key == "count" else None) for key in KEYS}


def test_the_ci_switches_from_t_to_z_after_31_points():
    rng = np.random.default_rng(7)
    values = rng.normal(1.0, 0.2, 32)
    at_31, at_32 = summarize(values[:31].tolist()), summarize(values.tolist())
    assert at_31.stddev is not None and at_32.stddev is not None
    assert close(at_31.ci95_half_width, 2.042 * at_31.stddev / math.sqrt(31))
    assert close(at_32.ci95_half_width, 1.96 * at_32.stddev / math.sqrt(32))


def test_percentiles_follow_numpys_linear_method_on_awkward_sizes():
    rng = np.random.default_rng(3)
    for n in range(1, 60):
        values = np.sort(rng.normal(size=n))
        for q in (0, 5, 50, 90, 95, 99.9, 100):
            ours = percentile_sorted(values.tolist(), q)
            assert math.isclose(ours, float(np.percentile(values, q)), rel_tol=REL, abs_tol=1e-15)


def test_variance_stays_exact_far_from_zero():
    """Losses on a large offset: a one-pass sum of squares would lose every digit."""
    rng = np.random.default_rng(11)
    values = (1e8 + rng.uniform(-1e-3, 1e-3, 2000)).tolist()
    exact = [Fraction(v) for v in values]
    mean = sum(exact) / len(exact)
    variance = sum((v - mean) ** 2 for v in exact) / (len(exact) - 1)
    stats = summarize(values)
    assert close(stats.variance, float(variance))
    assert close(stats.mean, float(mean), rel=1e-15)
    assert summarize([0.25] * 1000).variance == 0.0


# --------------------------------------------------------------------------
# The incremental series (what the live panel feeds point by point)


def test_loss_series_point_by_point_matches_numpy_at_every_summary():
    rng = np.random.default_rng(5)
    values = rng.gamma(2.0, 0.5, 3000)
    series = LossSeries()
    sizes = [1, 1, 2, 3, 1, 5, 40, 100, 1, 33, 500, 7, 1300]  # insort and merge paths
    seen = 0
    for size in sizes:
        for value in values[seen : seen + size]:
            series.add(float(value))
        seen += size
        assert_matches(series.summary(), values[:seen])
        assert_matches(series.summary(last=10), values[max(0, seen - 10) : seen])
    assert seen == len(series) == 1994
    assert_matches(series.summary(last=10_000), values[:seen])  # N beyond the length: all
    assert series.values == array("d", values[:seen].tolist())


def test_sorted_blocks_stay_exact_through_inserts_merges_and_splits():
    """Batches of every size land in the right blocks (insertion, one-block
    merge, splits past 2 * BLOCK): exact order, ties included, every index."""
    from arkor_cli_studio.sorted_blocks import BLOCK, SortedBlocks

    rng = np.random.default_rng(9)
    values = np.round(rng.gamma(2.0, 0.5, 20_001), 2)  # rounded: many ties
    ordered = SortedBlocks()
    seen = 0
    for size in (4000, 33, 100, 1, 2500, 966, 5, 7000, 1, 3000, 2395):
        ordered.update(values[seen : seen + size].tolist())
        seen += size
        want = np.sort(values[:seen]).tolist()
        assert ordered.tolist() == want and len(ordered) == seen
        for index in (0, 1, seen // 3, seen // 2, seen - 2, seen - 1):
            assert ordered[index] == want[index]
        assert all(len(block) <= 2 * BLOCK for block in ordered._blocks)
        assert ordered._maxes == [block[-1] for block in ordered._blocks]
    assert seen == 20_001 and len(ordered._blocks) > 10
    with pytest.raises(IndexError):
        ordered[seen]


def test_a_fold_touches_only_the_blocks_its_points_land_in():
    """Issue 22, item 3: folding k new points into a long series costs what
    the k points cost, not what the series' length does: the other blocks
    are neither copied nor rebuilt."""
    from arkor_cli_studio.stats import RunningSummary

    rng = np.random.default_rng(3)
    running = RunningSummary()
    running.extend(array("d", rng.normal(1.0, 0.2, 500_000).tolist()))
    before = [(id(block), len(block)) for block in running._ordered._blocks]
    assert len(before) > 400
    running.extend(array("d", rng.normal(1.0, 0.2, 10).tolist()))
    after = [(id(block), len(block)) for block in running._ordered._blocks]
    changed = len(set(after) - set(before))
    assert len(after) >= len(before) and changed <= 10 + (len(after) - len(before))


def test_loss_series_rejects_what_the_chart_would_not_draw():
    series = LossSeries([1.0])
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            series.add(bad)
    with pytest.raises(ValueError):
        series.summary(last=-1)
    assert len(series) == 1


def test_json_never_has_nan_and_has_exact_keys():
    stats = summarize([0.5, 0.25])
    body = stats_json(stats, EMPTY, complete=True)
    assert set(body) == {"loss", "evalLoss", "complete"}
    assert set(body["loss"]) == set(body["evalLoss"]) == KEYS
    json.dumps(body, allow_nan=False)
    assert SeriesStats(1, math.nan, math.inf).to_json()["mean"] is None


# --------------------------------------------------------------------------
# Events -> the chart's two series


def log(payload: str, name: str = "training.log") -> Event:
    event = parse_event(name, "1", payload)
    assert event is not None
    return event


def test_series_take_exactly_what_the_chart_draws():
    events = [
        log('{"step":1,"loss":0.9}'),
        log('{"step":2,"loss":0.8,"evalLoss":1.1}'),
        log('{"step":3,"evalLoss":1.0}'),  # eval-only: eval
        log('{"step":4,"loss":null,"evalLoss":null}'),  # neither
        log('{"step":5}'),  # neither
        log('{"step":6,"loss":1e309,"evalLoss":NaN}'),  # non-finite: absent
        log('{"step":7,"loss":"0.5","evalLoss":true}'),  # not numbers: absent
        log('{"step":8,"loss":-Infinity,"evalLoss":0.95}'),
        log('{"step":9,"loss":0.7}', name="checkpoint.saved"),  # not a log frame
        log('{"step":10,"loss":0.6}', name="training.completed"),
        log('{"step":11,"loss":0}'),  # zero is a number
    ]
    series = series_from_events(events)
    assert series.loss.values == array("d", [0.9, 0.8, 0.0])
    assert series.eval_loss.values == array("d", [1.1, 1.0, 0.95])
    loss, eval_loss = series.summaries()
    assert (loss.count, eval_loss.count) == (3, 3)
    assert series.feed(events[3]) is False and series.feed(events[0]) is True


# --------------------------------------------------------------------------
# Two threads: the stream observes, the screen asks (what `watch --advanced` does)


def test_live_stats_from_a_writer_thread_equal_the_batch_numbers():
    import threading

    from arkor_cli_studio.stats import LiveStats

    rng = np.random.default_rng(13)
    losses = rng.gamma(2.0, 0.5, 60_000).tolist()
    evals = {i: v for i, v in enumerate(rng.gamma(2.0, 0.6, 60_000).tolist()) if i % 7 == 0}
    live = LiveStats(max_share=1.0)
    done = threading.Event()
    # The writer waits halfway until the reader has read once more, so a read
    # in the middle of the writing happens however the threads are scheduled.
    # (A read may return the last, cached numbers: the writer waits for a fresh one.)
    halfway, read_halfway = threading.Event(), threading.Event()
    middle = len(losses) // 2
    train_at_middle = sum(1 for i in range(middle) if i % 11 != 5)

    def stream() -> None:
        for i, loss in enumerate(losses):
            if i == middle:
                halfway.set()
                read_halfway.wait(30)
            live.observe(None if i % 11 == 5 else loss, evals.get(i))
        done.set()

    writer = threading.Thread(target=stream)
    writer.start()
    seen = []
    while not done.is_set():  # read while it writes: counts only grow, never tear
        was_halfway = halfway.is_set()
        loss, eval_loss = live.summaries()
        seen.append((loss.count, eval_loss.count))
        if was_halfway and loss.count == train_at_middle:
            read_halfway.set()
    writer.join()
    loss, eval_loss = live.summaries(fresh=True)
    seen.append((loss.count, eval_loss.count))
    assert seen == sorted(seen)
    assert (train_at_middle, sum(1 for i in evals if i < middle)) in seen  # read mid-way
    train = np.array([v for i, v in enumerate(losses) if i % 11 != 5])
    loss, eval_loss = live.summaries(fresh=True)
    assert_matches(loss, train)
    assert_matches(eval_loss, np.array(list(evals.values())))


def test_live_stats_are_throttled_by_their_own_cost():
    from arkor_cli_studio.stats import LiveStats

    clock = iter([0.0, 0.5, 1.0, 4.0, 5.0, 6.0, 6.0, 7.0, 8.0])  # two reads per fold
    live = LiveStats(max_share=0.1, clock=lambda: next(clock))
    live.observe(1.0, None)
    assert live.summaries()[0].count == 1  # took 0.5 s: the next is due at 5.0
    live.observe(2.0, None)
    assert live.summaries()[0].count == 1  # at 1.0: the cached one
    assert live.summaries()[0].count == 1  # at 4.0: still cached
    assert live.summaries()[0].count == 2  # at 5.0 (and took 1.0 s: due at 15.0)
    live.observe(3.0, 0.5)
    assert live.summaries(fresh=True) == (summarize([1.0, 2.0, 3.0]), summarize([0.5]))
    assert live.summaries() == (summarize([1.0, 2.0, 3.0]), summarize([0.5]))  # nothing new


# --------------------------------------------------------------------------
# Losses near the largest float (issue 17, item 7): no "intermediate overflow
# in fsum"; exact where the answer is a float, inf ("overflow") where it is not


def test_two_huge_losses_are_summed_without_overflow():
    from arkor_cli_studio.stats import LiveStats, RunningSummary

    want = SeriesStats(2, 1.7e308, 0.0, 0.0, 0.0, 1.7e308, 1.7e308)
    assert summarize([1.7e308, 1.7e308]) == want
    assert LossSeries([1.7e308, 1.7e308]).summary() == want
    live = LiveStats()
    live.observe(1.7e308, None)
    live.observe(1.7e308, -1.7e308)
    live.observe(None, -1.7e308)
    loss, eval_loss = live.summaries(fresh=True)
    assert loss == want
    assert eval_loss == SeriesStats(2, -1.7e308, 0.0, 0.0, 0.0, -1.7e308, -1.7e308)
    running = RunningSummary()
    running.extend(array("d", [1.7e308]))
    running.summary()
    running.extend(array("d", [1.7e308]))  # folded one at a time, too
    assert running.summary() == want


def test_huge_losses_after_ordinary_ones_rescale_exactly():
    from arkor_cli_studio.stats import RunningSummary

    values = [1.0, 2.0, 1.7e308, 1.7e308]
    exact = [Fraction(v) for v in values]
    mean = sum(exact) / 4
    var = sum((x - mean) ** 2 for x in exact) / 3
    stddev = math.sqrt(float(var / Fraction(2) ** 1100)) * 2.0**550
    running = RunningSummary()
    running.extend(array("d", values[:2]))
    assert running.summary().mean == 1.5
    running.extend(array("d", values[2:]))
    for stats in (summarize(values), running.summary()):
        assert stats.mean == float(mean)
        assert close(stats.stddev, stddev, rel=1e-15)
        assert stats.variance == math.inf  # ~9.6e615: past the largest float
        assert stats.p90 == stats.p95 == 1.7e308
        assert stats.to_json()["variance"] is None  # JSON has no infinity


def test_opposite_huge_losses_overflow_only_where_the_answer_does():
    stats = summarize([1.7e308, -1.7e308])
    assert stats.mean == 0.0
    assert stats.variance == stats.stddev == stats.ci95_half_width == math.inf
    # p90 = a + 0.9 (b - a), where b - a itself is past the largest float
    assert close(stats.p90, 1.36e308, rel=1e-15) and close(stats.p95, 1.53e308, rel=1e-15)
    assert summarize([-1.7e308, -1.7e308, 1.0]).mean == float((Fraction(-1.7e308) * 2 + 1) / 3)
