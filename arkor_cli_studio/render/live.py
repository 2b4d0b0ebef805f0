"""A Live region for commands that redraw in place (only on a terminal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console, RenderableType
from rich.live import Live


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
            live.update(renderable, refresh=True)

        yield draw
