"""A Live region for commands that redraw in place (only on a terminal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.live import Live
from rich.segment import Segment


class RenderedOnce:
    """A frame rendered once per width and height, then replayed.

    Rich's Live renders its renderable again whenever anything is printed
    above it (`train --watch` prints arkor's lines there, up to every few
    milliseconds); the frame itself only changes when it is drawn anew.
    """

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self._key: tuple[int, int | None] | None = None
        self._lines: list[list[Segment]] = []

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        key = (options.max_width, options.height)
        if key != self._key:
            self._lines = console.render_lines(self.renderable, options, pad=False)
            self._key = key
        for line in self._lines:
            yield from line
            yield Segment.line()


@contextmanager
def live_screen(
    console: Console, *, screen: bool = False
) -> Iterator[Callable[[RenderableType], None]]:
    """Yields `draw(renderable)`; the last frame stays on screen at exit.

    No auto-refresh thread: callers draw when something changed, so the
    frame rate is theirs to bound.
    """
    with Live(
        console=console,
        auto_refresh=False,
        transient=False,
        screen=screen,
        redirect_stdout=False,
        redirect_stderr=False,
        vertical_overflow="crop",
    ) as live:

        def draw(renderable: RenderableType) -> None:
            live.update(RenderedOnce(renderable), refresh=True)

        yield draw
