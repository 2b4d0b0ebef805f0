"""The watch view: a pure function of (JobView, now, width, height).

Every part is built as single lines of `rich.text.Text` (no wrapping), so
the frame's height is known exactly and never exceeds the terminal's (the
Advanced panel is rendered to lines first, then budgeted like the rest).
The plain lines of piped mode are in `render.lines`; the loss chart is
`render.losschart`, the Advanced panel `render.advanced`.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.console import Group
from rich.text import Text

from arkor_cli_studio.event_text import event_message
from arkor_cli_studio.model import WARMING_UP, Job, format_duration, metadata_rows
from arkor_cli_studio.progress import format_eta, format_rate, step_labels
from arkor_cli_studio.render.advanced import (
    Advanced,
    advanced_compact_lines,
    advanced_panel_lines,
    line_console,
)
from arkor_cli_studio.render.fit import fit
from arkor_cli_studio.render.jobs import STATUS_STYLES
from arkor_cli_studio.render.lines import NAME_WIDTH, event_time
from arkor_cli_studio.render.losschart import CHART_MAX_HEIGHT, TEAL, chart_block
from arkor_cli_studio.textsafe import clean_line
from arkor_cli_studio.watching import JobView

AMBER = "bold #f59e0b"
RED = "bold red"
ALERT = "bold reverse #f59e0b"  # reverse: still a highlight without colours
ALERT_CLEARED = "dim"
BANNER_STYLES = {"failed": RED, "alert": ALERT, "alert-cleared": ALERT_CLEARED}


# --------------------------------------------------------------------------
# The live frame


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
                fit(short, name_room)
                short.append("  ")
                short.append_text(_status_badge(view.display_status(now)))
                short.append_text(extra)
                line = short
    return fit(line, width)


def phase_line(view: JobView, now: datetime, width: int) -> Text:
    line = Text("Phase      ", style="dim")
    line.append_text(phase_text(view, now))
    return fit(line, width)


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
        return [fit(cell, width) for cell in cells]
    pairs = [cells[i : i + 2] for i in range(0, len(cells), 2)]
    column = max(pair[0].cell_len for pair in pairs) + 4
    lines = []
    for pair in pairs:
        if len(pair) == 2 and column + pair[1].cell_len <= width:
            left = pair[0].copy()
            left.pad_right(column - left.cell_len)
            left.append_text(pair[1])
            lines.append(fit(left, width))
        else:
            lines.extend(fit(cell.copy(), width) for cell in pair)
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
            lines.append(fit(line, width))
            line = item
    if line is not None:
        lines.append(fit(line, width))
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
    lines = [fit(line, width)]
    metrics = []
    if view.learning_rate is not None:
        metrics.append(f"lr {view.learning_rate:.2e}")
    if view.epoch is not None:
        metrics.append(f"epoch {view.epoch:.2f}")
    if view.samples_per_second is not None:
        metrics.append(f"{view.samples_per_second:.1f} samples/s")
    if metrics:
        lines.append(fit(Text("           ") + Text("  ·  ".join(metrics)), width))
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
    lines = Text(text).wrap(line_console(width), width, overflow="fold", no_wrap=False)
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
        lines.append(fit(line, width))
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


# Long on purpose: the frame's row budget, in priority order, reads top to
# bottom in one place (each step takes rows from what the ones before left).
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
        log = [fit(title, width), *event_log_lines(view, width, log_rows - 1, tz)]
    blank = [Text("")] if gap and log else []
    lines = [*top, *meta, *bars[:1], *second, *banners, *chart, *panel, *blank, *log]
    return Group(*lines[:budget])
