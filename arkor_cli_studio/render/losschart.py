"""The live view's loss chart: the plot, its step axis, the chart cursor and
the block that frames them (legend, plot, axis, the latest step's values).

Studio's chart (`LossChart.tsx`) draws the merged points of `chart.py` at
x = their step, from the first step to the last. Here each step goes to a
column by the same scale; where a series has more values than a pair of
columns can show one by one, the pair shows their minimum and maximum in
the order of their steps, so spikes survive. Pure: points in, lines out.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import asciichartpy
from rich.text import Text

from arkor_cli_studio.chart import ChartPoint
from arkor_cli_studio.render.fit import fit
from arkor_cli_studio.watching import JobView

TEAL = "#2dd4bf"
PINK = "#f472b6"
CHART_MAX_HEIGHT = 14
DASHED_SYMBOLS = ["┼", "┤", "╶", "╴", "╌", "╰", "╭", "╮", "╯", "╎"]
WAITING_GPU = "Waiting for GPU"
WAITING_EVENTS = "Waiting for training.log events…"
ADVANCED_KEY = "a"  # shows / hides the Advanced panel on a terminal


class ChartGeometry(NamedTuple):
    """Where the chart's steps and values go on the screen."""

    lo: float  # the y range
    hi: float
    label_width: int  # the y labels' width
    axis: int  # the character index of the y axis
    columns: int  # plot columns right of the axis
    first: float  # the x range: steps first..first + span
    span: float

    def column(self, step: float) -> int:
        """The plot column (0..columns-1) of a step."""
        if self.columns <= 1:
            return 0
        at = round((step - self.first) / self.span * (self.columns - 1))
        return min(self.columns - 1, max(0, at))


def y_scale(values: Sequence[float], width: int) -> tuple[float, float, int, int, int] | None:
    """(lo, hi, label width, the y axis's index, plot columns) for a chart of
    these values at `width` (a flat series is padded to a range); None when
    fewer than 4 columns fit. Shared by this chart and `compare`'s."""
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        pad = max(abs(lo) * 0.05, 1e-4)
        lo, hi = lo - pad, hi + pad
    label_width = max(len(f"{lo:.4f}"), len(f"{hi:.4f}"))
    axis = label_width + 2
    columns = width - axis - 1
    return None if columns < 4 else (lo, hi, label_width, axis, columns)


def chart_geometry(points: Sequence[ChartPoint], width: int) -> ChartGeometry | None:
    """The geometry for merged, step-sorted points; None when nothing fits."""
    values = [v for p in points for v in (p.loss, p.eval_loss) if v is not None]
    scale = y_scale(values, width) if values else None
    if scale is None:
        return None
    lo, hi, label_width, axis, columns = scale
    first = points[0].step
    last = max(first + 1, points[-1].step)  # (as Studio: one point still has a span)
    return ChartGeometry(lo, hi, label_width, axis, columns, first, last - first)


