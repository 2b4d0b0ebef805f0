"""Signals: one rule for the whole program, in one place.

SIGTERM and SIGHUP raise `Terminated(signum)` in the main thread, so the run
unwinds like Ctrl-C (every `finally` runs: a Live view shows the cursor
again, the terminal leaves cbreak mode, a temporary directory is removed),
then the process exits 128 + signum (143, 129), what a shell reports for a
process a signal ended. A signal we were started with ignored (`nohup`, `&`
in a script) stays ignored. `app.main()` installs the rule for the whole
run; `train` narrows it while `arkor start` runs (runner.run_start).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

UNWINDING = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """A signal ended the run: unwinds like Ctrl-C, then exit 128 + signum.

    A BaseException, so no `except ArkorStudioError` / `except Exception` on
    the way (a poll that reports and carries on) can swallow it.
    """

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextlib.contextmanager
def terminate_on(*signums: int, once: bool = False) -> Iterator[None]:
    """Inside, each of `signums` (default SIGTERM and SIGHUP) raises
    `Terminated` in the main thread. `once`: the handler puts the default
    action back first, so a second signal is not delayed by the unwinding.
    Off the main thread (an embedding test) signals are left alone."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        if once:
            signal.signal(signum, signal.SIG_DFL)
        raise Terminated(signum)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        sig: signal.signal(sig, handler)
        for sig in (signums or UNWINDING)
        if signal.getsignal(sig) is not signal.SIG_IGN
    }
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
