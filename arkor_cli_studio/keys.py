"""Single key presses from a terminal's stdin, for live views (`watch`'s `a`).

`read_keys(on_key)` puts stdin in cbreak mode (keys arrive one by one, no
echo; Ctrl-C and Ctrl-Z still send their signals) and hands each key to
`on_key` from a daemon thread (a printable character as itself, arrows and
the like by name: `decode_keys`), only when stdin is a terminal and this
process is in its foreground (a background job touching the terminal would
be stopped by SIGTTOU/SIGTTIN). The terminal's settings are put back on
every way out: a normal exit, an exception (Ctrl-C's KeyboardInterrupt),
SIGTERM and SIGHUP (restored, then the previous handler or the default
action runs), and Ctrl-Z (restored on SIGTSTP, cbreak again on SIGCONT).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import IO, Any

_Handler = Callable[[int, FrameType | None], Any] | int | None

#: The names `on_key` gets for keys that are not one printable character.
UP, DOWN, LEFT, RIGHT = "up", "down", "left", "right"
HOME, END, PAGE_UP, PAGE_DOWN = "home", "end", "pgup", "pgdn"
ENTER, ESC, BACKSPACE = "enter", "esc", "backspace"
_SEQUENCES = {
    "\x1b[A": UP,
    "\x1bOA": UP,
    "\x1b[B": DOWN,
    "\x1bOB": DOWN,
    "\x1b[C": RIGHT,
    "\x1bOC": RIGHT,
    "\x1b[D": LEFT,
    "\x1bOD": LEFT,
    "\x1b[H": HOME,
    "\x1b[1~": HOME,
    "\x1b[7~": HOME,
    "\x1bOH": HOME,
    "\x1b[F": END,
    "\x1b[4~": END,
    "\x1b[8~": END,
    "\x1bOF": END,
    "\x1b[5~": PAGE_UP,
    "\x1b[6~": PAGE_DOWN,
}


def decode_keys(data: str) -> list[str]:
    """The keys of one chunk read from a terminal in cbreak mode: a
    printable character as itself; arrows, Home/End, Page Up/Down, Enter,
    Esc and Backspace as the names above; other escape sequences (F keys,
    Alt-...) skipped whole."""
    keys: list[str] = []
    i = 0
    while i < len(data):
        char = data[i]
        if char == "\x1b":
            for sequence, name in _SEQUENCES.items():
                if data.startswith(sequence, i):
                    keys.append(name)
                    i += len(sequence)
                    break
            else:
                if data.startswith(("\x1b[", "\x1bO"), i) and i + 2 < len(data):
                    j = i + 2
                    while j < len(data) and not "@" <= data[j] <= "~":
                        j += 1
                    i = j + 1
                else:
                    keys.append(ESC)
                    i += 1
            continue
        if char in ("\r", "\n"):
            keys.append(ENTER)
        elif char in ("\x7f", "\x08"):
            keys.append(BACKSPACE)
        elif char.isprintable():
            keys.append(char)
        i += 1
    return keys


def available(stream: IO[str] | None = None) -> bool:
    """Keys can be read from `stream` (default stdin) now."""
    return _terminal_fd(sys.stdin if stream is None else stream) is not None


def _terminal_fd(stream: IO[str] | None) -> int | None:
    """stdin's descriptor when it is a terminal we may use now, else None."""
    if stream is None:
        return None
    try:
        fd = stream.fileno()
        if not os.isatty(fd):
            return None
        return fd if os.tcgetpgrp(fd) == os.getpgrp() else None
    except (AttributeError, OSError, ValueError):
        return None


@contextmanager
def read_keys(on_key: Callable[[str], None], stream: IO[str] | None = None) -> Iterator[bool]:
    """Inside: keys typed on `stream` (default stdin) go to `on_key` (on
    another thread). Yields False, and does nothing, when it is not a
    foreground terminal."""
    import termios
    import tty

    fd = _terminal_fd(sys.stdin if stream is None else stream)
    if fd is None:
        yield False
        return
    try:
        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd, termios.TCSANOW)
    except (termios.error, OSError):
        yield False
        return
    restored = threading.Event()

    def restore() -> None:
        try:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        except (termios.error, OSError):
            pass

    wake_r, wake_w = os.pipe()
    reader = threading.Thread(
        target=_read, args=(fd, wake_r, on_key), name="watch-keys", daemon=True
    )
    previous = _install_handlers(restore, lambda: _cbreak_again(fd, restored))
    try:
        reader.start()
        yield True
    finally:
        restored.set()
        os.write(wake_w, b".")
        reader.join(timeout=1.0)
        restore()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(wake_r)
        os.close(wake_w)


def _cbreak_again(fd: int, restored: threading.Event) -> None:
    import termios
    import tty

    if not restored.is_set():
        try:
            tty.setcbreak(fd, termios.TCSANOW)
        except (termios.error, OSError):
            pass


def _read(fd: int, wake: int, on_key: Callable[[str], None]) -> None:
    import select

    while True:
        try:
            ready, _, _ = select.select([fd, wake], [], [])
        except (OSError, ValueError):
            return
        if wake in ready:
            return
        try:
            data = os.read(fd, 64)
        except OSError:
            return
        if not data:
            return  # end of input (the terminal hung up)
        for key in decode_keys(data.decode("utf-8", "ignore")):
            on_key(key)


def _install_handlers(
    restore: Callable[[], None], again: Callable[[], None]
) -> dict[int, _Handler]:
    """SIGTERM/SIGHUP/SIGTSTP restore the terminal first, SIGCONT re-enters
    cbreak; then each does what it did before. Only on the main thread (the
    only one that may set handlers); elsewhere the `finally` is the guard."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, _Handler] = {}

    def chain(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGCONT:
            again()
        else:
            restore()
        old = previous.get(signum)
        if callable(old):
            old(signum, frame)
        elif signum != signal.SIGCONT and old in (signal.SIG_DFL, None):
            # The default action (terminate, or stop for SIGTSTP), as if we
            # had not been here; our handler is back once we continue.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            signal.signal(signum, chain)
            # Continued (or the stop was discarded, as in an orphaned
            # process group): keys again.
            again()

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGTSTP, signal.SIGCONT):
        old = signal.getsignal(signum)
        if old is signal.SIG_IGN:
            continue
        previous[signum] = old
        signal.signal(signum, chain)
    return previous
