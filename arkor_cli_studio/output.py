"""Everything we say that is not a command's own output: one module.

Notes, warnings and errors go to stderr as one line each, prefixed
`arkor-studio: ` and *always cleaned* (`textsafe.clean_line`): text that
came from a server, a file or the command line can hold escapes, markup or
line breaks, and every caller passes it through here rather than cleaning
it itself. JSON goes to stdout as one document or one line per record.

Also here: what happens when stdout itself fails (closed, full, gone).
"""

from __future__ import annotations

import errno
import os
import sys
import time
from typing import IO, Any, Final

PREFIX: Final = "arkor-studio: "

# A write to stdout failed for a reason the user must hear about (a broken
# pipe is not one: that is the reader's choice, exit 141 quietly).
WRITE_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF})


def say(text: str, *, stream: IO[str] | None = None) -> None:
    """`arkor-studio: <text>` on stderr (or `stream`), cleaned, flushed."""
    from arkor_cli_studio.textsafe import clean_line

    out = stream if stream is not None else sys.stderr
    print(PREFIX + clean_line(text), file=out, flush=True)


def line(text: str) -> None:
    """A line of ours on stderr without the prefix (a label, a summary), cleaned."""
    from arkor_cli_studio.textsafe import clean_line

    print(clean_line(text), file=sys.stderr, flush=True)


def prompt(text: str) -> None:
    """A question on stderr, cleaned, the cursor left after it (no newline);
    `prompt("")` after an EOF answer ends the line."""
    from arkor_cli_studio.textsafe import clean_line

    sys.stderr.write(clean_line(text) if text else "\n")
    sys.stderr.flush()


def hint(text: str) -> None:
    """`hint: <text>` on stderr, cleaned (the line after an error)."""
    from arkor_cli_studio.textsafe import clean_line

    print(f"hint: {clean_line(text)}", file=sys.stderr, flush=True)


def error(message: str, hint_text: str | None = None) -> None:
    """An error: its message and hint, one line each (a server's message can
    hold line breaks, and could fake a hint)."""
    if message:
        say(message)
    if hint_text:
        hint(hint_text)


def print_json(value: Any, *, pretty: bool = True) -> None:
    """One JSON document on stdout (`pretty`), or one compact NDJSON line."""
    import json  # here: every run loads this module, a TAB completion needs no json

    text = json.dumps(
        value, indent=2 if pretty else None, separators=None if pretty else (",", ":")
    )
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def write_all(fd: int, data: bytes) -> None:
    """All of `data` to a descriptor (os.write may write part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# ---- stdout that fails or goes away ------------------------------------------


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


class _ClosedStream:
    """sys.stdout/stderr when the descriptor was closed at start (`>&-`):
    a write fails as a write to a closed descriptor does (EBADF)."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def isatty(self) -> bool:
        return False


def hold_std_streams() -> None:
    """A closed stdin/stdout/stderr at start: keep its descriptor taken by
    /dev/null (so a socket or a file opened later cannot become "stdout",
    nor a child's), and make sys.stdout fail on write with EBADF (reported
    by `write_failed`) instead of being None (an AttributeError)."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        try:
            held = os.open(os.devnull, os.O_RDWR)
        except OSError:
            continue
        if held != fd:  # (the lowest free descriptor: it is `fd`)
            os.dup2(held, fd)
            os.close(held)
        if getattr(sys, name) is None:
            if name == "stdout":
                sys.stdout = _ClosedStream()
            else:
                setattr(sys, name, open(fd, "w" if fd else "r", closefd=False))  # noqa: SIM115


def is_write_failure(exc: BaseException) -> bool:
    """An OSError of writing our output (full disk, closed stdout, I/O error)."""
    return isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS


def write_failed(exc: OSError) -> None:
    """Say that the output could not be written (on stderr), and make sure the
    final flush at exit does not fail a second time."""
    reason = exc.strerror or str(exc)
    try:
        say(f"could not write the output: {reason}.")
    except (OSError, ValueError):
        pass
    quiet_stdout()


def quiet_stdout() -> None:
    """Point stdout at /dev/null (and drop what is buffered) so that the final
    flush at exit is silent: after a broken pipe or a failed write."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
