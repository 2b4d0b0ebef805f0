"""One module per subcommand: parse -> call -> render. Each has `register(app)`."""

from __future__ import annotations

import functools
import sys
import time
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


def stdout_closed(wait: float = 0.0) -> bool:
    """Whether whoever reads our stdout has gone (`| head` exited), waiting up
    to `wait` seconds for it to happen.

    A follow loop that prints only on change would otherwise notice a closed
    pipe at its next write, which may never come. On a pipe whose reader
    closed, poll() reports POLLERR; terminals and files never do. Where poll
    is missing (Windows) or stdout is no file, this just sleeps.
    """
    import select

    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
    except (AttributeError, OSError, ValueError):
        time.sleep(wait)
        return False
    poller.register(fd, 0)  # no events asked for: only POLLERR / POLLHUP / POLLNVAL come back
    ready = poller.poll(max(0, int(wait * 1000)))
    closed = any(events & (select.POLLERR | select.POLLHUP) for _, events in ready)
    if not closed and ready:
        time.sleep(wait)  # POLLNVAL: not a descriptor we can watch
    return closed


def sleep_unless_closed(seconds: float) -> None:
    """`time.sleep`, but a closed stdout ends it at once with BrokenPipeError
    (which `boundary` turns into the quiet exit 141)."""
    if stdout_closed(seconds):
        raise BrokenPipeError
