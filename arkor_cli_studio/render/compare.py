"""`compare`'s picture: one chart with a curve per job, the statistics side
by side and the configuration keys that differ (pure: runs in, lines out).

The chart is drawn as `watch` draws its own: each curve is plotted by
asciichartpy on the same scale and the grids are overlaid, one colour per
job (training loss solid, eval loss dashed). Everything from the server
(names, ids, config values) is cleaned before it is shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import asciichartpy
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from arkor_cli_studio.compare import (
    METRIC_TITLES,
    METRICS,
    Metric,
    Run,
    bucket_columns,
    config_diff,
    winner,
)
from arkor_cli_studio.progress import format_step
from arkor_cli_studio.render.losschart import DASHED_SYMBOLS, y_scale
from arkor_cli_studio.render.stats import card_rows, format_value
from arkor_cli_studio.textsafe import clean_line

#: One colour per job, in the order the jobs were given (six at most).
PALETTE: Final = ("#2dd4bf", "#f472b6", "#f59e0b", "#60a5fa", "#a3e635", "#c084fc")
CHART_HEIGHT: Final = 14
UNSET: Final = "-"


def _fit(text: Text, width: int) -> Text:
    if text.cell_len > width:
        text.truncate(width, overflow="ellipsis")
    return text


def job_label(run: Run, width: int = 40) -> str:
    name = clean_line(run.name)
    ident = clean_line(run.id)
    label = name if name == ident else f"{name} ({ident})"
    return label if len(label) <= width else label[: width - 1] + "…"


def column_labels(runs: Sequence[Run], width: int = 18) -> list[str]:
    """Short column headings that tell the jobs apart: their names, else
    their ids (names that only differ past `width`), else their numbers."""

    def short(text: str) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    for labels in (
        [short(clean_line(run.name)) for run in runs],
        [short(clean_line(run.id)) for run in runs],
    ):
        if len(set(labels)) == len(labels):
            return labels
    return [f"job {i}" for i in range(1, len(runs) + 1)]


def legend_lines(runs: Sequence[Run], metric: Metric, width: int) -> list[Text]:
    """A line per job: its colour, its final and best values, its status and
    its name and id last (what a narrow terminal cuts first), in columns."""
    symbol = "╌╌" if metric == "eval_loss" else "──"
    best_run = winner(runs, metric)

    def at(point: tuple[float, float] | None, word: str) -> str:
        return f"{word} -" if point is None else f"{word} {point[1]:.4f} @{format_step(point[0])}"

    finals = [at(run.curves[metric].final, "final") for run in runs]
    bests = [at(run.curves[metric].best, "best") for run in runs]
    statuses = [clean_line(r.job.status) + ("" if r.complete else ", so far") for r in runs]
    widths = [max(map(len, column)) for column in (finals, bests, statuses)]
    lines = []
    for i, run in enumerate(runs):
        line = Text(f"{symbol} ", style=PALETTE[i])
        line.append(finals[i].ljust(widths[0]))
        line.append("  " + bests[i].ljust(widths[1]), style="dim")
        lowest = best_run is run and len(runs) > 1
        line.append("  ◀ lowest" if lowest else "          ", style="bold")
        line.append(f"  {statuses[i].ljust(widths[2])}  ", style="dim")
        line.append(job_label(run, 80), style=f"bold {PALETTE[i]}")
        lines.append(_fit(line, width))
    return lines


def compare_chart(runs: Sequence[Run], metric: Metric, width: int, height: int) -> list[Text]:
    """The curves of `metric`, placed by step on one x-axis, `height` rows
    of plot plus a line of step labels (nothing when no run has a point)."""
    curves = [run.curves[metric].points() for run in runs]
    values = [v for points in curves for _, v in points]
    steps = [s for points in curves for s, _ in points]
    scale = y_scale(values, width) if values and height >= 2 else None
    if scale is None:
        return []
    lo, hi, label_width, axis, columns = scale
    first, last = min(steps), max(steps)
    cfg = {
        "height": max(1, height - 1),
        "min": lo,
        "max": hi,
        "format": f"{{:>{label_width}.4f}} ",
        "offset": 3,
    }
    if metric == "eval_loss":
        cfg["symbols"] = DASHED_SYMBOLS
    grids: list[list[str] | None] = []
    for points in curves:
        series = bucket_columns(points, first, last, columns)
        if all(math.isnan(v) for v in series):
            grids.append(None)
            continue
        grids.append(asciichartpy.plot(series, cfg).split("\n"))
    base = next((g for g in grids if g is not None), None)
    if base is None:
        return []
    line_width = max(len(row) for g in grids if g is not None for row in g)
    lines = [_fit(_overlaid(grids, base, r, axis, line_width), width) for r in range(len(base))]
    left, right = f"step {format_step(first)}", f"step {format_step(last)}"
    gap = max(1, line_width - axis - len(left) - len(right))
    lines.append(_fit(Text(" " * axis + left + " " * gap + right, style="dim"), width))
    return lines


def _overlaid(
    grids: list[list[str] | None], base: list[str], r: int, axis: int, line_width: int
) -> Text:
    """Row `r` of every job's plot in one line, in the job's colour; later
    jobs are drawn over earlier ones where they cross. The axis is `base`'s."""
    rows = [g[r].ljust(line_width) if g is not None else None for g in grids]
    ref = base[r].ljust(line_width)
    line = Text(ref[:axis], style="dim")
    for c in range(axis, line_width):
        cell = None
        for i in range(len(rows) - 1, -1, -1):
            row = rows[i]
            if row is not None and c > axis and row[c] != " ":
                cell = (row[c], PALETTE[i])
                break
        if cell is not None:
            line.append(cell[0], style=cell[1])
        elif c == axis:
            line.append(ref[c], style="dim")
        else:
            line.append(" ")
    line.rstrip()
    return line


