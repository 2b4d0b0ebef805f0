"""Consoles and the output mode, decided once at start."""

from __future__ import annotations

import os
import sys
from typing import IO

from rich.console import Console as Console  # re-exported for type hints elsewhere


def stream_is_terminal(stream: IO[str]) -> bool:
    """A real terminal (not FORCE_COLOR on a pipe): decides Live vs. lines."""
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def make_console(
    *, stderr: bool = False, no_color: bool = False, file: IO[str] | None = None
) -> Console:
    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    terminal = stream_is_terminal(stream)
    color = terminal and not no_color and not os.environ.get("NO_COLOR")
    return Console(
        file=stream,
        force_terminal=terminal,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
    )
