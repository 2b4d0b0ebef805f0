"""The Advanced panel: one card per series (pure: statistics in, renderable out).

`stats_view()` is what `stats` prints and what `watch --advanced` can put
in its layout: the two cards sit side by side when the space allows and
stack otherwise (decided at render time from the width rich offers).
"""

from __future__ import annotations

import math

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from arkor_cli_studio.stats import SeriesStats
from arkor_cli_studio.textsafe import clean_line

TRAINING_TITLE = "Training loss"
EVAL_TITLE = "Eval loss"
NO_TRAINING = "No training loss points yet."
NO_EVAL = "No eval points yet."
#: Cards are at most this wide; below two minimum widths they stack.
CARD_MAX_WIDTH = 40
CARD_MIN_WIDTH = 30


def format_value(value: float | None) -> str:
    """A statistic for people: 4 decimals from 1 up, 4 significant digits
    below (so a small variance keeps its digits), scientific at the extremes;
    "overflow" for a statistic past the largest float (the variance of losses
    near 1.8e308)."""
    if value is None or math.isnan(value):
        return "-"
    if math.isinf(value):
        return "overflow"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if 1 <= magnitude < 1e6:
        return f"{value:.4f}"
    if 1e-4 <= magnitude < 1:
        return f"{value:#.4g}"
    return f"{value:.3e}"


def card_rows(stats: SeriesStats) -> list[tuple[str, str]]:
    """The (label, value) rows of one card (empty when the series is)."""
    if stats.empty:
        return []
    return [
        ("Points", f"{stats.count:,}"),
        ("Mean ± 95% CI", f"{format_value(stats.mean)} ± {format_value(stats.ci95_half_width)}"),
        ("Std dev", format_value(stats.stddev)),
        ("Variance", format_value(stats.variance)),
        ("p90", format_value(stats.p90)),
        ("p95", format_value(stats.p95)),
    ]


def stats_card(
    title: str,
    stats: SeriesStats,
    empty_text: str,
    *,
    style: str = "",
    width: int | None = None,
    height: int | None = None,
    covers: str | None = None,
) -> Panel:
    """One card; `width`/`height` let two cards line up side by side;
    `covers`: what its numbers cover, after the title (`whole run`)."""
    body: RenderableType
    rows = card_rows(stats)
    if rows:
        table = Table.grid(padding=(0, 2), expand=True)
        table.add_column(style="dim", no_wrap=True)
        table.add_column(justify="right", no_wrap=True, overflow="ellipsis")
        for label, value in rows:
            table.add_row(label, value)
        body = table
    else:
        body = Text(empty_text, style="dim")
    heading = Text(title, style=f"bold {style}".strip())
    if covers:
        heading.append(f" · {covers}", style="dim")
    return Panel(
        body,
        title=heading,
        title_align="left",
        border_style=style or "none",
        padding=(0, 1),
        expand=width is not None,
        width=width,
        height=height,
    )


class StatsView:
    """Both cards plus the notes; lays itself out for the width it gets."""

    def __init__(
        self,
        loss: SeriesStats,
        eval_loss: SeriesStats,
        notes: list[Text],
        heading: Text | None = None,
        covers: str | None = None,
    ) -> None:
        self.loss = loss
        self.eval_loss = eval_loss
        self.notes = notes
        self.heading = heading
        self.covers = covers

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        available = options.max_width
        if self.heading is not None:
            yield self.heading
        side_by_side = available >= 2 * CARD_MIN_WIDTH + 1
        width = min(CARD_MAX_WIDTH, (available - 1) // 2 if side_by_side else available)
        height = (
            2 + max(len(card_rows(self.loss)), len(card_rows(self.eval_loss)), 1)
            if side_by_side
            else None
        )
        covers = self.covers
        cards = (
            stats_card(
                TRAINING_TITLE,
                self.loss,
                NO_TRAINING,
                style="cyan",
                width=width,
                height=height,
                covers=covers,
            ),
            stats_card(
                EVAL_TITLE,
                self.eval_loss,
                NO_EVAL,
                style="magenta",
                width=width,
                height=height,
                covers=covers,
            ),
        )
        if side_by_side:
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=width)
            grid.add_column(width=width)
            grid.add_row(*cards)
            yield grid
        else:
            yield from cards
        yield from self.notes

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        texts = [*self.notes, *([self.heading] if self.heading is not None else [])]
        widest_note = max((text.cell_len for text in texts), default=0)
        cards = 2 * CARD_MAX_WIDTH + 1 if options.max_width > 2 * CARD_MIN_WIDTH else CARD_MAX_WIDTH
        return Measurement(
            min(CARD_MIN_WIDTH, options.max_width),
            min(max(cards, widest_note), options.max_width),
        )


def coverage(last: int | None) -> str:
    """What a card covers: `whole run`, or `last 2,000 points` (of the chart)."""
    return "whole run" if last is None else f"last {last:,} points"


#: What the points of `--last N` are (the note under such cards).
CHART_POINTS_NOTE = (
    "Last {last:,} points: Studio's chart points, the last {last:,} training.log frames "
    "with a step and a loss or evalLoss, frames of one step merged into one point."
)


def stats_view(
    loss: SeriesStats,
    eval_loss: SeriesStats,
    *,
    so_far: bool,
    last: int | None = None,
    title: str | None = None,
    explain: bool = True,
) -> RenderableType:
    """Studio's Advanced panel: **Training loss** and **Eval loss** cards.

    `so_far`: the run is not over, so the numbers will change (a note says
    so). `last`: the numbers are over the chart's last N points, as Studio's
    cards are (each card's title says what it covers: `whole run` without
    it; a note says what a chart point is). `title`: a heading line above
    the cards (e.g. which job, from where). `explain`: with `last`, say
    what a chart point is.
    """
    notes: list[Text] = []
    if last is not None and explain:
        notes.append(Text(CHART_POINTS_NOTE.format(last=last), style="dim"))
    if so_far:
        notes.append(
            Text("So far: the run has not finished; these numbers will change.", style="yellow")
        )
    heading = Text(clean_line(title), style="bold") if title else None
    return StatsView(loss, eval_loss, notes, heading, coverage(last))


def stats_panel(
    loss: SeriesStats,
    eval_loss: SeriesStats,
    *,
    so_far: bool,
    expand: bool = True,
    last: int | None = None,
) -> RenderableType:
    """The same cards framed as one titled panel, for the watch layout."""
    return Panel(
        stats_view(loss, eval_loss, so_far=so_far, last=last, explain=False),
        title="Advanced",
        title_align="left",
        padding=(0, 1),
        expand=expand,
    )
