"""The console factory's Rich half: rich is imported on the first console made.

Whether a stream is a terminal and whether colours are wanted (--no-color,
NO_COLOR from the run's environment) are the environment's (`env.py`):
commands get their consoles from `Environment.console()`.
"""

from __future__ import annotations

import functools
import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console as Console  # re-exported for type hints elsewhere


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
    *,
    stderr: bool = False,
    no_color: bool = False,
    file: IO[str] | None = None,
    terminal: bool | None = None,
) -> Console:
    """A console on `file` (default stdout, or stderr): colours on a terminal
    unless `no_color` (`--no-color`, or NO_COLOR in the run's environment:
    `Environment.no_color`, `Settings.no_color`); `--color always`: everywhere.
    `terminal`: whether `file` is one (default: ask it). Rich picks the colour
    system from TERM/COLORTERM, so a 16-colour terminal gets only those."""
    from arkor_cli_studio.env import is_terminal

    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    if terminal is None:
        terminal = is_terminal(stream)
    always = _ALWAYS[0] and not no_color
    color = always or (terminal and not no_color)
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
