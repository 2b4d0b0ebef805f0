"""The watch view: a pure function of (JobView, now, width, height).

Every part is built as single lines of `rich.text.Text` (no wrapping), so
the frame's height is known exactly and never exceeds the terminal's (the
Advanced panel is rendered to lines first, then budgeted like the rest).
The plain lines of piped mode are in `render.lines`.
"""

from __future__ import annotations

import bisect
import functools
import io
import itertools
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import NamedTuple

import asciichartpy
from rich.console import Console, Group
from rich.segment import Segment
from rich.text import Text

from arkor_cli_studio.chart import ChartPoint
from arkor_cli_studio.event_text import event_message
from arkor_cli_studio.model import WARMING_UP, Job, format_duration, metadata_rows
from arkor_cli_studio.progress import format_eta, format_rate, step_labels
from arkor_cli_studio.render.jobs import STATUS_STYLES
from arkor_cli_studio.render.lines import NAME_WIDTH, event_time
from arkor_cli_studio.render.stats import (
    EVAL_TITLE,
    NO_EVAL,
    NO_TRAINING,
    TRAINING_TITLE,
    card_rows,
    coverage,
    stats_panel,
)
from arkor_cli_studio.stats import SeriesStats
from arkor_cli_studio.textsafe import clean_line
from arkor_cli_studio.watching import JobView

TEAL = "#2dd4bf"
PINK = "#f472b6"
AMBER = "bold #f59e0b"
RED = "bold red"
ALERT = "bold reverse #f59e0b"  # reverse: still a highlight without colours
ALERT_CLEARED = "dim"
BANNER_STYLES = {"failed": RED, "alert": ALERT, "alert-cleared": ALERT_CLEARED}
CHART_MAX_HEIGHT = 14
DASHED_SYMBOLS = ["┼", "┤", "╶", "╴", "╌", "╰", "╭", "╮", "╯", "╎"]
WAITING_GPU = "Waiting for GPU"
WAITING_EVENTS = "Waiting for training.log events…"
ADVANCED_KEY = "a"  # shows / hides the Advanced panel on a terminal
COMPACT_LABELS = {
    "Points": "n",
    "Mean ± 95% CI": "mean",
    "Std dev": "std",
    "Variance": "var",
    "p90": "p90",
    "p95": "p95",
}


# --------------------------------------------------------------------------
# The live frame


def _fit(text: Text, width: int) -> Text:
    text.no_wrap = True
    text.overflow = "ellipsis"
    text.truncate(max(1, width), overflow="ellipsis")
    return text


def _status_badge(status: str) -> Text:
    return Text(f" {clean_line(status)} ", style=STATUS_STYLES.get(status, "bold") + " reverse")


def phase_text(view: JobView, now: datetime) -> Text:
    """The phase (`Warming up GPU` with its timer, `Training run`, the end)."""
    line = Text()
    phase = view.phase
    line.append(phase, style=STATUS_STYLES.get(view.status, "") if phase != WARMING_UP else "")
    warm = view.warmup_elapsed(now)
    if warm is not None:
        line.append(f"  {format_duration(warm)}", style="bold magenta")
    return line


def header_line(view: JobView, now: datetime, width: int, *, phase: bool = False) -> Text:
    """Name and status badge; `phase`: the phase too (a short terminal's one
    line for both), dropped before the name is cut."""
    line = Text()
    line.append(clean_line(view.display_name), style="bold")
    line.append("  ")
    line.append_text(_status_badge(view.display_status(now)))
    if phase and view.phase.casefold() != view.display_status(now).casefold():
        extra = Text("  ")
        extra.append_text(phase_text(view, now))
        if line.cell_len + extra.cell_len <= width:
            line.append_text(extra)
        else:
            # The name gives way to the phase; never below 12 cells of it.
            name_room = width - extra.cell_len - (line.cell_len - len(view.display_name))
            if name_room >= 12:
                short = Text(clean_line(view.display_name), style="bold")
                _fit(short, name_room)
                short.append("  ")
                short.append_text(_status_badge(view.display_status(now)))
                short.append_text(extra)
                line = short
    return _fit(line, width)


def phase_line(view: JobView, now: datetime, width: int) -> Text:
    line = Text("Phase      ", style="dim")
    line.append_text(phase_text(view, now))
    return _fit(line, width)


