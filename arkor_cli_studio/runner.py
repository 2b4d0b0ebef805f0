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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from arkor_cli_studio.errors import ConfigError
from arkor_cli_studio.output import write_all
from arkor_cli_studio.procgroup import Supervisor
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
    supervisor = Supervisor(grace)
    previous = _handle_signals(supervisor.handler)
    outcome = OutcomeScanner()
    pumps: list[threading.Thread] = []
    stop_r, stop_w = os.pipe()
    try:
        proc = _spawn(arkor, argv, project, env, pipe_stderr=on_stderr is not None)
        supervisor.attach(proc)
        _start_pumps(
            pumps,
            (
                (proc.stdout, stdout_fd, on_stdout, outcome),
                (proc.stderr, stderr_fd, on_stderr, None),
            ),
            stop_r,
        )
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
    return _result(status, supervisor, outcome)


def _handle_signals(handler: Callable[[int, FrameType | None], None]) -> dict[int, Any]:
    """Ctrl-C, SIGTERM and SIGHUP to `handler`; the previous handlers, to put
    back. A signal we were started with ignored (nohup, `&` in a script)
    stays ignored."""
    return {
        sig: signal.signal(sig, handler)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        if signal.getsignal(sig) is not signal.SIG_IGN
    }


def _spawn(
    arkor: Path, argv: list[str], project: Path, env: Mapping[str, str], *, pipe_stderr: bool
) -> subprocess.Popen[bytes]:
    """arkor start in a process group of its own, its stdout (and stderr) piped."""
    try:
        return subprocess.Popen(
            argv,
            cwd=project,
            env=dict(env),
            stdin=_stdin_for_child(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if pipe_stderr else None,
            process_group=0,
        )
    except OSError as exc:
        raise ConfigError(f"Can't run {arkor}: {exc.strerror or exc}.") from None


def _start_pumps(
    pumps: list[threading.Thread],
    outputs: Iterable[
        tuple[IO[bytes] | None, int | None, Callable[[bytes], object] | None, OutcomeScanner | None]
    ],
    stop_r: int,
) -> None:
    """A pump thread per piped output (appended to `pumps` as it starts)."""
    for pipe, target, callback, scanner in outputs:
        if pipe is None:
            continue
        source = os.dup(pipe.fileno())
        pipe.close()
        _grow_pipe(source)
        pump = threading.Thread(
            target=_pump, args=(source, target, callback, scanner, stop_r), daemon=True
        )
        pump.start()
        pumps.append(pump)


def _result(status: int, supervisor: Supervisor, outcome: OutcomeScanner) -> RunResult:
    """The run's result: the job's outcome, unless a signal stopped us."""
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


def _join_pumps(pumps: list[threading.Thread], until: float, supervisor: Supervisor) -> None:
    """Wait for the output to end, until `until` or a signal (Ctrl-C, SIGTERM)."""
    seen = supervisor.signals
    for pump in pumps:
        while pump.is_alive() and supervisor.signals == seen:
            left = until - time.monotonic()
            if left <= 0:
                return
            pump.join(min(left, 0.05))
