"""The job summary's Markdown and its Mermaid loss chart; the final record.

Golden files: the summary of the demo's completed and failed runs (fixed
times); regenerate with ARKOR_UPDATE_GOLDEN=1 and read the diff.
"""

from __future__ import annotations

import dataclasses
import math
import re

import pytest

from arkor_cli_studio.demo import Scenario
from arkor_cli_studio.render.summary import md_text, mermaid_xychart, summary_markdown
from arkor_cli_studio.runfacts import CURVE_CAP, LossCurve, RunFacts, outcome_of, summary_record
from arkor_cli_studio.stats import ChartSeries
from tests import xychart
from tests.ci_runs import DemoRun, demo_run, new_view
from tests.test_github import golden

MERMAID = re.compile(r"```mermaid\n(.*?)```", re.S)


def summary_of(run: DemoRun) -> str:
    view = new_view(run)
    facts, series = RunFacts(), ChartSeries()
    for event in run.events:
        view.apply(event)
        facts.observe(event)
        series.feed(event)
    view.apply_job(run.final)
    outcome = outcome_of(view, view.status, 1 if run.scenario.fail else 0, run.ended_at)
    return summary_markdown(outcome, facts, *series.summaries())


def charts(markdown: str) -> list[xychart.Chart]:
    return [xychart.check(block) for block in MERMAID.findall(markdown)]


def test_golden_summary_of_a_completed_run() -> None:
    text = summary_of(demo_run(Scenario()))
    golden("summary-completed.md", text)
    assert text.startswith("## ✅ smoltalk-chat-qwen2.5-0.5b: completed\n")
    parts = [
        "| Job id | cm9x2k7q40001demo8r3tv5wz |",
        "| Outcome | completed (exit 0) |",
        "| Duration | 3m50s |",
        "| Steps | 120 / 120 |",
        "### Loss statistics",
        "| Mean ± 95% CI |",
        "### Artifacts (4)",
        "- final/adapter\\_model.safetensors",
    ]
    for part in parts:
        assert part in text, part
    training, evals = charts(text)
    assert training.title == "Training loss" and evals.title == "Eval loss"


def test_golden_summary_of_a_failed_run() -> None:
    text = summary_of(demo_run(Scenario(fail=True)))
    golden("summary-failed.md", text)
    assert text.startswith("## ❌ smoltalk-chat-qwen2.5-0.5b: failed\n")
    assert "> **Training failed:** CUDA out of memory." in text
    assert "| Steps | 72 / 120 |" in text
    assert "### Artifacts" not in text
    assert len(charts(text)) == 2


def test_a_two_hour_run_charts_about_a_hundred_points() -> None:
    text = summary_of(demo_run(Scenario(steps=4800)))
    training, evals = charts(text)
    assert 50 <= len(training.lines[0]) <= 100
    assert training.x_range == (1.0, 4800.0)
    assert len(evals.lines[0]) <= 100


def test_the_checker_rejects_what_mermaid_rejects() -> None:
    """(So that the checks above can fail.)"""
    good = (
        'xychart-beta\n    title "T"\n    x-axis "step" 1 --> 9\n'
        '    y-axis "loss" 0 --> 2\n    line [1, 1.5]\n'
    )
    xychart.check(good)
    bad = [
        good.replace("1.5", "1.5e-3"),  # no exponents in its numbers
        good.replace("line [1, 1.5]", "line [1, 1.5"),
        good.replace("xychart-beta", "xy-chart"),
        good.replace("-->", "->"),
        good.replace('"T"', '"T" "U"'),
        good.replace("line [1, 1.5]", "line []"),
        good.replace("0 --> 2", "2 --> 0"),  # (renders upside down: refused by check)
        good.replace("1.5]", "7]"),  # outside the y range
    ]
    for text in bad:
        with pytest.raises(xychart.XYChartError):
            xychart.check(text)