def _metadata_cells(view: JobView, now: datetime, tz: tzinfo | None) -> list[tuple[str, str, Text]]:
    """(label, value, the styled value) of every metadata row, in Studio's order."""
    job = view.job or Job(id=view.job_id, name="", status=view.status)
    rows = metadata_rows(
        job,
        now,
        status=view.display_status(now),
        artifacts=view.artifacts,
        times=view.times(now),
        tz=tz,
    )
    cells = []
    for label, value in rows:
        clean = clean_line(value)
        style = STATUS_STYLES.get(value, "") if label == "Status" else ""
        cells.append((label, clean, Text(clean, style=style)))
    return cells


def metadata_lines(view: JobView, now: datetime, width: int, tz: tzinfo | None) -> list[Text]:
    """One row per item; two columns where the width allows, the left column
    as wide as its longest row (so nothing is cut while space is free)."""
    cells = []
    for label, _, value in _metadata_cells(view, now, tz):
        cell = Text(f"{label:<11}", style="dim")
        cell.append_text(value)
        cells.append(cell)
    if width < 90:
        return [_fit(cell, width) for cell in cells]
    pairs = [cells[i : i + 2] for i in range(0, len(cells), 2)]
    column = max(pair[0].cell_len for pair in pairs) + 4
    lines = []
    for pair in pairs:
        if len(pair) == 2 and column + pair[1].cell_len <= width:
            left = pair[0].copy()
            left.pad_right(column - left.cell_len)
            left.append_text(pair[1])
            lines.append(_fit(left, width))
        else:
            lines.extend(_fit(cell.copy(), width) for cell in pair)
    return lines


COMPACT_META_SEPARATOR = "  ·  "


def metadata_compact_lines(
    view: JobView, now: datetime, width: int, tz: tzinfo | None, max_lines: int = 3
) -> list[Text]:
    """The metadata in at most `max_lines` lines, for a short terminal: items
    side by side (`Duration 5m01s  ·  Created …`), without the Status row
    (the badge says it) and without the date of Started/Completed when it is
    Created's; what does not fit ends the last line with an ellipsis."""
    if max_lines <= 0:
        return []
    cells = _metadata_cells(view, now, tz)
    created = next((value for label, value, _ in cells if label == "Created"), "")
    items = []
    for label, value, styled in cells:
        if label == "Status":
            continue
        if label in ("Started", "Completed") and len(value) == 19 and value[:10] == created[:10]:
            styled = Text(value[11:])
        item = Text(label, style="dim")
        item.append(" ")
        item.append_text(styled)
        items.append(item)
    lines: list[Text] = []
    line: Text | None = None
    for item in items:
        if line is None:
            line = item
        elif line.cell_len + len(COMPACT_META_SEPARATOR) + item.cell_len <= width or (
            len(lines) + 1 >= max_lines
        ):
            line.append(COMPACT_META_SEPARATOR, style="dim")
            line.append_text(item)
        else:
            lines.append(_fit(line, width))
            line = item
    if line is not None:
        lines.append(_fit(line, width))
    return lines[:max_lines]


