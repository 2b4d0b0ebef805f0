"""`stats --last 2000` against an independent port of Studio's own code.

The port below follows `JobDetail.tsx` (which frames the chart keeps: a
finite step and a finite loss or evalLoss, the last 2,000), `LossChart.tsx`
(`unified`: frames of one step merged, later values winning, sorted by step)
and `stats.ts` (`summarize()`: plain left-to-right sums, the two-pass
variance, `tCritical95`, `percentileFromSorted`), line by line, with
JavaScript's number rules. It shares no code with arkor-studio.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from tests.helpers import run_inprocess

MAX_LOSS_POINTS = 2000
T_95 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201,
    2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074,
    2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
]  # fmt: skip


def js_finite_number(value: Any) -> float | None:
    """`typeof v === "number" && Number.isFinite(v)` after JSON.parse."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)  # JSON.parse: an integer too big overflows to Infinity
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def studio_points(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """JobDetail's `training.log` listener: the chart's retained frames."""
    points: list[dict[str, Any]] = []
    for d in frames:
        step = d.get("step")
        if isinstance(step, bool) or not isinstance(step, int | float):
            continue
        if js_finite_number(step) is None:
            continue
        safe_loss = js_finite_number(d.get("loss"))
        safe_eval = js_finite_number(d.get("evalLoss"))
        if safe_loss is None and safe_eval is None:
            continue
        nxt = [*points, {"step": step, "loss": safe_loss, "evalLoss": safe_eval}]
        points = nxt[len(nxt) - MAX_LOSS_POINTS :] if len(nxt) > MAX_LOSS_POINTS else nxt
    return points


def unified(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """LossChart's `unified` memo."""
    by_step: dict[float, dict[str, Any]] = {}
    for p in points:
        finite_loss = js_finite_number(p["loss"])
        finite_eval = js_finite_number(p["evalLoss"])
        if finite_loss is None and finite_eval is None:
            continue
        existing = by_step.get(p["step"])
        if existing is not None:
            if finite_loss is not None:
                existing["loss"] = finite_loss
            if finite_eval is not None:
                existing["evalLoss"] = finite_eval
        else:
            by_step[p["step"]] = {"step": p["step"], "loss": finite_loss, "evalLoss": finite_eval}
    return sorted(by_step.values(), key=lambda p: p["step"])


def t_critical_95(df: int) -> float:
    if df < 1:
        return math.nan
    if df <= 30:
        return T_95[df - 1]
    return 1.96


def percentile_from_sorted(ordered: list[float], q: float) -> float:
    n = len(ordered)
    if n == 0:
        return math.nan
    if n == 1:
        return ordered[0]
    clamped = min(1, max(0, q))
    rank = clamped * (n - 1)
    lo = math.floor(rank)
    hi = math.ceil(rank)
    if lo == hi:
        return ordered[lo]
    frac = rank - lo
    return ordered[lo] * (1 - frac) + ordered[hi] * frac


def summarize(values: list[float]) -> dict[str, Any]:
    """stats.ts `summarize()`."""
    n = len(values)
    if n == 0:
        return {"count": 0}
    total = 0.0
    for v in values:
        total += v
    m = total / n
    if n == 1:
        varv = 0.0
    else:
        sq = 0.0
        for v in values:
            d = v - m
            sq += d * d
        varv = sq / (n - 1)
    sd = math.sqrt(varv)
    ci_half = 0 if n <= 1 else t_critical_95(n - 1) * (sd / math.sqrt(n))
    ordered = sorted(values)
    return {
        "count": n,
        "mean": m,
        "variance": varv,
        "stddev": sd,
        "ci95HalfWidth": ci_half,
        "p90": percentile_from_sorted(ordered, 0.9),
        "p95": percentile_from_sorted(ordered, 0.95),
    }


def studio_cards(frames: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    chart = unified(studio_points(frames))
    train = [p["loss"] for p in chart if js_finite_number(p["loss"]) is not None]
    evals = [p["evalLoss"] for p in chart if js_finite_number(p["evalLoss"]) is not None]
    return summarize(train), summarize(evals)


# --------------------------------------------------------------------------
# Tricky streams


def tricky_stream(seed: int, frames: int) -> list[dict[str, Any]]:
    """training.log payloads: eval-only frames, repeated and out-of-order
    steps, frames without a step (or with a non-numeric one), frames with
    neither number, non-finite and boolean values, float steps."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    step = 0
    for _ in range(frames):
        roll = rng.random()
        loss = round(rng.lognormvariate(0, 0.6), rng.choice([3, 6, 12]))
        if roll < 0.55:
            step += 1
            out.append({"step": step, "loss": loss})
        elif roll < 0.65:
            out.append({"step": step, "evalLoss": loss + 0.1})  # eval-only, same step
        elif roll < 0.72:
            out.append({"step": max(0, step - rng.randint(0, 30)), "loss": loss})  # repeated
        elif roll < 0.78:
            out.append({"loss": loss / 100})  # no step: not on the chart
        elif roll < 0.81:
            out.append({"step": str(step), "loss": loss})  # a step that is not a number
        elif roll < 0.85:
            out.append({"step": step, "loss": None, "evalLoss": None})  # neither
        elif roll < 0.88:
            out.append({"step": step, "loss": 10**400, "evalLoss": True})  # overflow, bool
        elif roll < 0.92:
            out.append({"step": step + 0.5, "loss": loss, "evalLoss": loss * 1.1})  # float step
        else:
            step += 1
            out.append({"step": step, "loss": loss, "evalLoss": loss + rng.random()})
    return out


def as_ndjson(frames: list[dict[str, Any]], job_id: str = "j") -> str:
    lines = []
    for i, data in enumerate(frames):
        payload = {"type": "training.log", "jobId": job_id, **data}
        lines.append(json.dumps({"event": "training.log", "id": str(i), "data": payload}))
    lines.append(json.dumps({"event": "end", "id": "end", "data": {}}))
    return "\n".join(lines) + "\n"


def assert_same_card(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert ours["count"] == theirs["count"]
    if theirs["count"] == 0:
        assert ours["mean"] is None
        return
    for key in ("mean", "ci95HalfWidth", "stddev", "variance", "p90", "p95"):
        assert math.isclose(ours[key], theirs[key], rel_tol=1e-12, abs_tol=1e-12), (
            key,
            ours[key],
            theirs[key],
        )


@pytest.mark.parametrize(("seed", "frames"), [(1, 150), (2, 2600), (3, 5000), (4, 1999)])
def test_last_2000_is_studios_cards_to_1e_12(tmp_path, seed, frames):
    stream = tricky_stream(seed, frames)
    path = tmp_path / "run.ndjson"
    path.write_text(as_ndjson(stream))
    result = run_inprocess(
        ["stats", "--file", str(path), "--last", "2000", "--json"], {"HOME": str(tmp_path)}
    )
    assert result.code == 0, result.stderr
    body = json.loads(result.stdout)
    train, evals = studio_cards(stream)
    assert train["count"] > 0 and evals["count"] > 0
    assert_same_card(body["loss"], train)
    assert_same_card(body["evalLoss"], evals)


def test_the_whole_run_is_not_studios_window_and_says_so(tmp_path):
    stream = tricky_stream(5, 3000)
    path = tmp_path / "run.ndjson"
    path.write_text(as_ndjson(stream))
    env = {"HOME": str(tmp_path)}
    whole = json.loads(run_inprocess(["stats", "--file", str(path), "--json"], env).stdout)
    train, _ = studio_cards(stream)
    assert whole["window"] == "run" and whole["loss"]["count"] != train["count"]


def test_chart_window_matches_the_port_directly():
    from arkor_cli_studio.chart import ChartWindow
    from arkor_cli_studio.model import Event

    for seed in range(10, 20):
        stream = tricky_stream(seed, 800)
        window = ChartWindow(500)
        for i, data in enumerate(stream):
            window.feed(Event("training.log", str(i), {"type": "training.log", **data}))
        loss, evals = window.summaries()
        kept = unified(studio_points(stream)[-500:])
        # (the port with a 500-frame window: its selection, then stats.ts)
        port_train = summarize([p["loss"] for p in kept if p["loss"] is not None])
        port_eval = summarize([p["evalLoss"] for p in kept if p["evalLoss"] is not None])
        assert_same_card(loss.to_json(), port_train)
        assert_same_card(evals.to_json(), port_eval)
        assert [(p.step, p.loss, p.eval_loss) for p in window.points()] == [
            (p["step"], p["loss"], p["evalLoss"]) for p in kept
        ]
