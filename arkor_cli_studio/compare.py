"""`compare`: several jobs' loss curves aligned by step, their statistics
and the configuration keys that differ (pure: events and configs in, plain
values out; no I/O, no terminals).

A run's curve is built as Studio's chart builds its points: a `training.log`
frame without a numeric step is left out, and frames of the same step are
one point (the last value of each series at that step wins). Curves are
then aligned on the union of their steps: a job that did not log a step
has no value there (null in JSON, a gap or a joining line on the chart).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from arkor_cli_studio.jobinfo import HIDDEN, config_value, is_secret_key
from arkor_cli_studio.model import LOG, Event, Job, base_model, describe_dataset
from arkor_cli_studio.stats import ChartSeries, SeriesStats

Metric = Literal["loss", "eval_loss"]
METRICS: Final[tuple[Metric, ...]] = ("loss", "eval_loss")
#: The JSON / API spelling of each metric.
METRIC_KEYS: Final[dict[Metric, str]] = {"loss": "loss", "eval_loss": "evalLoss"}
METRIC_TITLES: Final[dict[Metric, str]] = {"loss": "Training loss", "eval_loss": "Eval loss"}
MIN_JOBS: Final = 2
MAX_JOBS: Final = 6
#: Labels for the metadata keys the diff compares besides `config`'s own.
MODEL_KEY: Final = "Base model"
DATASET_KEY: Final = "Dataset"


@dataclass
class Curve:
    """One metric of one run: values by step, in step order once `finish`ed."""

    by_step: dict[float, float] = field(default_factory=dict)

    def add(self, step: float, value: float) -> None:
        # Re-inserting moves the step to the end only if popped first; a
        # dict keeps first-insertion order, so ordering is done by `steps()`.
        self.by_step[step] = value

    def steps(self) -> list[float]:
        return sorted(self.by_step)

    def points(self) -> list[tuple[float, float]]:
        return [(s, self.by_step[s]) for s in self.steps()]

    @property
    def final(self) -> tuple[float, float] | None:
        if not self.by_step:
            return None
        last = max(self.by_step)
        return last, self.by_step[last]

    @property
    def best(self) -> tuple[float, float] | None:
        """(step, value) of the lowest value (the earliest step on a tie)."""
        if not self.by_step:
            return None
        step = min(self.by_step, key=lambda s: (self.by_step[s], s))
        return step, self.by_step[step]


@dataclass
class Run:
    """One job of the comparison: its detail, its curves and its statistics."""

    job: Job
    complete: bool
    curves: dict[Metric, Curve] = field(default_factory=lambda: {m: Curve() for m in METRICS})
    series: ChartSeries = field(default_factory=ChartSeries)

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def name(self) -> str:
        return self.job.name or self.job.id

    def feed(self, event: Event) -> None:
        """Take one event of the job's history."""
        if event.name != LOG:
            return
        self.series.feed(event)  # the statistics: every numeric point, as `stats`
        step = event.step
        if step is None:
            return  # Studio's chart drops a frame without a numeric step
        loss, eval_loss = event.loss, event.eval_loss
        if loss is not None:
            self.curves["loss"].add(step, loss)
        if eval_loss is not None:
            self.curves["eval_loss"].add(step, eval_loss)

    def feed_all(self, events: Iterable[Event]) -> Run:
        for event in events:
            self.feed(event)
        return self

    def summaries(self) -> dict[Metric, SeriesStats]:
        loss, eval_loss = self.series.summaries()
        return {"loss": loss, "eval_loss": eval_loss}


@dataclass(frozen=True)
class Aligned:
    """The union of the runs' steps and each run's value at each (or None)."""

    steps: list[float]
    values: list[list[float | None]]  # one list per run, len(steps) each


def align(runs: Sequence[Run], metric: Metric) -> Aligned:
    steps = sorted({s for run in runs for s in run.curves[metric].by_step})
    values = [[run.curves[metric].by_step.get(s) for s in steps] for run in runs]
    return Aligned(steps, values)