def _progress_variants(view: JobView, now: datetime, width: int) -> list[Text]:
    """The progress line from the fullest to the barest: the label, elapsed
    time, the bar's width, the rate, the bar, the step go in that order; the
    ETA stays."""
    p = view.progress(now if view.status == "running" else None)
    steps = "  ".join(step_labels(p))
    rate = format_rate(p.rate)
    elapsed = view.run_duration(now)
    eta = f"ETA {format_eta(p.eta)}" if p.eta is not None else None

    def build(
        label: bool, bar_width: int, with_rate: bool, with_elapsed: bool, with_steps: bool
    ) -> Text:
        line = Text("Progress   " if label else "", style="dim")
        if p.fraction is not None:
            if bar_width:
                filled = round(p.fraction * bar_width)
                line.append("█" * filled, style=TEAL)
                line.append("░" * (bar_width - filled), style="dim")
                line.append(" ")
            percent = f"{p.fraction * 100:.0f}%"
            line.append(f"{percent:>4}  " if bar_width else f"{percent}  ")
        parts = [steps] if with_steps else []
        if with_rate and rate:
            parts.append(rate)
        if with_elapsed and elapsed is not None:
            parts.append(f"elapsed {format_duration(elapsed)}")
        if eta:
            parts.append(eta)
        line.append("  ".join(parts))
        line.rstrip()
        return line

    full_bar = max(10, min(30, width // 4))
    return [
        build(True, full_bar, True, True, True),
        build(True, 10, True, True, True),
        build(False, 10, True, True, True),
        build(False, 10, True, False, True),
        build(False, 0, True, False, True),
        build(False, 0, False, False, True),
        build(False, 0, False, False, False),
    ]


def progress_lines(view: JobView, now: datetime, width: int) -> list[Text]:
    """The bar (step of total, %, rate, elapsed, ETA) and lr / epoch / samples/s.

    The first line is shortened part by part to fit the width: the ETA is
    never the part that is cut."""
    if view.step is None:
        return []  # warming up: the bar waits
    variants = _progress_variants(view, now, width)
    line = next((v for v in variants if v.cell_len <= width), variants[-1])
    lines = [_fit(line, width)]
    metrics = []
    if view.learning_rate is not None:
        metrics.append(f"lr {view.learning_rate:.2e}")
    if view.epoch is not None:
        metrics.append(f"epoch {view.epoch:.2f}")
    if view.samples_per_second is not None:
        metrics.append(f"{view.samples_per_second:.1f} samples/s")
    if metrics:
        lines.append(_fit(Text("           ") + Text("  ·  ".join(metrics)), width))
    return lines


#: A failure banner wraps to at most this many lines in the frame (the whole
#: error is written to stderr after the final frame).
BANNER_MAX_LINES = 3


def banner_lines(view: JobView, width: int, max_lines: int = BANNER_MAX_LINES) -> list[Text]:
    """Each banner wrapped to the width, at most `max_lines` lines (the last
    one ends with an ellipsis when the text goes on)."""
    lines: list[Text] = []
    for kind, text in view.banners:
        style = BANNER_STYLES.get(kind, AMBER)
        wrapped = _wrap_words(clean_line(text), width)
        if len(wrapped) > max_lines:
            wrapped = wrapped[:max_lines]
            last = wrapped[-1]
            wrapped[-1] = last[: max(0, width - 1)].rstrip() + "…"
        lines.extend(Text(part, style=style) for part in wrapped)
    return lines


def _wrap_words(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` cells, broken between words (a word
    longer than the width is broken where it must be)."""
    lines = Text(text).wrap(_line_console(width), width, overflow="fold", no_wrap=False)
    return [line.plain.rstrip() for line in lines] or [""]


def event_log_lines(view: JobView, width: int, count: int, tz: tzinfo | None) -> list[Text]:
    if count <= 0:
        return []
    lines = []
    entries = list(view.log)[-count:] if count < len(view.log) else list(view.log)
    for event in entries:
        # (`-` for an event without a time, padded: the columns stay aligned)
        line = Text(f"{event_time(event, tz, date=False):<8}", style="dim")
        line.append(f"  {clean_line(event.name):<{NAME_WIDTH}}  ", style="bold")
        line.append(clean_line(event_message(event)))
        lines.append(_fit(line, width))
    return lines


# ---- the loss chart ------------------------------------------------------
#
# Studio's chart (`LossChart.tsx`) draws the merged points of `chart.py` at
# x = their step, from the first step to the last. Here each step goes to a
# column by the same scale; where a series has more values than a pair of
# columns can show one by one, the pair shows their minimum and maximum in
# the order of their steps, so spikes survive.


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


def chart_geometry(points: Sequence[ChartPoint], width: int) -> ChartGeometry | None:
    """The geometry for merged, step-sorted points; None when nothing fits."""
    values = [v for p in points for v in (p.loss, p.eval_loss) if v is not None]
    if not values:
        return None
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        pad = max(abs(lo) * 0.05, 1e-4)
        lo, hi = lo - pad, hi + pad
    label_width = max(len(f"{lo:.4f}"), len(f"{hi:.4f}"))
    axis = label_width + 2
    columns = width - axis - 1
    if columns < 4:
        return None
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
    lo, hi, label_width, axis = geometry.lo, geometry.hi, geometry.label_width, geometry.axis
    fmt = f"{{:>{label_width}.4f}} "
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
    cfg = {"height": cfg_height, "min": lo, "max": hi, "format": fmt, "offset": 3}
    grids: list[list[str] | None] = []
    for series, symbols in ((train, None), (evals_line, DASHED_SYMBOLS)):
        if all(math.isnan(v) for v in series):
            grids.append(None)
            continue
        text = asciichartpy.plot(series, {**cfg, **({"symbols": symbols} if symbols else {})})
        grids.append(text.split("\n"))
    base = next(g for g in grids if g is not None)
    rows = len(base)
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
    for r in range(rows):
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
        lines.append(_fit(line, width))
    return lines


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
    return _fit(Text("".join(cells).rstrip(), style="dim"), width)


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
    lines = [_fit(legend, width)]
    if not points:
        if view.status == "queued":
            placeholder = WAITING_GPU
        elif view.status == "running":
            placeholder = WAITING_EVENTS
        else:
            placeholder = "No loss values were reported."
        lines.append(_fit(Text(f"  {placeholder}", style="dim italic"), width))
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
    lines.append(_fit(line, width))
    return lines[:height]


# ---- the Advanced panel ----------------------------------------------------


class Advanced(NamedTuple):
    """What the Advanced panel shows: `stats.LiveStats.summaries()` (or the
    chart window's: `last`, its size), and whether they are so far (the
    stream is still being read)."""

    loss: SeriesStats
    eval_loss: SeriesStats
    so_far: bool
    last: int | None = None  # None: the whole run


@functools.lru_cache(maxsize=4)
def _line_console(width: int) -> Console:
    """Renders a panel to lines of segments (styles kept; never printed)."""
    return Console(
        file=io.StringIO(),
        width=width,
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
        markup=False,
        emoji=False,
        highlight=False,
    )


def _segments_text(segments: Iterable[Segment]) -> Text:
    line = Text()
    for segment in segments:
        if not segment.control:
            line.append(segment.text, segment.style)
    line.rstrip()
    return line


def advanced_panel_lines(advanced: Advanced, width: int) -> list[Text]:
    """`render.stats.stats_panel`, exactly as `stats` draws its cards, as lines."""
    console = _line_console(width)
    panel = stats_panel(
        advanced.loss,
        advanced.eval_loss,
        so_far=advanced.so_far,
        expand=False,
        last=advanced.last,
    )
    rendered = console.render_lines(panel, console.options, pad=False, new_lines=False)
    return [_fit(_segments_text(line), width) for line in rendered]


def advanced_compact_lines(advanced: Advanced, width: int) -> list[Text]:
    """The same numbers in a few lines (a title, then each series on one line,
    wrapped between items when narrow), for a terminal too short for the cards."""
    title = Text("Advanced", style="bold")
    title.append(f" · {coverage(advanced.last)}", style="dim")
    if advanced.so_far:
        title.append("  so far: the run has not finished", style="yellow")
    lines = [_fit(title, width)]
    # Narrow: the series' short names, so each takes two lines, not three.
    titles = (TRAINING_TITLE, EVAL_TITLE) if width >= 60 else ("Train", "Eval")
    label_width = max(len(title) for title in titles) + 2
    series = (
        (titles[0], card_rows(advanced.loss), NO_TRAINING, "bold cyan"),
        (titles[1], card_rows(advanced.eval_loss), NO_EVAL, "bold magenta"),
    )
    # Each value padded to the wider of the two, so the columns line up.
    widths = [
        max(len(v) for v in values)
        for values in itertools.zip_longest(
            *([value for _, value in rows] for _, rows, _, _ in series), fillvalue=""
        )
    ]
    items = [
        [
            Text.assemble((COMPACT_LABELS.get(name, name), "dim"), f" {value:<{widths[index]}}")
            for index, (name, value) in enumerate(rows)
        ]
        for _, rows, _, _ in series
    ]
    # As few lines per series as fit the width, the items spread evenly.
    longest = max(items, key=len)
    per = max(1, len(longest))
    for count in range(1, len(longest) + 1):
        per = math.ceil(len(longest) / count)
        spans = [longest[i : i + per] for i in range(0, len(longest), per)]
        if all(sum(t.cell_len + 2 for t in span) - 2 <= width - label_width for span in spans):
            break
    for (label, _, empty, style), cells in zip(series, items, strict=True):
        line = Text()
        line.append(f"{label:<{label_width}}", style=style)
        if not cells:
            line.append(empty, style="dim")
        for index, cell in enumerate(cells):
            if index and index % per == 0:
                line.rstrip()
                lines.append(_fit(line, width))
                line = Text(" " * label_width)  # wrapped under the values
            elif index:
                line.append("  ")
            line.append_text(cell)
        line.rstrip()
        lines.append(_fit(line, width))
    return lines


#: The chart's plotted rows kept, at least, on a terminal of 24 rows or more
#: (else 18 or more; else fewer), and the latest events kept, at least.
CHART_ROWS_AT_24 = 8
CHART_ROWS_AT_18 = 5
EVENTS_MIN = 3
#: The chart block's lines around the plot: legend, step axis, latest values.
CHART_FRAME_LINES = 3
#: From this height on, the phase has a line of its own under the name.
PHASE_LINE_FROM = 30


def watch_frame(
    view: JobView,
    now: datetime,
    width: int,
    height: int,
    tz: tzinfo | None = None,
    *,
    advanced: Advanced | None = None,
    toggle: bool | None = None,
    cursor: float | None = None,
) -> Group:
    """The whole screen, never taller than `height - 1` lines (the cursor's).

    Lines go to what someone watching a run needs first: the name, status and
    phase; the progress line (its ETA never cut); the loss chart (at least
    CHART_ROWS_AT_24 plotted rows at 80x24, CHART_ROWS_AT_18 at 50x18); the
    latest EVENTS_MIN events; then the metadata, in a few compact lines when
    the height is short. Space left over grows the chart (up to
    CHART_MAX_HEIGHT), then gives the metadata its full rows, then the event
    log. A failure banner wraps (BANNER_MAX_LINES at most).

    `advanced`: show the Advanced panel with these statistics (under the
    chart: the full cards when they fit beside a chart of its minimum, else
    the compact lines; before the metadata). `toggle`: the key that toggles
    it works (its hint goes on the chart's legend, with the cursor keys').
    `cursor`: the chart cursor's step (None: following the latest step).
    """
    width = max(20, width)
    budget = max(1, height - 1)
    own_phase_line = budget >= PHASE_LINE_FROM
    top = (
        [header_line(view, now, width), phase_line(view, now, width)]
        if own_phase_line
        else [header_line(view, now, width, phase=True)]
    )
    bars = progress_lines(view, now, width)
    banners = banner_lines(view, width, BANNER_MAX_LINES if budget >= 20 else 2)
    head = top + bars[:1] + banners
    rest = budget - len(head)
    if rest <= 0:
        return Group(*head[:budget])

    def take(want: int) -> int:
        nonlocal rest
        got = max(0, min(want, rest))
        rest -= got
        return got

    # 1. The chart at its minimum.
    if view.points:
        plot_min = CHART_ROWS_AT_24 if height >= 24 else CHART_ROWS_AT_18 if height >= 18 else 3
        chart_rows = take(plot_min + CHART_FRAME_LINES)
        if chart_rows < CHART_FRAME_LINES + 2:  # no room to plot: the latest values only
            rest += chart_rows
            chart_rows = take(2)
    else:
        chart_rows = take(2)  # legend and the placeholder
    # 2. The Advanced panel, when asked for: the compact lines at least.
    panel: list[Text] = []
    if advanced is not None:
        compact = advanced_compact_lines(advanced, width)
        if len(compact) <= rest:
            panel = compact
            rest -= len(panel)
    # 3. The latest events, with their title.
    log_rows = take(1 + EVENTS_MIN) if rest >= 2 else 0
    # 4. The metadata, compact; the second progress line; a blank line above the log.
    meta_compact = metadata_compact_lines(view, now, width, tz, min(3, rest))
    rest -= len(meta_compact)
    second = bars[1:2] if take(len(bars[1:2])) else []
    gap = take(1) if log_rows else 0
    # 5. What is left: the full cards (when asked for), the chart grows, the
    #    full metadata, then the event log.
    if advanced is not None:
        full = advanced_panel_lines(advanced, width)
        if len(full) <= rest + len(panel):
            rest += len(panel) - len(full)
            panel = full
    if view.points:
        chart_rows += take(CHART_MAX_HEIGHT + CHART_FRAME_LINES - chart_rows)
    meta = meta_compact
    full_meta = metadata_lines(view, now, width, tz)
    if own_phase_line and len(full_meta) - len(meta_compact) <= rest:
        rest -= len(full_meta) - len(meta_compact)
        meta = full_meta
    if log_rows:
        log_rows += rest
    chart = chart_block(view, width, chart_rows, toggle, cursor)
    if log_rows:
        log_rows += chart_rows - len(chart)  # a chart shorter than its rows
    log: list[Text] = []
    if log_rows >= 2:
        title = Text(f"Events ({view.events_seen})", style="bold")
        log = [_fit(title, width), *event_log_lines(view, width, log_rows - 1, tz)]
    blank = [Text("")] if gap and log else []
    lines = [*top, *meta, *bars[:1], *second, *banners, *chart, *panel, *blank, *log]
    return Group(*lines[:budget])
