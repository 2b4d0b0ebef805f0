"""One job as a screen (`show`) and its artifacts as a table (`artifacts`).

Pure: a job, a clock and a time zone in, a renderable out. Every string
from the server goes through `textsafe` and into `Text`, never markup.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from arkor_cli_studio.jobinfo import Artifact
from arkor_cli_studio.model import Job, RunTimes, metadata_rows
from arkor_cli_studio.render.jobs import status_text
from arkor_cli_studio.textsafe import clean, clean_line

NO_ARTIFACTS = "No artifacts yet."


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    # Ids, model names, dataset URLs: fold rather than cut, users copy them.
    grid.add_column(overflow="fold")
    return grid


def metadata_panel(
    job: Job,
    now: datetime,
    tz: tzinfo | None = None,
    *,
    status: str | None = None,
    artifacts: int | None = None,
    times: RunTimes | None = None,
) -> Panel:
    """The sidebar of Studio's Job detail (`model.metadata_rows`) in a panel titled by name."""
    grid = _grid()
    rows = metadata_rows(job, now, status=status, artifacts=artifacts, times=times, tz=tz)
    for label, value in rows:
        cell = status_text(value) if label == "Status" else Text(clean_line(value))
        grid.add_row(label, cell)
    title = Text(clean_line(job.name) or clean_line(job.id), style="bold")
    return Panel(grid, title=title, title_align="left", box=box.ROUNDED)


def error_panel(message: str) -> Panel:
    """A failed job's error, line breaks kept (it may be a traceback)."""
    return Panel(
        Text(clean(message).expandtabs(4)),
        title=Text("Error", style="bold red"),
        title_align="left",
        border_style="red",
        box=box.ROUNDED,
    )


def config_panel(rows: list[tuple[str, str]]) -> Panel:
    grid = _grid()
    for label, value in rows:
        grid.add_row(Text(clean_line(label)), Text(clean_line(value)))
    return Panel(
        grid,
        title=Text("Training configuration", style="bold"),
        title_align="left",
        box=box.ROUNDED,
    )


class SameWidth:
    """Renderables one under the other, the panels among them all as wide as
    the widest one needs (at most the screen): `show`'s panels line up.

    The panels must expand (rich's default): each is drawn at that width."""

    def __init__(self, *parts: RenderableType) -> None:
        self.parts = parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        panels = [part for part in self.parts if isinstance(part, Panel)]
        widest = max((Measurement.get(console, options, p).maximum for p in panels), default=0)
        same = options.update_width(min(widest, options.max_width))
        for part in self.parts:
            if isinstance(part, Panel):
                yield from console.render(part, same)
            else:
                yield part

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, Group(*self.parts))


def job_view(
    job: Job,
    now: datetime,
    tz: tzinfo | None = None,
    *,
    config: list[tuple[str, str]],
    error: str | None = None,
    status: str | None = None,
    artifacts: int | None = None,
    times: RunTimes | None = None,
) -> RenderableType:
    """`show`'s screen: metadata, then the error (if any), then the
    configuration, the panels of one width."""
    parts: list[RenderableType] = [
        metadata_panel(job, now, tz, status=status, artifacts=artifacts, times=times)
    ]
    if error:
        parts.append(error_panel(error))
    if config:
        parts.append(config_panel(config))
    else:
        parts.append(Text("No training configuration was reported.", style="dim"))
    return SameWidth(*parts)


def _step_text(step: int | float | None) -> Text:
    return Text("-" if step is None else f"{step:g}" if isinstance(step, float) else str(step))


def artifacts_table(artifacts: list[Artifact]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    table.add_column("Kind", no_wrap=True)
    table.add_column("Step", justify="right", no_wrap=True)
    # Paths and URLs are copied into other tools: fold, never truncate.
    table.add_column("Path / URL", overflow="fold", ratio=2)
    table.add_column("Details", overflow="fold", ratio=1)
    for artifact in artifacts:
        details = Text(" ").join(
            Text(f"{clean_line(key)}={clean_line(value)}") for key, value in artifact.details
        )
        table.add_row(
            Text(artifact.kind, style="green" if artifact.kind == "final" else "cyan"),
            _step_text(artifact.step),
            Text(clean_line(artifact.location or "-")),
            details if artifact.details else Text("-", style="dim"),
        )
    return table


def artifacts_view(artifacts: list[Artifact]) -> RenderableType:
    """The table, or `No artifacts yet.`."""
    return artifacts_table(artifacts) if artifacts else Text(NO_ARTIFACTS)


def status_report(job: Job, lead: str, tail: str) -> Text:
    """`Job NAME (ID) <lead><status><tail>`: what `cancel` prints, the status coloured."""
    text = Text(f"Job {clean_line(job.name) or '-'} ({clean_line(job.id)}) {lead}")
    text.append_text(status_text(job.status))
    text.append(tail)
    return text
