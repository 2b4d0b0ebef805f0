"""The loss chart's rows are built a run of cells at a time (one span per
style run, not one per cell: the live frame is drawn ~10 times a second).
Each row must show exactly what the cell-by-cell reference showed: every
character with the same style, for charts with and without eval points,
markers, spikes and a cursor anywhere, column 0 included."""

from __future__ import annotations

import io
import itertools
import math
import random

import asciichartpy
import pytest
from rich.console import Console
from rich.text import Text

from arkor_cli_studio.chart import ChartPoint
from arkor_cli_studio.render.fit import fit
from arkor_cli_studio.render.losschart import (
    CURSOR_MARK,
    DASHED_SYMBOLS,
    PINK,
    TEAL,
    chart_geometry,
    loss_chart,
    place_by_step,
)


def _interpolate(series: list[float]) -> list[float]:
    known = [i for i, v in enumerate(series) if not math.isnan(v)]
    out = list(series)
    for a, b in itertools.pairwise(known):
        for i in range(a + 1, b):
            out[i] = series[a] + (series[b] - series[a]) * (i - a) / (b - a)
    return out


def reference_chart(
    points: list[ChartPoint], width: int, height: int, cursor: float | None = None
) -> list[Text]:
    """The chart as it was drawn before, one `Text.append` per cell."""
    geometry = chart_geometry(points, width)
    if geometry is None or height < 2:
        return []
    lo, hi, label_width, axis = geometry.lo, geometry.hi, geometry.label_width, geometry.axis
    fmt = f"{{:>{label_width}.4f}} "
    train_values, evals, marks = place_by_step(points, geometry)
    last_col = max(
        (
            i
            for i in range(geometry.columns)
            if not (math.isnan(train_values[i]) and math.isnan(evals[i]))
        ),
        default=0,
    )
    train = _interpolate(train_values)[: last_col + 1]
    evals_line = _interpolate(evals)[: last_col + 1]
    cfg_height = max(1, height - 1)

    def plot_rows(h: int) -> int:
        ratio = h / (hi - lo)
        return math.ceil(hi * ratio) - math.floor(lo * ratio) + 1

    while cfg_height > 1 and plot_rows(cfg_height) > height:
        cfg_height -= 1
    cfg = {"height": cfg_height, "min": lo, "max": hi, "format": fmt, "offset": 3}
    grids: list[list[str] | None] = []
    for series, symbols in ((train, None), (evals_line, DASHED_SYMBOLS)):
        if all(math.isnan(v) for v in series):
            grids.append(None)
            continue
        text = asciichartpy.plot(series, {**cfg, **({"symbols": symbols} if symbols else {})})
        grids.append(text.split("\n"))
    base = next(g for g in grids if g is not None)
    ratio = cfg_height / (hi - lo)
    min2 = math.floor(lo * ratio)
    max_row = math.ceil(hi * ratio) - min2
    marker_cells = {
        (max_row - (round(min(max(evals[i], lo), hi) * ratio) - min2), axis + i) for i in marks
    }
    cursor_col = axis + geometry.column(cursor) if cursor is not None else -1
    train_grid, eval_grid = grids
    line_width = max(axis + len(train), cursor_col + 1)
    lines = []
    for r in range(len(base)):
        t_row = train_grid[r].ljust(line_width) if train_grid else ""
        e_row = eval_grid[r].ljust(line_width) if eval_grid else ""
        ref = t_row or e_row
        line = Text(ref[:axis], style="dim")
        for c in range(axis, line_width):
            on_cursor = c == cursor_col
            if (r, c) in marker_cells:
                line.append("●", style=PINK + (" reverse" if on_cursor else ""))
            elif c == axis:
                line.append(ref[c], style="dim")
            elif e_row and e_row[c] != " ":
                line.append(e_row[c], style=PINK + (" reverse" if on_cursor else ""))
            elif t_row and t_row[c] != " ":
                line.append(t_row[c], style=TEAL + (" reverse" if on_cursor else ""))
            elif on_cursor:
                line.append(CURSOR_MARK, style="bold")
            else:
                line.append(" ")
        line.rstrip()
        lines.append(fit(line, width))
    return lines


CONSOLE = Console(file=io.StringIO(), width=200, color_system="truecolor", force_terminal=True)


def cells(line: Text) -> list[tuple[str, str]]:
    """Each character with the style it is drawn in."""
    return [(char, str(line.get_style_at_offset(CONSOLE, i))) for i, char in enumerate(line.plain)]


def random_points(rng: random.Random) -> list[ChartPoint]:
    count = rng.choice([1, 2, 3, 7, 40, 300, 2000])
    step = rng.choice([1.0, 5.0, 0.5])
    points = []
    for i in range(count):
        loss = None if rng.random() < 0.1 else 2 * math.exp(-i / 50) + rng.random() * 0.2
        if rng.random() < 0.02:
            loss = 5.0  # a spike
        evl = 1.5 * math.exp(-i / 60) + 0.4 if rng.random() < 0.15 else None
        if loss is None and evl is None:
            loss = 1.0
        points.append(ChartPoint(1 + i * step, loss, evl))
    return points


@pytest.mark.parametrize("seed", range(60))
def test_rows_are_the_cell_by_cell_reference(seed):
    rng = random.Random(seed)
    points = random_points(rng)
    width = rng.choice([30, 50, 80, 120, 220])
    height = rng.choice([2, 4, 8, 14])
    cursors = [None, points[0].step, points[-1].step, points[len(points) // 2].step]
    for cursor in cursors:
        ours = loss_chart(points, width, height, cursor=cursor)
        reference = reference_chart(points, width, height, cursor=cursor)
        assert [cells(line) for line in ours] == [cells(line) for line in reference]


def test_a_row_is_a_few_spans_not_one_a_cell():
    points = [ChartPoint(i, 2 * math.exp(-i / 50), None) for i in range(1, 2001)]
    rows = loss_chart(points, 120, 14)
    assert rows
    assert max(len(line.spans) for line in rows) < 12
    assert max(len(line.spans) for line in reference_chart(points, 120, 14)) > 20
