"""`arkor start` passthrough: run it in its own process group, pass its
output through, stop it (and everything it started) on Ctrl-C or a signal.

No terminal rendering here: the command prints what these functions return.
`arkor start`'s own output is the product and is passed through untouched:
either the child inherits our descriptors (nothing needs to read it), or,
when something must read stdout (`--watch`), a pump copies raw bytes with
`os.read`/`os.write`, no decoding, no buffering, and hands each chunk to a
callback such as `start_output.StartedJobScanner.feed`. Finding `arkor`,
the manifest and the lock: `arkor_project`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from arkor_cli_studio.errors import ConfigError
from arkor_cli_studio.output import write_all
from arkor_cli_studio.signals import terminate_on
from arkor_cli_studio.start_output import OutcomeScanner, outcome_exit_code

# --- running `arkor start` ------------------------------------------------------


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """SIGTERM/SIGHUP raise Terminated, so `subprocess.run` kills its child and
    every `finally` (the lock) runs."""
    with terminate_on(signal.SIGTERM, signal.SIGHUP):
        yield


@dataclass
class RunResult:
    code: int  # what we exit with
    child_code: int | None  # arkor start's own status (128+N if killed by signal N)
    interrupted: bool = False  # Ctrl-C
    terminated: int | None = None  # the signal that terminated us
    outcome: str | None = None  # `finished with status=<outcome>` (None: never printed)
    outcome_job: str | None = None  # the job id on that line

    @classmethod
    def finished(cls, child_code: int, outcome: str | None, job: str | None = None) -> RunResult:
        """arkor start ran to its end on its own: exit by the job's outcome."""
        return cls(outcome_exit_code(child_code, outcome), child_code, outcome=outcome,
                   outcome_job=job)  # fmt: skip


class _Supervisor:
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
        with _wakeup() as wake_r:
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
                        _drain_fd(wake_r)
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
def _wakeup() -> Iterator[int]:
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


def _drain_fd(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 512):
            pass


PUMP_READ = 1 << 20


def _pump(
    source: int,
    target: int | None,
    on_chunk: Callable[[bytes], object] | None,
    outcome: OutcomeScanner | None,
    stop: int,
) -> None:
    """Copy raw bytes as they come; hand each chunk to `on_chunk` after writing it.

    Every chunk also goes to `outcome` (the `finished with status=` line is the
    last thing arkor start prints, so all of stdout is read). Once `on_chunk`
    returns True (it needs no more, e.g. the job id was found) it is not
    called again. When our stdout is gone (EPIPE), stop reading: the child
    then sees a closed pipe, exactly as if it had written to our stdout itself.
    With no `target`, `on_chunk` gets every byte and is the only consumer (it
    writes them itself). Ends at end of file, or as soon as `stop` becomes
    readable (a process that arkor start left behind may hold the pipe open
    for ever).
    """
    try:
        while True:
            ready, _, _ = select.select([source, stop], [], [])
            if source not in ready:
                return
            try:
                chunk = os.read(source, PUMP_READ)
            except InterruptedError:
                continue
            if not chunk:
                return
            if target is not None:
                try:
                    write_all(target, chunk)
                except BrokenPipeError:
                    return
            if outcome is not None:
                with contextlib.suppress(Exception):
                    outcome.feed(chunk)
            if on_chunk is not None:
                done = False
                with contextlib.suppress(Exception):
                    done = on_chunk(chunk) is True
                if done and target is not None:
                    on_chunk = None
    except OSError:  # EPIPE, or our stdout failed otherwise: stop, the child sees it
        return
    finally:
        os.close(source)


def _grow_pipe(fd: int) -> None:
    """A 1 MiB pipe (Linux F_SETPIPE_SZ) instead of 64 KiB: a chatty arkor start
    fills it in fewer, larger writes, and the pump copies in 16x fewer rounds."""
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PUMP_READ)


def _stdin_for_child() -> int | None:
    """arkor start's stdin: ours, except a terminal. In its own process group it
    is not the terminal's foreground job, and a read from the terminal would stop
    it (SIGTTIN) for ever; Studio gives it an unused pipe, we give it /dev/null."""
    try:
        terminal = os.isatty(0)
    except OSError:
        terminal = False
    return subprocess.DEVNULL if terminal else None


