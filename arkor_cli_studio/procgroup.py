"""Stopping a child's whole process group, whatever signals us: Ctrl-C
(SIGINT, then SIGTERM, then SIGKILL after a grace each), SIGTERM/SIGHUP, and
whatever the child left behind when it exits. Used by `runner.run_start`.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from types import FrameType


class Supervisor:
    """Stops the child's process group on Ctrl-C / SIGTERM / SIGHUP, escalating
    after a grace period.

    `arkor start` runs in a process group of its own (its children, e.g. a
    worker, a wrapper's real program, are in it too), so every signal goes to
    the whole group. Ctrl-C: the group gets one SIGINT from us (the terminal's
    own SIGINT reaches only our group, so there is never a second one), then
    SIGTERM after `grace`, then SIGKILL after another `grace`. A second Ctrl-C
    escalates at once. SIGTERM/SIGHUP to us: the group gets SIGTERM, then
    SIGKILL after `grace`.
    """

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.proc: subprocess.Popen[bytes] | None = None
        self.interrupted = False
        self.terminated: int | None = None
        self.step = 0  # 0 nothing sent, 1 SIGINT, 2 SIGTERM, 3 SIGKILL
        self.deadline: float | None = None
        self.signals = 0  # signals we received (a change ends a drain early)
        self._pending: list[int] = []

    def handler(self, signum: int, _frame: FrameType | None) -> None:
        self.signals += 1
        if self.proc is None:
            self._pending.append(signum)
            return
        self.react(signum)

    def react(self, signum: int) -> None:
        if signum == signal.SIGINT:
            self.interrupted = True
            if self.step == 0:
                self._send(signal.SIGINT)
                self.step = 1
                self.deadline = time.monotonic() + self.grace
            else:
                self.escalate()
        else:
            self.terminated = self.terminated or signum
            if self.step < 2:
                self.step = 1
                self.escalate()

    def escalate(self) -> None:
        if self.step >= 3:
            return
        self.step += 1
        self._send(signal.SIGTERM if self.step == 2 else signal.SIGKILL)
        self.deadline = time.monotonic() + self.grace if self.step < 3 else None

    def _send(self, sig: int) -> None:
        if self.proc is not None:
            # The group outlives its leader while a member is left: signal it
            # even after arkor start itself has exited (see end_group).
            signal_group(self.proc.pid, sig)

    def attach(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        for signum in self._pending:
            self.react(signum)
        self._pending.clear()

    def wait(self) -> int:
        """Wait for the child, escalating at the deadlines; returns its status.

        Sleeps in `select` on a pidfd (the child's exit) and a signal wake-up
        pipe (a signal changed the deadline), so the exit is noticed at once;
        without pidfd (not Linux) it polls every 50 ms.
        """
        proc = self.proc
        assert proc is not None
        try:
            pidfd: int | None = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            pidfd = None
        with wakeup() as wake_r:
            try:
                while True:
                    status = proc.poll()
                    if status is not None:
                        return status
                    now = time.monotonic()
                    if self.deadline is not None and now >= self.deadline:
                        self.escalate()
                        continue
                    timeout = None if self.deadline is None else self.deadline - now
                    if pidfd is None:
                        timeout = 0.05 if timeout is None else min(timeout, 0.05)
                    watched = [wake_r] if pidfd is None else [pidfd, wake_r]
                    ready, _, _ = select.select(watched, [], [], timeout)
                    if wake_r in ready:
                        drain_fd(wake_r)
            finally:
                if pidfd is not None:
                    os.close(pidfd)

    def end_group(self, until: float) -> None:
        """arkor start has exited: whatever it left in its process group (a
        worker, a background writer) gets SIGTERM now and SIGKILL at `until`
        (or after `grace`, whichever is first): nothing of the run outlives us."""
        proc = self.proc
        if proc is None or not group_alive(proc.pid):
            return
        signal_group(proc.pid, signal.SIGTERM)
        deadline = min(until, time.monotonic() + self.grace)
        while group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        signal_group(proc.pid, signal.SIGKILL)


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """Whether any process is left in the process group `pgid`."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def wakeup() -> Iterator[int]:
    """A pipe that Python's signal handling writes to on every signal (its read
    end, non-blocking), so a `select` wakes up for a signal."""
    wake_r, wake_w = os.pipe()  # not inherited by children (PEP 446)
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    old_wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    try:
        yield wake_r
    finally:
        signal.set_wakeup_fd(old_wakeup)
        os.close(wake_r)
        os.close(wake_w)


def drain_fd(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 512):
            pass
