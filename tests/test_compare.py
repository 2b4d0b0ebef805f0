"""`compare` end to end against the loopback simulator, and its pure parts."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from arkor_cli_studio.compare import Curve, Run, align, bucket_columns, config_diff
from arkor_cli_studio.model import Job, parse_event
from tests.helpers import TOKEN


def at(seconds: int) -> str:
    return f"2026-03-01T12:{seconds // 60:02d}:{seconds % 60:02d}Z"


def run_job(sim, job_id, *, every, steps, evals_every=None, base=2.0, config=None, finish=True):
    """A job that logs its loss every `every` steps and an eval-only frame
    every `evals_every` steps (at the same step as a training frame)."""
    sim.add_job(job_id, name=f"run {job_id}", config=config or {"maxSteps": steps})
    sim.emit(job_id, "training.started", {}, timestamp=at(0))
    t = 1
    for step in range(every, steps + 1, every):
        sim.emit(job_id, "training.log", {"step": step, "loss": base / step}, timestamp=at(t))
        t += 1
        if evals_every and step % evals_every == 0:
            sim.emit(job_id, "training.log", {"step": step, "evalLoss": base / step + 0.1})
    if finish:
        sim.emit(job_id, "training.completed", {"artifacts": []}, timestamp=at(t))
        sim.end(job_id)


def test_json_aligns_by_step_and_matches_stats(arkor):
    sim = arkor.sim
    run_job(
        sim,
        "a",
        every=10,
        steps=40,
        evals_every=20,
        config={"model": "m", "learningRate": 1e-4, "loraR": 8, "maxSteps": 40},
    )
    run_job(
        sim,
        "b",
        every=5,
        steps=30,
        evals_every=15,
        base=3.0,
        config={"model": "m", "learningRate": 2e-4, "loraR": 8, "maxSteps": 30},
    )
    result = arkor.cli("compare", "a", "b", "--json")
    assert result.code == 0, result.stderr
    body = json.loads(result.stdout)
    loss = body["series"]["loss"]
    assert loss["steps"] == [5, 10, 15, 20, 25, 30, 40]
    assert loss["values"]["a"] == [None, 0.2, None, 0.1, None, 2 / 30, 0.05]
    assert loss["values"]["b"] == [0.6, 0.3, 0.2, 0.15, 0.12, 0.1, None]
    # Same-step frames are one point: the eval-only frame at step 20 joins it.
    evals = body["series"]["evalLoss"]
    assert evals["steps"] == [15, 20, 30, 40]
    assert evals["values"]["a"] == [None, pytest.approx(0.2), None, pytest.approx(0.15)]
    # Only the keys that differ: the learning rate and maxSteps, not the model nor loraR.
    diff = {row["key"]: row["values"] for row in body["configDiff"]}
    assert set(diff) == {"learningRate", "maxSteps"}
    assert diff["learningRate"] == {"a": "0.0001", "b": "0.0002"}
    # The stats of each job are exactly those of `stats --json`.
    for job in body["jobs"]:
        single = json.loads(arkor.cli("stats", job["id"], "--json").stdout)
        assert job["stats"]["loss"] == single["loss"]
        assert job["stats"]["evalLoss"] == single["evalLoss"]
        assert job["complete"] is True
    a = next(j for j in body["jobs"] if j["id"] == "a")
    assert a["finalLoss"] == {"step": 40, "value": 0.05}
    assert a["bestLoss"] == {"step": 40, "value": 0.05}
    assert body["metric"] == "loss"


def test_plain_tables_for_logs(arkor):
    run_job(arkor.sim, "a", every=1, steps=20, config={"learningRate": 1e-4})
    run_job(arkor.sim, "b", every=1, steps=20, base=1.0, config={"learningRate": 5e-4})
    result = arkor.cli("compare", "a", "b", "--plain")
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "\x1b" not in out
    lines = out.splitlines()
    assert lines[0] == "Comparing 2 jobs, metric training loss"
    assert "job run b (b)" in lines[2] and "lowest final" in lines[2]
    assert "lowest final" not in lines[1]
    assert any(
        line.startswith("Training loss") and line.split()[-2:] == ["a", "b"] for line in lines
    )
    points = next(line for line in lines if line.startswith("Points"))
    assert points.split()[-2:] == ["20", "20"]
    assert any(line.startswith("learningRate") and "0.0005" in line for line in lines)


def test_terminal_view_draws_one_curve_per_job(arkor):
    run_job(arkor.sim, "a", every=2, steps=100)
    run_job(arkor.sim, "b", every=2, steps=60, base=4.0)
    run_job(arkor.sim, "c", every=2, steps=80, base=3.0)
    result = arkor.cli("compare", "a", "b", "c", COLUMNS="100")
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "Comparing 3 jobs · Training loss by step" in out
    for job in ("run a (a)", "run b (b)", "run c (c)"):
        assert job in out
    assert "step 2" in out and "step 100" in out  # the x-axis is in steps
    assert "Configuration: the same in every job." in out or "Configuration differences" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_running_job_is_so_far(arkor):
    run_job(arkor.sim, "a", every=1, steps=10)
    run_job(arkor.sim, "b", every=1, steps=5, finish=False)
    result = arkor.cli("compare", "a", "b", "--json")
    assert result.code == 0, result.stderr
    jobs = {j["id"]: j for j in json.loads(result.stdout)["jobs"]}
    assert jobs["a"]["complete"] is True and jobs["b"]["complete"] is False
    assert "still running (b)" in result.stderr and "so far" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("a",), "2 to 6 job ids"),
        (("a", "b", "c", "d", "e", "f", "g"), "2 to 6 job ids"),
        (("a", "a"), "twice"),
        (("a", "b", "--metric", "lr"), "--metric"),
        (("a", "b", "--json", "--plain"), "choose one"),
    ],
)
def test_usage_errors(arkor, args, message):
    result = arkor.cli("compare", *args)
    assert result.code == 2
    assert message in result.stderr
    assert arkor.sim.requests == []  # nothing sent


def test_unknown_job_is_one_line(arkor):
    run_job(arkor.sim, "a", every=1, steps=3)
    result = arkor.cli("compare", "a", "nope")
    assert result.code == 1
    assert "nope" in result.stderr and "Traceback" not in result.output


def test_secrets_and_server_text_stay_safe(arkor):
    run_job(arkor.sim, "a", every=1, steps=3, config={"hfToken": "hf_SECRET_1", "x": 1})
    run_job(arkor.sim, "b", every=1, steps=3, config={"hfToken": "hf_SECRET_2", "x": "\x1b[31mred"})
    for mode in ((), ("--plain",), ("--json",)):
        result = arkor.cli("compare", "a", "b", *mode)
        assert result.code == 0, result.stderr
        assert "hf_SECRET" not in result.output and TOKEN not in result.output
        assert "\x1b" not in result.stdout


# ---- the pure parts ---------------------------------------------------------


def ev(name: str, payload: dict) -> object:
    return parse_event(name, "", json.dumps({"type": name, **payload}))


def test_run_merges_same_step_and_drops_stepless():
    run = Run(Job("j", "j", "completed"), True).feed_all(
        [
            ev("training.log", {"step": 10, "loss": 0.5}),
            ev("training.log", {"step": 10, "evalLoss": 0.7}),
            ev("training.log", {"loss": 0.1}),  # no step: not on the chart
            ev("training.log", {"step": 20, "loss": 0.4}),
            ev("training.log", {"step": 20, "loss": 0.3}),  # repeated: the last wins
        ]
    )
    assert run.curves["loss"].points() == [(10, 0.5), (20, 0.3)]
    assert run.curves["eval_loss"].points() == [(10, 0.7)]
    # The statistics count every numeric point, as `stats` does.
    loss, _ = run.series.summaries()
    assert loss.count == 4
    assert loss.mean == pytest.approx(np.mean([0.5, 0.1, 0.4, 0.3]))


def test_align_and_buckets():
    a, b = Run(Job("a", "a", "x"), True), Run(Job("b", "b", "x"), True)
    a.curves["loss"] = Curve({1.0: 1.0, 3.0: 3.0})
    b.curves["loss"] = Curve({2.0: 2.0})
    aligned = align([a, b], "loss")
    assert aligned.steps == [1.0, 2.0, 3.0]
    assert aligned.values == [[1.0, None, 3.0], [None, 2.0, None]]
    cols = bucket_columns([(0, 0.0), (10, 10.0)], 0, 20, 5)
    assert cols[0] == 0.0 and cols[2] == 10.0 and cols[1] == 5.0  # joined by a line
    assert math.isnan(cols[3]) and math.isnan(cols[4])  # after its last point: empty


def test_config_diff_nested_and_missing():
    jobs = [
        Job("a", "a", "x", config={"model": "m1", "lora": {"r": 8, "alpha": 16}}),
        Job("b", "b", "x", config={"model": "m2", "lora": {"r": 16, "alpha": 16}, "seed": 3}),
    ]
    rows = dict(config_diff([Run(j, True) for j in jobs]))
    assert rows == {"Base model": ["m1", "m2"], "lora.r": ["8", "16"], "seed": [None, "3"]}
