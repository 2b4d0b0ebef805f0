"""The Advanced panel in the live view: `stats`' cards as lines, or the same
numbers in a few compact lines for a short terminal (pure: numbers in,
lines out)."""

from __future__ import annotations

import functools
import io
import itertools
import math
from collections.abc import Iterable
from typing import NamedTuple

from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from arkor_cli_studio.render.fit import fit
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

COMPACT_LABELS = {
    "Points": "n",
    "Mean ± 95% CI": "mean",
    "Std dev": "std",
    "Variance": "var",
    "p90": "p90",
    "p95": "p95",
}


class Advanced(NamedTuple):
    """What the Advanced panel shows: `stats.LiveStats.summaries()` (or the
    chart window's: `last`, its size), and whether they are so far (the
    stream is still being read)."""

    loss: SeriesStats
    eval_loss: SeriesStats
    so_far: bool
    last: int | None = None  # None: the whole run


@functools.lru_cache(maxsize=4)
def line_console(width: int) -> Console:
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
    console = line_console(width)
    panel = stats_panel(
        advanced.loss,
        advanced.eval_loss,
        so_far=advanced.so_far,
        expand=False,
        last=advanced.last,
    )
    rendered = console.render_lines(panel, console.options, pad=False, new_lines=False)
    return [fit(_segments_text(line), width) for line in rendered]


def advanced_compact_lines(advanced: Advanced, width: int) -> list[Text]:
    """The same numbers in a few lines (a title, then each series on one line,
    wrapped between items when narrow), for a terminal too short for the cards."""
    title = Text("Advanced", style="bold")
    title.append(f" · {coverage(advanced.last)}", style="dim")
    if advanced.so_far:
        title.append("  so far: the run has not finished", style="yellow")
    lines = [fit(title, width)]
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
                lines.append(fit(line, width))
                line = Text(" " * label_width)  # wrapped under the values
            elif index:
                line.append("  ")
            line.append_text(cell)
        line.rstrip()
        lines.append(fit(line, width))
    return lines