def test_chart_numbers_never_use_an_exponent() -> None:
    curve = LossCurve()
    for step, value in enumerate([1e-7, 3e-6, 2.5e-5, 1e6, 123456789.0], 1):
        curve.add(float(step), value)
    lines = mermaid_xychart(curve, "Training loss")
    assert lines is not None
    xychart.check("\n".join(lines))
    assert "e" not in lines[-1].split("[")[1]


def test_no_chart_under_two_points() -> None:
    curve = LossCurve()
    assert mermaid_xychart(curve, "x") is None
    curve.add(1.0, 0.5)
    assert mermaid_xychart(curve, "x") is None


def test_loss_curve_memory_is_bounded_and_means_are_exact() -> None:
    curve = LossCurve(cap=8)
    for step in range(1, 1001):
        curve.add(float(step), float(step))
    assert len(curve) <= 9
    points = curve.points(4)
    assert len(points) <= 4
    # Every point is the mean of the consecutive values it stands for.
    assert points[-1][0] == 1000.0
    big = LossCurve()
    for step in range(1, 200_001):
        big.add(float(step), math.sin(step))
    assert len(big) <= CURVE_CAP
    assert len(big.points()) <= 100


def test_the_mean_of_each_bucket() -> None:
    curve = LossCurve(cap=4)
    for step, value in enumerate([1.0, 3.0, 5.0, 7.0, 9.0, 11.0], 1):
        curve.add(float(step), value)
    # cap 4: [1],[3],[5],[7] -> merged to [1,3],[5,7] (stride 2); then [9,11]
    assert curve.points(10) == [(2.0, 2.0), (4.0, 6.0), (6.0, 10.0)]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<img src=x onerror=alert(1)>", r"\<img src=x onerror=alert\(1\)\>"),
        ("[click](https://evil.example)", r"\[click\]\(https\://evil.example\)"),
        ("a | b", r"a \| b"),
        ("# heading", r"\# heading"),
        ("- item", r"\- item"),
        ("1. item", r"1\. item"),
        ("**bold** `code` @team :tada:", r"\*\*bold\*\* \`code\` \@team \:tada\:"),
        ("line\nbreak", "line break"),
        ("\x1b[31mred\x1b[0m", "red"),
    ],
)
def test_server_text_is_literal_markdown(text: str, shown: str) -> None:
    assert md_text(text) == shown


def test_a_hostile_name_stays_in_its_cell() -> None:
    run = demo_run(Scenario(steps=20))
    run.final = dataclasses.replace(run.final, name="x | y\n## <b>z</b>")
    text = summary_of(run)
    row = next(line for line in text.splitlines() if line.startswith("| Job |"))
    assert row == r"| Job | x \| y \#\# \<b\>z\</b\> |"


def test_summary_record() -> None:
    run = demo_run(Scenario())
    view = new_view(run)
    facts = RunFacts()
    for event in run.events:
        view.apply(event)
        facts.observe(event)
    view.apply_job(run.final)
    record = summary_record(outcome_of(view, "completed", 0, run.ended_at), facts)
    assert record == {
        "event": "summary",
        "jobId": "cm9x2k7q40001demo8r3tv5wz",
        "name": "smoltalk-chat-qwen2.5-0.5b",
        "outcome": "completed",
        "status": "completed",
        "exitCode": 0,
        "durationSeconds": 230.245,
        "step": 120,
        "totalSteps": 120,
        "loss": 0.443,
        "evalLoss": 0.5957,
        "artifacts": 4,
        "reason": None,
        "bestLoss": 0.4339,
        "bestEvalLoss": 0.5915,
        "checkpoints": 3,
    }
    # The fields of `wait --json`'s record come first, in its order.
    assert list(record)[:13] == [
        "event", "jobId", "name", "outcome", "status", "exitCode", "durationSeconds",
        "step", "totalSteps", "loss", "evalLoss", "artifacts", "reason",
    ]  # fmt: skip
