"""The job summary in Markdown: what `$GITHUB_STEP_SUMMARY` and `--summary-file` get.

Pure: an `Outcome`, the `RunFacts` and the loss statistics in, Markdown
text out. Server text (the job's name and id, the error, artifact paths,
metric names) is cleaned to one line and every ASCII punctuation mark in
it is backslash-escaped, so it reads as the text it is: never a link, an
image, HTML, a table cell break or a heading. The loss curve is a Mermaid
`xychart-beta` block (GitHub renders it) of at most ~100 points; nothing
from the server goes into it but numbers.
"""

from __future__ import annotations

import math
import re
from typing import Final

from arkor_cli_studio.model import format_duration
from arkor_cli_studio.progress import format_step
from arkor_cli_studio.render.stats import EVAL_TITLE, TRAINING_TITLE, card_rows
from arkor_cli_studio.runfacts import CHART_POINTS, LossCurve, Outcome, RunFacts
from arkor_cli_studio.stats import SeriesStats
from arkor_cli_studio.textsafe import clean_line

#: What Markdown (GitHub's, with HTML, emoji, mentions and autolinks) reads
#: as more than text anywhere in a line; `-`, `+`, `.`, `=` only at its start.
_SPECIAL: Final = re.compile(r"""([\\`*_{}\[\]<>()#!|~&@:"'$^])""")
_LEADING: Final = re.compile(r"^([-+.=]|\d+(?=[.)]))")
MARKS: Final = {
    "completed": "✅",
    "failed": "❌",
    "cancelled": "⏹️",
}


def md_text(text: str) -> str:
    """Server text as literal Markdown text on one line."""
    text = _SPECIAL.sub(r"\\\1", clean_line(text).strip())
    match = _LEADING.match(text)
    if match is not None:
        end = match.end()
        text = text[:end] + "\\" + text[end:] if match.group(1)[0].isdigit() else "\\" + text
    return text


def _value(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.4f}"


def _at(value: float | None, step: float | None) -> str:
    text = _value(value)
    if value is not None and step is not None:
        text += f" (step {format_step(step)})"
    return text


def summary_markdown(
    outcome: Outcome,
    facts: RunFacts,
    loss_stats: SeriesStats,
    eval_stats: SeriesStats,
) -> str:
    """The whole summary, ending with a newline."""
    lines = [
        *_headline(outcome),
        *_facts_table(outcome, facts),
        *_statistics(loss_stats, eval_stats),
        *_curves(facts),
        *_metrics(facts),
        *_artifacts(facts),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _headline(outcome: Outcome) -> list[str]:
    mark = MARKS.get(outcome.outcome, "⚠️")
    lines = [f"## {mark} {md_text(outcome.name)}: {md_text(outcome.outcome)}", ""]
    if outcome.outcome == "failed":
        lines += [f"> **Training failed:** {md_text(outcome.error or 'unknown error')}", ""]
    return lines


def _facts_table(outcome: Outcome, facts: RunFacts) -> list[str]:
    steps = "-" if outcome.step is None else format_step(outcome.step)
    if outcome.total_steps is not None:
        steps += f" / {format_step(outcome.total_steps)}"
    rows = [
        ("Job", md_text(outcome.name)),
        ("Job id", md_text(outcome.job_id)),
        ("Outcome", f"{md_text(outcome.outcome)} (exit {outcome.exit_code})"),
        ("Duration", format_duration(outcome.duration) if outcome.duration is not None else "-"),
        ("Steps", steps),
        ("Final loss", _value(outcome.loss)),
        ("Best loss", _at(facts.best_loss, facts.best_loss_step)),
        ("Final eval loss", _value(outcome.eval_loss)),
        ("Best eval loss", _at(facts.best_eval_loss, facts.best_eval_step)),
        ("Checkpoints", str(facts.checkpoints)),
    ]
    return ["| | |", "| --- | --- |", *(f"| {label} | {value} |" for label, value in rows), ""]


def _statistics(loss_stats: SeriesStats, eval_stats: SeriesStats) -> list[str]:
    loss_rows, eval_rows = dict(card_rows(loss_stats)), dict(card_rows(eval_stats))
    if not loss_rows and not eval_rows:
        return []
    lines = [
        "### Loss statistics",
        "",
        f"| | {TRAINING_TITLE} | {EVAL_TITLE} |",
        "| --- | ---: | ---: |",
    ]
    for label in list(loss_rows) or list(eval_rows):
        cells = (loss_rows.get(label, "-"), eval_rows.get(label, "-"))
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    return [*lines, ""]


def _curves(facts: RunFacts) -> list[str]:
    charts = [
        chart
        for chart in (
            mermaid_xychart(facts.loss_curve, TRAINING_TITLE),
            mermaid_xychart(facts.eval_curve, EVAL_TITLE),
        )
        if chart is not None
    ]
    if not charts:
        return []
    lines = ["### Loss curve", ""]
    for chart in charts:
        lines += ["```mermaid", *chart, "```", ""]
    return lines


def _metrics(facts: RunFacts) -> list[str]:
    if not facts.metrics:
        return []
    lines = ["### Final metrics", "", "| Metric | Value |", "| --- | ---: |"]
    lines += [f"| {md_text(key)} | {_number(value)} |" for key, value in facts.metrics.items()]
    return [*lines, ""]


def _artifacts(facts: RunFacts) -> list[str]:
    if not facts.artifact_count:
        return []
    lines = [f"### Artifacts ({facts.artifact_count})", ""]
    lines += [f"- {md_text(path)}" for path in facts.artifacts]
    more = facts.artifact_count - len(facts.artifacts)
    if more > 0:
        lines.append(f"- … and {more} more")
    return [*lines, ""]


def _number(value: float) -> str:
    return f"{value:.6g}"


def _chart_number(value: float) -> str:
    """A number as xychart reads it: digits and a point, never an exponent."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def mermaid_xychart(curve: LossCurve, title: str, *, limit: int = CHART_POINTS) -> list[str] | None:
    """The lines of an `xychart-beta` diagram of the curve (without the
    fences), or None under two points. The x axis is the step range; the
    line's points are spread evenly over it, as the buckets are."""
    points = [(s, v) for s, v in curve.points(limit) if math.isfinite(v) and math.isfinite(s)]
    if len(points) < 2:
        return None
    values = [v for _, v in points]
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or max(abs(high) * 0.1, 0.1)
    y_min, y_max = low - pad, high + pad
    if low >= 0:
        y_min = max(0.0, y_min)
    # (4 decimals, outwards: every value stays inside the axis)
    y_min, y_max = math.floor(y_min * 1e4) / 1e4, math.ceil(y_max * 1e4) / 1e4
    first, last = curve.first_step or points[0][0], points[-1][0]
    if last <= first:
        last = first + 1
    return [
        "xychart-beta",
        f'    title "{title}"',
        f'    x-axis "step" {_chart_number(first)} --> {_chart_number(last)}',
        f'    y-axis "loss" {_chart_number(y_min)} --> {_chart_number(y_max)}',
        f"    line [{', '.join(_chart_number(v) for v in values)}]",
    ]