def place_by_step(
    points: Sequence[ChartPoint], geometry: ChartGeometry
) -> tuple[list[float], list[float], list[int]]:
    """Training and eval series, one value per plot column (NaN = none), and
    the columns that hold a real eval value (its ● marker).

    Each point goes to its step's column. Where a pair of columns gets more
    values of a series than it has columns for them, it shows their minimum
    and maximum, in the order of their steps."""
    nan = math.nan
    columns = geometry.columns
    train = [nan] * columns
    evals = [nan] * columns
    marks: list[int] = []
    buckets: dict[int, tuple[list[tuple[int, float]], list[tuple[int, float]]]] = {}
    for p in points:
        col = geometry.column(p.step)
        pair = buckets.get(col // 2)
        if pair is None:
            pair = buckets[col // 2] = ([], [])
        if p.loss is not None:
            pair[0].append((col, p.loss))
        if p.eval_loss is not None:
            pair[1].append((col, p.eval_loss))
    for bucket, (t_values, e_values) in buckets.items():
        for series, values, marked in ((train, t_values, False), (evals, e_values, True)):
            if not values:
                continue
            if len({col for col, _ in values}) == len(values):
                chosen = values  # each value has its own column
            else:
                only = [v for _, v in values]
                lo = only.index(min(only))
                hi = only.index(max(only))
                first, second = sorted((lo, hi))
                left = 2 * bucket
                right = min(left + 1, columns - 1)
                chosen = [(left, only[first]), (right, only[second])]
                if right == left:
                    chosen = [(left, only[second])]
            for col, value in chosen:
                series[col] = value
                if marked:
                    marks.append(col)
    return train, evals, sorted(set(marks))


def _interpolate(series: list[float]) -> list[float]:
    """Join the known values into a line across the columns between them."""
    known = [i for i, v in enumerate(series) if not math.isnan(v)]
    out = list(series)
    for a, b in itertools.pairwise(known):
        for i in range(a + 1, b):
            out[i] = series[a] + (series[b] - series[a]) * (i - a) / (b - a)
    return out


def _plot_rows(lo: float, hi: float, cfg_height: int) -> int:
    ratio = cfg_height / (hi - lo)
    return math.ceil(hi * ratio) - math.floor(lo * ratio) + 1


CURSOR_MARK = "┊"


def loss_chart(
    points: Sequence[ChartPoint], width: int, height: int, cursor: float | None = None
) -> list[Text]:
    """`height` rows (or fewer) of chart from merged, step-sorted points:
    teal training, dashed pink eval with ●, x = the step. `cursor`: a step
    to mark with a vertical line."""
    geometry = chart_geometry(points, width)
    if geometry is None or height < 2:
        return []
    lo, hi, axis = geometry.lo, geometry.hi, geometry.axis
    train_values, evals, marks = place_by_step(points, geometry)
    # The lines end at the last column with a value (one point: the first).
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
    while cfg_height > 1 and _plot_rows(lo, hi, cfg_height) > height:
        cfg_height -= 1
    fmt = f"{{:>{geometry.label_width}.4f}} "
    cfg = {"height": cfg_height, "min": lo, "max": hi, "format": fmt, "offset": 3}
    grids: list[list[str] | None] = []
    for series, symbols in ((train, None), (evals_line, DASHED_SYMBOLS)):
        if all(math.isnan(v) for v in series):
            grids.append(None)
            continue
        text = asciichartpy.plot(series, {**cfg, **({"symbols": symbols} if symbols else {})})
        grids.append(text.split("\n"))
    ratio = cfg_height / (hi - lo)
    min2 = math.floor(lo * ratio)
    max_row = math.ceil(hi * ratio) - min2
    markers = {
        (max_row - (round(min(max(evals[i], lo), hi) * ratio) - min2), axis + i) for i in marks
    }
    cursor_col = axis + geometry.column(cursor) if cursor is not None else -1
    line_width = max(axis + len(train), cursor_col + 1)
    train_grid, eval_grid = grids
    rows = len(train_grid if train_grid is not None else eval_grid or [])
    return [
        fit(_chart_row(r, train_grid, eval_grid, markers, axis, line_width, cursor_col), width)
        for r in range(rows)
    ]


def _chart_row(
    r: int,
    train_grid: list[str] | None,
    eval_grid: list[str] | None,
    markers: set[tuple[int, int]],
    axis: int,
    line_width: int,
    cursor_col: int,
) -> Text:
    """Row `r` of the overlaid grids: the eval line over the training line,
    its ● markers over both, the cursor's column reversed (or marked where
    empty). Each run of cells of one style is appended once (a row is one
    or a few spans, not one per cell: the frame is drawn ~10 times a second)."""
    t_row = train_grid[r].ljust(line_width) if train_grid else ""
    e_row = eval_grid[r].ljust(line_width) if eval_grid else ""
    ref = t_row or e_row
    line = Text(ref[:axis], style="dim")  # the labels
    run: list[str] = []
    run_style = ""
    for c in range(axis, line_width):
        on_cursor = c == cursor_col
        if (r, c) in markers:
            char, style = "●", PINK + (" reverse" if on_cursor else "")
        elif c == axis:
            char, style = ref[c], "dim"
        elif e_row and e_row[c] != " ":
            char, style = e_row[c], PINK + (" reverse" if on_cursor else "")
        elif t_row and t_row[c] != " ":
            char, style = t_row[c], TEAL + (" reverse" if on_cursor else "")
        elif on_cursor:
            char, style = CURSOR_MARK, "bold"
        else:
            char, style = " ", ""
        if style != run_style and run:
            line.append("".join(run), style=run_style or None)
            run = []
        run.append(char)
        run_style = style
    if run:
        line.append("".join(run), style=run_style or None)
    line.rstrip()
    return line


def step_ticks(points: Sequence[ChartPoint]) -> list[int]:
    """Studio's x ticks: up to 6 steps evenly over the range, rounded, deduplicated."""
    if not points:
        return []
    first = points[0].step
    span = max(first + 1, points[-1].step) - first
    count = min(6, len(points))
    ticks: list[int] = []
    for i in range(count):
        t = 0.0 if count == 1 else i / (count - 1)
        tick = math.floor(first + t * span + 0.5)  # (JS Math.round)
        if tick not in ticks:
            ticks.append(tick)
    return ticks


def step_axis(points: Sequence[ChartPoint], width: int) -> Text | None:
    """The x labels under the chart: `step` and Studio's tick steps at their columns."""
    geometry = chart_geometry(points, width)
    if geometry is None:
        return None
    cells = [" "] * (geometry.axis + geometry.columns)
    name = "step"
    start = max(0, geometry.axis - 1 - len(name))
    cells[start : start + len(name)] = name
    taken = start + len(name)  # the first free cell
    for tick in step_ticks(points):
        label = f"{tick:,}"
        centre = geometry.axis + geometry.column(tick)
        left = min(max(centre - len(label) // 2, taken + 1), len(cells) - len(label))
        if left <= taken:
            continue  # no room beside the previous label
        cells[left : left + len(label)] = label
        taken = left + len(label)
    return fit(Text("".join(cells).rstrip(), style="dim"), width)


def point_line(point: ChartPoint, lead: str) -> Text:
    """`step 1,234 · loss 0.5312 · evalLoss 0.6120` (the values the step has)."""
    line = Text(lead, style="dim")
    line.append(f"step {point.step:,.0f}" if point.step.is_integer() else f"step {point.step:g}")
    if point.loss is not None:
        line.append(" · ", style="dim")
        line.append(f"loss {point.loss:.4f}", style=TEAL)
    if point.eval_loss is not None:
        line.append(" · ", style="dim")
        line.append(f"evalLoss {point.eval_loss:.4f}", style=PINK)
    return line


def nearest_point(points: Sequence[ChartPoint], step: float) -> ChartPoint:
    """The point nearest a step (the earlier one on a tie), as Studio's hover."""
    low, high = 0, len(points) - 1
    while low < high:
        mid = (low + high) // 2
        if points[mid].step < step:
            low = mid + 1
        else:
            high = mid
    candidate = points[low]
    before = points[low - 1] if low > 0 else candidate
    return before if abs(before.step - step) <= abs(candidate.step - step) else candidate


CURSOR_HINT = "← → Home End · Esc: latest"
#: The chart cursor's keys (`keys` names), as the legend's key help says.
CURSOR_KEYS = ("left", "right", "home", "end", "esc")


def move_cursor(
    points: Sequence[ChartPoint], cursor: float | None, key: str, width: int
) -> float | None:
    """The cursor's step after `key` (None: following the latest step).

    ← / → move one column of the chart (at least one point), from the
    latest point when the cursor is not shown; Home / End go to the first /
    last point; Esc returns to following the latest step."""
    if not points or key == "esc":
        return None
    if key == "home":
        return points[0].step
    if key == "end":
        return points[-1].step
    if key not in ("left", "right"):
        return cursor
    current = nearest_point(points, cursor) if cursor is not None else points[-1]
    index = bisect.bisect_left([p.step for p in points], current.step)
    sign = -1 if key == "left" else 1
    geometry = chart_geometry(points, width)
    target = points[max(0, min(len(points) - 1, index + sign))]
    if geometry is not None and geometry.columns > 1:
        stride = geometry.span / (geometry.columns - 1)
        nearest = nearest_point(points, current.step + sign * stride)
        if nearest is not current:
            target = nearest
    return target.step


def chart_block(
    view: JobView,
    width: int,
    height: int,
    toggle: bool | None = None,
    cursor: float | None = None,
) -> list[Text]:
    """Legend, chart, step axis and the latest step's values: `height` lines at most.

    `toggle`: the Advanced key is live (True: the panel is shown), so the
    legend line ends with its hint, as Studio's toggle sits in the chart's
    header (when it fits). `cursor`: the step the chart cursor is on (its
    values are shown instead of the latest step's)."""
    points = view.chart_points()
    has_loss = any(p.loss is not None for p in points)
    has_eval = any(p.eval_loss is not None for p in points)
    legend = Text("Loss", style="bold")
    if has_loss:
        legend.append("  ── Training loss", style=TEAL)
    if has_eval:
        legend.append("   ╌●╌ Eval loss", style=PINK)
    if toggle is not None:
        # The key help: the chart cursor's keys (where they fit) and the toggle.
        for help_text in ("←→ Home End: step  ", ""):
            hint = Text(help_text, style="dim")
            hint.append(f"[{ADVANCED_KEY}] Advanced", style="bold" if toggle else "dim")
            gap = width - legend.cell_len - hint.cell_len
            if gap >= 3:
                legend.append(" " * gap)
                legend.append_text(hint)
                break
    lines = [fit(legend, width)]
    if not points:
        if view.status == "queued":
            placeholder = WAITING_GPU
        elif view.status == "running":
            placeholder = WAITING_EVENTS
        else:
            placeholder = "No loss values were reported."
        lines.append(fit(Text(f"  {placeholder}", style="dim italic"), width))
        return lines[:height]
    at = nearest_point(points, cursor) if cursor is not None else None
    chart = loss_chart(points, width, height - 3, cursor=at.step if at is not None else None)
    lines.extend(chart)
    axis = step_axis(points, width) if chart else None
    if axis is not None:
        lines.append(axis)
    if at is not None:
        line = point_line(at, "Cursor  ")
        if line.cell_len + len(CURSOR_HINT) + 4 <= width:
            line.append(f"    {CURSOR_HINT}", style="dim")
    else:
        line = point_line(points[-1], "Latest  ")
    lines.append(fit(line, width))
    return lines[:height]