# Long on purpose: one process's life: start, pump, signal, reap.
def run_start(
    arkor: Path,
    project: Path,
    entry: Path | None,
    env: Mapping[str, str],
    *,
    grace: float = 10.0,
    drain: float = 5.0,
    on_stdout: Callable[[bytes], object] | None = None,
    stdout_fd: int | None = 1,
    on_stderr: Callable[[bytes], object] | None = None,
    stderr_fd: int | None = 2,
) -> RunResult:
    """Run `arkor start [entry]` in the project and wait for it, whatever happens.

    stdout always goes through a pipe that a thread copies to `stdout_fd`
    chunk by chunk, byte for byte: the last line, `Job <id> finished with
    status=<s>`, is the job's outcome (arkor start exits 0 for a failed job
    too), and the result's `code` follows it. `on_stdout(chunk)` is called
    too, until it returns True. With `stdout_fd=None` nothing is copied:
    `on_stdout` gets every byte and writes it itself (e.g. above a live view).
    stderr is inherited, or goes through `on_stderr`/`stderr_fd` the same way.
    arkor start runs in a process group of its own; Ctrl-C, SIGTERM and SIGHUP
    are handled here: the group is stopped and waited for before we return.
    When arkor start exits, what it left in its group is stopped too, and we
    read its output for at most `drain` more seconds (a process it left behind
    may hold the pipe open): nothing is left running, nothing hangs.
    """
    argv = [str(arkor), "start", *([str(entry)] if entry is not None else [])]
    supervisor = _Supervisor(grace)
    watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    # A signal we were started with ignored (nohup, `&` in a script) stays ignored.
    previous = {
        sig: signal.signal(sig, supervisor.handler)
        for sig in watched
        if signal.getsignal(sig) is not signal.SIG_IGN
    }
    outcome = OutcomeScanner()
    pumps: list[threading.Thread] = []
    stop_r, stop_w = os.pipe()
    try:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=project,
                env=dict(env),
                stdin=_stdin_for_child(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if on_stderr is not None else None,
                process_group=0,
            )
        except OSError as exc:
            raise ConfigError(f"Can't run {arkor}: {exc.strerror or exc}.") from None
        supervisor.attach(proc)
        for pipe, target, callback, scanner in (
            (proc.stdout, stdout_fd, on_stdout, outcome),
            (proc.stderr, stderr_fd, on_stderr, None),
        ):
            if pipe is not None:
                source = os.dup(pipe.fileno())
                pipe.close()
                _grow_pipe(source)
                pump = threading.Thread(
                    target=_pump, args=(source, target, callback, scanner, stop_r), daemon=True
                )
                pump.start()
                pumps.append(pump)
        status = supervisor.wait()
        until = time.monotonic() + drain
        supervisor.end_group(until)
        _join_pumps(pumps, until, supervisor)
        os.write(stop_w, b"x")
        for pump in pumps:
            pump.join(1.0)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        os.close(stop_w)
        if not any(pump.is_alive() for pump in pumps):
            os.close(stop_r)
    child_code = status if status >= 0 else 128 - status
    if supervisor.terminated is not None:
        code = 128 + supervisor.terminated
    elif supervisor.interrupted:
        code = 130
    else:
        return RunResult.finished(child_code, outcome.status, outcome.job_id)
    return RunResult(
        code,
        child_code,
        supervisor.interrupted,
        supervisor.terminated,
        outcome=outcome.status,
        outcome_job=outcome.job_id,
    )


def _join_pumps(pumps: list[threading.Thread], until: float, supervisor: _Supervisor) -> None:
    """Wait for the output to end, until `until` or a signal (Ctrl-C, SIGTERM)."""
    seen = supervisor.signals
    for pump in pumps:
        while pump.is_alive() and supervisor.signals == seen:
            left = until - time.monotonic()
            if left <= 0:
                return
            pump.join(min(left, 0.05))