def stats_table(runs: Sequence[Run], metric: Metric, max_label: int = 18) -> Table:
    """The `stats` card of `metric` for each job, side by side (a column a job)."""
    table = Table(
        title=Text(METRIC_TITLES[metric], style="bold"),
        title_justify="left",
        show_edge=False,
        box=None,
        padding=(0, 1),
    )
    table.add_column("", style="dim", no_wrap=True)
    rows_by_run = [card_rows(run.summaries()[metric]) for run in runs]
    for i, label in enumerate(column_labels(runs, max_label)):
        table.add_column(
            Text(label, style=f"bold {PALETTE[i]}"),
            justify="right",
            no_wrap=True,
            overflow="ellipsis",
        )
    labels = [label for label, _ in next((rows for rows in rows_by_run if rows), [])]
    if not labels:
        table.add_row(Text("no points", style="dim"), *[UNSET for _ in runs])
        return table
    for index, label in enumerate(labels):
        table.add_row(label, *[rows[index][1] if rows else UNSET for rows in rows_by_run])
    finals = []
    for run in runs:
        final = run.curves[metric].final
        finals.append(UNSET if final is None else format_value(final[1]))
    table.add_row("Final", *finals)
    return table


def diff_table(runs: Sequence[Run], max_label: int = 18) -> RenderableType:
    rows = config_diff(runs)
    if not rows:
        return Text("Configuration: the same in every job.", style="dim")
    table = Table(
        title=Text("Configuration differences", style="bold"),
        title_justify="left",
        show_edge=False,
        box=None,
        padding=(0, 1),
    )
    table.add_column("key", style="dim", no_wrap=True, overflow="ellipsis", max_width=32)
    for i, label in enumerate(column_labels(runs, max_label)):
        table.add_column(
            Text(label, style=f"bold {PALETTE[i]}"),
            no_wrap=True,
            overflow="ellipsis",
            max_width=28,
        )
    for key, values in rows:
        table.add_row(clean_line(key), *[UNSET if v is None else clean_line(v) for v in values])
    return table


def compare_view(runs: Sequence[Run], metric: Metric, width: int) -> RenderableType:
    """The whole picture for a terminal `width` columns wide."""
    heading = Text(f"Comparing {len(runs)} jobs · ", style="bold")
    heading.append(METRIC_TITLES[metric], style="bold")
    heading.append(" by step", style="dim")
    parts: list[RenderableType] = [heading, *legend_lines(runs, metric, width)]
    chart = compare_chart(runs, metric, width, CHART_HEIGHT)
    if chart:
        parts.extend(chart)
    else:
        parts.append(Text(f"  No {METRIC_TITLES[metric].lower()} points in any job.", style="dim"))
    parts.append(Text(""))
    for m in METRICS:
        parts.append(stats_table(runs, m))
        parts.append(Text(""))
    parts.append(diff_table(runs))
    return Group(*parts)


def plain_lines(runs: Sequence[Run], metric: Metric) -> list[str]:
    """`compare --plain`: tab-free text tables for logs (no colour, no chart)."""
    out = [f"Comparing {len(runs)} jobs, metric {METRIC_TITLES[metric].lower()}"]
    best_run = winner(runs, metric)
    for run in runs:
        curve = run.curves[metric]
        final, best = curve.final, curve.best
        parts = [f"job {job_label(run, 60)}", f"status {clean_line(run.job.status)}"]
        if not run.complete:
            parts.append("so far")
        parts.append(
            "final -" if final is None else f"final {final[1]:.4f} @ step {format_step(final[0])}"
        )
        if best is not None:
            parts.append(f"best {best[1]:.4f} @ step {format_step(best[0])}")
        if best_run is run and len(runs) > 1:
            parts.append("lowest final")
        out.append("  ".join(parts))
    for m in METRICS:
        out.append("")
        out.extend(
            _text_table(
                METRIC_TITLES[m],
                [clean_line(run.id) for run in runs],
                _stats_rows(runs, m),
            )
        )
    diff = config_diff(runs)
    out.append("")
    if diff:
        out.extend(
            _text_table(
                "Configuration differences",
                [clean_line(run.id) for run in runs],
                [
                    (clean_line(k), [UNSET if v is None else clean_line(v) for v in vals])
                    for k, vals in diff
                ],
            )
        )
    else:
        out.append("Configuration: the same in every job.")
    return out


def _stats_rows(runs: Sequence[Run], metric: Metric) -> list[tuple[str, list[str]]]:
    rows_by_run = [card_rows(run.summaries()[metric]) for run in runs]
    labels = [label for label, _ in next((rows for rows in rows_by_run if rows), [])]
    rows = [
        (label, [r[i][1] if r else UNSET for r in rows_by_run]) for i, label in enumerate(labels)
    ]
    finals = []
    for run in runs:
        final = run.curves[metric].final
        finals.append(UNSET if final is None else format_value(final[1]))
    rows.append(("Final", finals))
    return rows


def _text_table(title: str, heads: list[str], rows: list[tuple[str, list[str]]]) -> list[str]:
    label_width = max([len(title), *(len(label) for label, _ in rows)])
    widths = [max([len(h), *(len(values[i]) for _, values in rows)]) for i, h in enumerate(heads)]
    lines = [
        title.ljust(label_width)
        + "  "
        + "  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))
    ]
    for label, values in rows:
        lines.append(
            label.ljust(label_width)
            + "  "
            + "  ".join(v.rjust(w) for v, w in zip(values, widths, strict=True))
        )
    return [line.rstrip() for line in lines]