def bucket_columns(
    curve_points: Sequence[tuple[float, float]], lo: float, hi: float, columns: int
) -> list[float]:
    """One value per chart column (NaN where the curve has none): the points
    are placed by step on [lo, hi] and each column shows the mean of the
    points that fall in it; the columns between two known ones are joined
    by a straight line, so a sparse eval curve reads as a line. Columns
    before the curve's first or after its last point stay empty."""
    nan = math.nan
    if columns <= 0:
        return []
    sums = [0.0] * columns
    counts = [0] * columns
    span = hi - lo
    for step, value in curve_points:
        column = 0 if span <= 0 else int((step - lo) / span * (columns - 1) + 0.5)
        column = min(max(column, 0), columns - 1)
        sums[column] += value
        counts[column] += 1
    out = [sums[i] / counts[i] if counts[i] else nan for i in range(columns)]
    known = [i for i in range(columns) if counts[i]]
    for a, b in itertools.pairwise(known):
        for i in range(a + 1, b):
            out[i] = out[a] + (out[b] - out[a]) * (i - a) / (b - a)
    return out


# --------------------------------------------------------------------------
# The configuration keys that differ


def flat_config(job: Job) -> dict[str, str]:
    """The job's configuration as dotted keys -> display text (unset keys
    left out; secret-looking keys read `(hidden)`); the base model and the
    dataset under readable names first, as `show` labels them."""
    config = job.config if isinstance(job.config, dict) else {}
    flat: dict[str, str] = {}
    model = base_model(config)
    if model is not None:
        flat[MODEL_KEY] = model
    dataset = describe_dataset(config)
    if dataset is not None:
        flat[DATASET_KEY] = dataset
    skip = {"datasetSource", "dataset"} if dataset is not None else set()
    if model is not None:
        skip.add("model")

    def walk(prefix: str, value: Any, depth: int) -> None:
        if is_secret_key(prefix.rsplit(".", 1)[-1]) and value not in (None, ""):
            flat[prefix] = HIDDEN
            return
        if isinstance(value, dict) and value and depth < 4:
            for key, inner in value.items():
                walk(f"{prefix}.{key}", inner, depth + 1)
            return
        text = config_value(value)
        if text is not None:
            flat[prefix] = text

    for key, value in config.items():
        if key in skip:
            continue
        walk(str(key), value, 1)
    return flat


def config_diff(runs: Sequence[Run]) -> list[tuple[str, list[str | None]]]:
    """The keys whose values are not the same in every run, as (key, values
    per run; None = not set), in the order the keys first appear."""
    flats = [flat_config(run.job) for run in runs]
    keys: list[str] = []
    seen: set[str] = set()
    for flat in flats:
        for key in flat:
            if key not in seen:
                seen.add(key)
                keys.append(key)
    rows = []
    for key in keys:
        values = [flat.get(key) for flat in flats]
        if len(set(values)) > 1:
            rows.append((key, values))
    return rows


# --------------------------------------------------------------------------
# JSON


def _num(value: float | None) -> float | int | None:
    if value is None or not math.isfinite(value):
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def compare_json(runs: Sequence[Run], metric: Metric) -> dict[str, Any]:
    """`compare --json`: the runs, the aligned series of both metrics, the
    statistics per run and the configuration keys that differ."""
    series: dict[str, Any] = {}
    for m in METRICS:
        aligned = align(runs, m)
        series[METRIC_KEYS[m]] = {
            "steps": [_num(s) for s in aligned.steps],
            "values": {
                run.id: [_num(v) for v in vals]
                for run, vals in zip(runs, aligned.values, strict=True)
            },
        }
    jobs = []
    for run in runs:
        summaries = run.summaries()
        entry: dict[str, Any] = {
            "id": run.id,
            "name": run.name,
            "status": run.job.status,
            "complete": run.complete,
            "stats": {METRIC_KEYS[m]: summaries[m].to_json() for m in METRICS},
        }
        for m in METRICS:
            final, best = run.curves[m].final, run.curves[m].best
            key = METRIC_KEYS[m]
            entry[f"final{key[0].upper()}{key[1:]}"] = (
                None if final is None else {"step": _num(final[0]), "value": _num(final[1])}
            )
            entry[f"best{key[0].upper()}{key[1:]}"] = (
                None if best is None else {"step": _num(best[0]), "value": _num(best[1])}
            )
        jobs.append(entry)
    return {
        "metric": METRIC_KEYS[metric],
        "jobs": jobs,
        "series": series,
        "configDiff": [
            {"key": key, "values": dict(zip([r.id for r in runs], values, strict=True))}
            for key, values in config_diff(runs)
        ],
    }


def winner(runs: Sequence[Run], metric: Metric) -> Run | None:
    """The run with the lowest final value of `metric` (None if none has one)."""
    scored = [(run.curves[metric].final, i) for i, run in enumerate(runs)]
    best = [(final[1], i) for final, i in scored if final is not None]
    if not best:
        return None
    return runs[min(best)[1]]
