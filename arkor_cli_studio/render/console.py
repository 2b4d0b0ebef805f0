"""Consoles and the output mode, decided once at start.

rich is imported on the first console made: `stream_is_terminal` alone (a
piped `watch --plain`/`--json`, `jobs --json`) does not load it.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console as Console  # re-exported for type hints elsewhere


def stream_is_terminal(stream: IO[str]) -> bool:
    """A real terminal (not FORCE_COLOR on a pipe): decides Live vs. lines."""
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


@functools.cache
def _console_class() -> type[Console]:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            """Rich's default exits 1; a closed stdout is our quiet exit 141 (the
            error boundary turns BrokenPipeError into it)."""
            self.quiet = True
            raise BrokenPipeError

    return _Console


_ALWAYS = [False]  # `--color always`: set once, by the root command


def force_color(always: bool) -> None:
    """`--color always`: colours also on a pipe, NO_COLOR or not."""
    _ALWAYS[0] = always


def make_console(
    *, stderr: bool = False, no_color: bool = False, file: IO[str] | None = None
) -> Console:
    """A console on `stream`: colours on a terminal unless `no_color` or
    NO_COLOR (`--color always`: everywhere); Rich picks the colour system
    from TERM/COLORTERM, so a 16-colour terminal gets only those."""
    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    terminal = stream_is_terminal(stream)
    always = _ALWAYS[0] and not no_color
    color = always or (terminal and not no_color and not os.environ.get("NO_COLOR"))
    return _console_class()(
        file=stream,
        force_terminal=terminal or always,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
    )
