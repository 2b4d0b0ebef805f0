"""One module per subcommand: parse -> call -> render. Each has `register(app)`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from arkor_cli_studio.errors import BrokenPipe, Interrupted

F = TypeVar("F", bound=Callable[..., Any])


def examples(*lines: str) -> str:
    """A help epilog of example command lines, kept verbatim (no rewrapping)."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


def boundary(fn: F) -> F:
    """Ctrl-C and a closed stdout become our own errors (exit 130 / 141).

    Typer would turn KeyboardInterrupt into "Aborted!" and exit 1.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:
            raise Interrupted() from None
        except BrokenPipeError:
            raise BrokenPipe() from None

    return wrapper  # type: ignore[return-value]
