"""How tests run the CLI: in-process (fast), as a subprocess (exit codes,
signals, pipes), and under a pseudo-terminal (TTY behaviour)."""

from __future__ import annotations

import contextlib
import io
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "tok-SECRET-4f9a2c"  # recognisable: tests grep for it in every output
STUDIO_TOKEN = "studio-SECRET-77b1"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@contextlib.contextmanager
def patched_environ(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_inprocess(args: list[str], env: Mapping[str, str], stdin: str = "") -> Result:
    """`main()` in this process, with its own argv, environment and std streams."""
    from arkor_cli_studio.app import main

    out, err = io.StringIO(), io.StringIO()
    saved_argv, saved_stdin = sys.argv, sys.stdin
    code = 0
    with patched_environ(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        sys.argv = ["arkor-studio", *args]
        sys.stdin = io.StringIO(stdin)
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv, sys.stdin = saved_argv, saved_stdin
    return Result(code, out.getvalue(), err.getvalue())


def cli_command() -> list[str]:
    return [sys.executable, "-m", "arkor_cli_studio"]


def subprocess_env(env: Mapping[str, str]) -> dict[str, str]:
    merged = dict(env)
    # A crash of the CLI (a signal test once saw -11 under load, never again
    # alone) prints every thread's stack to stderr, which the failing test shows.
    merged.setdefault("PYTHONFAULTHANDLER", "1")
    merged["PYTHONPATH"] = str(ROOT) + (
        os.pathsep + merged["PYTHONPATH"] if merged.get("PYTHONPATH") else ""
    )
    return merged


def run_subprocess(
    args: list[str],
    env: Mapping[str, str],
    *,
    timeout: float = 60,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> Result:
    proc = subprocess.run(
        [*cli_command(), *args],
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin if stdin is not None else "",
        cwd=cwd,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def start_subprocess(
    args: list[str], env: Mapping[str, str], **kwargs: object
) -> subprocess.Popen[str]:
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [*cli_command(), *args],
        env=subprocess_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


@dataclass
class PtyRun:
    """A CLI process whose stdin/stdout/stderr are a pseudo-terminal."""

    pid: int
    fd: int
    output: bytearray = field(default_factory=bytearray)
    code: int | None = None
    # The terminal's settings when the process had exited (read before the
    # pty is closed): what it left behind, e.g. after cbreak mode.
    final_termios: list[Any] | None = None

    def termios(self) -> list[Any]:
        """The terminal's settings now (`termios.tcgetattr` of the pty)."""
        import termios

        return termios.tcgetattr(self.fd)

    def read_until(self, predicate: Callable[[bytes], bool], timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(bytes(self.output)):
                return True
            if not self._pump(0.05):
                return predicate(bytes(self.output))
        return predicate(bytes(self.output))

    def _pump(self, wait: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], wait)
        if ready:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            self.output.extend(chunk)
        return True

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def signal(self, sig: int = signal.SIGINT) -> None:
        os.kill(self.pid, sig)

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._pump(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._pump(0.01):
                    pass
                self.final_termios = self.termios()
                os.close(self.fd)
                self.code = os.waitstatus_to_exitcode(status)
                return self.code
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise TimeoutError(
            f"still running after {timeout}s; output: {bytes(self.output)[-2000:]!r}"
        )

    @property
    def text(self) -> str:
        return bytes(self.output).decode("utf-8", "replace")


def start_pty(
    args: list[str], env: Mapping[str, str], *, columns: int = 100, rows: int = 40
) -> PtyRun:
    import fcntl
    import struct
    import termios

    full_env = subprocess_env(env)
    full_env.setdefault("TERM", "xterm-256color")
    full_env["COLUMNS"], full_env["LINES"] = str(columns), str(rows)
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            os.execve(sys.executable, [*cli_command(), *args], full_env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return PtyRun(pid, fd)
