"""`arkor` discovery, the manifest, the per-project lock, and `arkor start` passthrough.

No terminal rendering here: the command prints what these functions return.
`arkor start`'s own output is the product and is passed through untouched:
either the child inherits our descriptors (nothing needs to read it), or,
when something must read stdout (`--watch`), a pump copies raw bytes with
`os.read`/`os.write`, no decoding, no buffering, and hands each chunk to a
callback such as `StartedJobScanner.feed`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from arkor_cli_studio.errors import ArkorStudioError, ConfigError, UsageError
from arkor_cli_studio.textsafe import clean, clean_line

INSTALL_HINT = (
    "Install it in the project: `npm install arkor` (or pass --arkor PATH / set ARKOR_BIN)."
)
NO_TRAINER = (
    "No trainer in src/arkor/index.ts yet. Add createTrainer(...) and pass it to createArkor."
)
MANIFEST_ERROR_PREFIX = "Couldn't read manifest: "
MAX_ERROR_CHARS = 2000

# Imports the bundle the way Studio's /api/manifest does and prints
# {"trainer": {"name": ...} | null} or {"error": "..."}. The bundle's path
# arrives as an argument (process.argv[1]), never inside this source.
MANIFEST_SCRIPT = r"""
import { pathToFileURL } from "node:url";
const out = (value) => process.stdout.write(JSON.stringify(value) + "\n");
try {
  const mod = await import(pathToFileURL(process.argv[1]).href);
  const isManifest = (v) => v !== null && typeof v === "object" && v._kind === "arkor";
  const manifest = isManifest(mod.arkor) ? mod.arkor : isManifest(mod.default) ? mod.default : null;
  const trainer = manifest && manifest.trainer;
  out({ trainer: trainer ? { name: String(trainer.name ?? "") } : null });
} catch (err) {
  out({ error: String(err && err.message !== undefined ? err.message : err) });
}
"""


# --- finding arkor -----------------------------------------------------------


def find_arkor(project: Path, explicit: Path | None, env: Mapping[str, str]) -> Path:
    """--arkor PATH, else ARKOR_BIN, else <project>/node_modules/.bin/arkor, else PATH."""
    looked: list[str] = []
    if explicit is not None:
        candidate = explicit.expanduser()
        if _executable(candidate):
            return candidate.absolute()
        raise ConfigError(f"--arkor {candidate} is not an executable file.", hint=INSTALL_HINT)
    from_env = env.get("ARKOR_BIN")
    if from_env:
        candidate = Path(from_env).expanduser()
        if _executable(candidate):
            return candidate.absolute()
        raise ConfigError(f"ARKOR_BIN={from_env} is not an executable file.", hint=INSTALL_HINT)
    local = project / "node_modules" / ".bin" / "arkor"
    if _executable(local):
        return local
    looked.append(str(local))
    on_path = shutil.which("arkor", path=env.get("PATH", os.defpath))
    if on_path:
        return Path(on_path)
    looked.append("PATH")
    raise ConfigError(
        f"Can't find the arkor CLI (looked in {' and '.join(looked)}).", hint=INSTALL_HINT
    )


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


# --- --file --------------------------------------------------------------------


def resolve_entry(project: Path, entry: str) -> Path:
    """The entry file, symlinks resolved, relative paths against the project.

    Outside the project (after resolving symlinks) is a usage error, as
    Studio's backend refuses it.
    """
    root = project.resolve()
    resolved = (root / Path(entry).expanduser()).resolve()
    if not resolved.is_relative_to(root):
        raise UsageError(
            f"--file {entry} is outside the project directory {root}.",
            hint="Pass an entry file inside the project (e.g. src/arkor/index.ts).",
        )
    if not resolved.is_file():
        raise UsageError(f"--file {entry}: no such file in {root}.")
    return resolved


# --- the manifest ----------------------------------------------------------------


def bundle_path(project: Path) -> Path:
    return project / ".arkor" / "build" / "index.mjs"


class ManifestError(ConfigError):
    """Studio's `Couldn't read manifest: <error>`; exit 4, nothing started."""

    def __init__(
        self,
        error: str,
        hint: str | None = "Fix it (see src/arkor/), or run `arkor build` to see the full output.",
    ) -> None:
        super().__init__(MANIFEST_ERROR_PREFIX + error, hint)
        self.error = error


class NoTrainerError(ConfigError):
    def __init__(self) -> None:
        super().__init__(NO_TRAINER)


def run_label(name: str) -> str:
    return f"Run training: {clean_line(name)}"


def short_error(text: str) -> str:
    text = clean(text).strip()
    if len(text) > MAX_ERROR_CHARS:
        text = "…" + text[-MAX_ERROR_CHARS:]
    return text


def build(
    arkor: Path, project: Path, entry: Path | None, env: Mapping[str, str], timeout: float
) -> None:
    """`arkor build [entry]` in the project; a failure is a ManifestError."""
    argv = [str(arkor), "build", *([str(entry)] if entry is not None else [])]
    try:
        result = subprocess.run(
            argv,
            cwd=project,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ManifestError(f"`arkor build` took longer than {timeout:g}s.") from None
    except OSError as exc:
        raise ManifestError(f"can't run {arkor}: {exc.strerror or exc}") from None
    if result.returncode != 0:
        output = short_error(result.stdout.decode("utf-8", "replace"))
        raise ManifestError(output or f"`arkor build` exited with status {result.returncode}.")


def read_manifest(project: Path, env: Mapping[str, str], timeout: float) -> str | None:
    """The trainer's name from the built bundle, or None when it has none.

    Imports `.arkor/build/index.mjs` with Node, as Studio's /api/manifest does.
    """
    node = shutil.which("node", path=env.get("PATH", os.defpath))
    if node is None:
        raise ManifestError(
            "Node.js (`node`) is not on PATH.", hint="Install Node.js 18+ (arkor needs it too)."
        )
    bundle = bundle_path(project)
    if not bundle.is_file():
        raise ManifestError(f"{bundle} does not exist after `arkor build`.")
    try:
        result = subprocess.run(
            [node, "--input-type=module", "-e", MANIFEST_SCRIPT, "--", str(bundle)],
            cwd=project,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ManifestError(f"importing {bundle} took longer than {timeout:g}s.") from None
    except OSError as exc:
        raise ManifestError(f"can't run {node}: {exc.strerror or exc}") from None
    return parse_manifest_output(result.returncode, result.stdout, result.stderr)


def parse_manifest_output(code: int, stdout: bytes, stderr: bytes) -> str | None:
    """The trainer name (None: no trainer) from the Node script's output."""
    last = stdout.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    try:
        data: Any = json.loads(last[0])
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or code != 0:
        detail = short_error(stderr.decode("utf-8", "replace"))
        raise ManifestError(detail or f"node exited with status {code}.")
    if "error" in data:
        raise ManifestError(short_error(str(data["error"])) or "the bundle failed to import.")
    trainer = data.get("trainer")
    if isinstance(trainer, dict):
        return str(trainer.get("name", ""))
    return None


def stale_sources(project: Path) -> list[Path]:
    """Files under src/arkor/ newer than the bundle (empty when there is no bundle)."""
    bundle = bundle_path(project)
    try:
        built = bundle.stat().st_mtime
    except OSError:
        return []
    newer = []
    for path in sorted((project / "src" / "arkor").rglob("*")):
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime > built:
                newer.append(path)
    return newer


# --- one run per project ----------------------------------------------------------


def state_dir(env: Mapping[str, str]) -> Path:
    """$XDG_STATE_HOME/arkor-studio (an absolute XDG_STATE_HOME), else ~/.local/state/..."""
    xdg = env.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "arkor-studio"


def lock_path(project: Path, env: Mapping[str, str]) -> Path:
    key = hashlib.sha256(str(project.resolve()).encode()).hexdigest()[:24]
    return state_dir(env) / "locks" / f"train-{key}.lock"


class BusyError(ArkorStudioError):
    """Another `train` runs in this project (exit 1)."""

    def __init__(self, pid: int | None) -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(
            f"Another `arkor-studio train` is already running in this project{who}.",
            hint="Wait for it to finish, or stop it (Ctrl-C in its terminal).",
        )
        self.pid = pid


@contextlib.contextmanager
def project_lock(project: Path, env: Mapping[str, str]) -> Iterator[Path]:
    """Hold the project's lock for the duration; BusyError when it is held.

    An advisory `flock` on a file that holds our pid: the kernel releases it
    when the holder dies, so a lock left behind by a dead process is stale
    and simply taken over. The file is removed on every exit path we control.
    """
    path = lock_path(project, env)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise BusyError(_read_pid(path)) from None
        # The holder may have unlinked the file between our open and flock:
        # then we locked an orphan inode; start over on the current file.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


# --- `Started job <id>` ---------------------------------------------------------

_ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_STARTED = re.compile(rb"Started job (\S+)")


@dataclass
class StartedJobScanner:
    """Finds `Started job <id>` in arkor start's stdout, fed raw chunks split anywhere.

    `feed(chunk)` returns the job id once, on the chunk that completes the
    line; afterwards it returns None and only `job_id` remembers it. A line is
    matched after its ANSI colour codes are removed; lines longer than
    `max_line` are ignored, so memory stays bounded whatever arkor prints.
    Cheap on bulk output: a chunk without `Started` costs one `bytes.find`.
    """

    max_line: int = 4096
    job_id: str | None = None
    _partial: bytes = field(default=b"", repr=False)
    _overflow: bool = False  # the current (unfinished) line is too long: skip it

    def feed(self, chunk: bytes) -> str | None:
        if self.job_id is not None or not chunk:
            return None
        last = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if last < 0:  # no line ends here: remember the piece (bounded)
            self._carry(chunk)
            return None
        # chunk[:last + 1] is the end of the carried line, then whole lines;
        # searched in place (no copies of the bulk).
        first_end = _line_end(chunk, 0, last + 1)
        found = None
        if not self._overflow and len(self._partial) + first_end <= self.max_line:
            found = self._check(self._partial + chunk[:first_end])
        if found is None:
            found = self._scan(chunk, first_end + 1, last + 1)
        self._partial, self._overflow = b"", False
        self._carry(chunk[last + 1 :])
        if found is not None:
            self.job_id = found
        return found

    def _carry(self, piece: bytes) -> None:
        if self._overflow:
            return
        if len(self._partial) + len(piece) > self.max_line:
            self._partial, self._overflow = b"", True
        else:
            self._partial += piece

    def _scan(self, data: bytes, start: int, stop: int) -> str | None:
        """Check each line of data[start:stop] (whole lines) that contains `Started`."""
        at = data.find(_KEY, start, stop)
        while at >= 0:
            begin = max(data.rfind(b"\n", start, at), data.rfind(b"\r", start, at)) + 1
            end = _line_end(data, at, stop)
            found = self._check(data[max(begin, start) : end])
            if found is not None:
                return found
            at = data.find(_KEY, end + 1, stop)
        return None

    def _check(self, line: bytes) -> str | None:
        if len(line) > self.max_line or _KEY not in line:
            return None
        match = _STARTED.search(_ANSI.sub(b"", line))
        if match is None:
            return None
        job_id = match.group(1).decode("utf-8", "replace").rstrip(".,;:")
        return clean_line(job_id) or None


_KEY = b"Started"


def _line_end(chunk: bytes, start: int, stop: int) -> int:
    """The index of the first line break in chunk[start:stop] (-1: none)."""
    newline, carriage = chunk.find(b"\n", start, stop), chunk.find(b"\r", start, stop)
    if newline < 0:
        return carriage
    if carriage < 0:
        return newline
    return min(newline, carriage)


# --- running `arkor start` ------------------------------------------------------


class Terminated(BaseException):
    """We got SIGTERM/SIGHUP outside the supervised run (e.g. during the build)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """SIGTERM/SIGHUP raise Terminated, so `subprocess.run` kills its child and
    every `finally` (the lock) runs."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Terminated(signum)

    # Under `nohup` SIGHUP is ignored: keep it so (and arkor start inherits that).
    previous = {
        sig: signal.signal(sig, handler)
        for sig in (signal.SIGTERM, signal.SIGHUP)
        if signal.getsignal(sig) is not signal.SIG_IGN
    }
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@dataclass
class RunResult:
    code: int  # what we exit with
    child_code: int | None  # arkor start's own status (128+N if killed by signal N)
    interrupted: bool = False  # Ctrl-C
    terminated: int | None = None  # the signal that terminated us


def _foreground_tty() -> int | None:
    try:
        return os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None


class _Supervisor:
    """Stops the child on Ctrl-C / SIGTERM / SIGHUP, escalating after a grace period.

    Ctrl-C: the child gets SIGINT (from the terminal itself when we share its
    foreground process group, forwarded by us otherwise, so it never gets two),
    then SIGTERM after `grace`, then SIGKILL after another `grace`. A second
    Ctrl-C escalates at once. SIGTERM/SIGHUP to us: the child gets SIGTERM, then
    SIGKILL after `grace`.
    """

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.proc: subprocess.Popen[bytes] | None = None
        self.interrupted = False
        self.terminated: int | None = None
        self.step = 0  # 0 nothing sent, 1 SIGINT, 2 SIGTERM, 3 SIGKILL
        self.deadline: float | None = None
        self._tty = _foreground_tty()
        self._pending: list[int] = []

    def _from_terminal(self) -> bool:
        """Whether a SIGINT just now most likely came from the keyboard, to the whole
        foreground process group (which the child shares with us)."""
        if self._tty is None:
            return False
        try:
            return os.tcgetpgrp(self._tty) == os.getpgrp()
        except OSError:
            return False

    def handler(self, signum: int, _frame: FrameType | None) -> None:
        if self.proc is None:
            self._pending.append(signum)
            return
        self.react(signum)

    def react(self, signum: int) -> None:
        if signum == signal.SIGINT:
            self.interrupted = True
            if self.step == 0:
                if not self._from_terminal():
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
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)

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
        wake_r, wake_w = os.pipe()  # not inherited by children (PEP 446)
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        old_wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
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
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_r, 512)
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for fd in (wake_r, wake_w, pidfd):
                if fd is not None:
                    os.close(fd)

    def close(self) -> None:
        if self._tty is not None:
            os.close(self._tty)
            self._tty = None


PUMP_READ = 1 << 20


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _pump(source: int, target: int | None, on_chunk: Callable[[bytes], object]) -> None:
    """Copy raw bytes as they come; hand each chunk to `on_chunk` after writing it.

    Once `on_chunk` returns True (it needs no more, e.g. the job id was
    found), the rest is moved with `os.splice` where the kernel allows it (no
    copy through Python), else with read/write as before. When our stdout is
    gone (EPIPE), stop reading: the child then sees a closed pipe, exactly as
    if it had written to our stdout itself. With no `target`, `on_chunk` gets
    every byte and is the only consumer (it writes them itself).
    """
    try:
        while True:
            try:
                chunk = os.read(source, PUMP_READ)
            except InterruptedError:
                continue
            if not chunk:
                return
            if target is not None:
                try:
                    _write_all(target, chunk)
                except BrokenPipeError:
                    return
            done = False
            with contextlib.suppress(Exception):
                done = on_chunk(chunk) is True
            if done and target is not None:
                break
        if _splice_all(source, target):
            return
        while chunk := os.read(source, PUMP_READ):
            _write_all(target, chunk)
    except OSError:  # EPIPE, or our stdout failed otherwise: stop, the child sees it
        return
    finally:
        os.close(source)


def _splice_all(source: int, target: int) -> bool:
    """Move everything from the pipe `source` to `target` in the kernel.

    False when splice is unavailable for this pair before any byte moved
    (e.g. a terminal on an older kernel): the caller copies instead.
    """
    splice = getattr(os, "splice", None)
    if splice is None:
        return False
    moved = False
    while True:
        try:
            count = splice(source, target, PUMP_READ)
        except InterruptedError:
            continue
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise BrokenPipeError(exc.errno, exc.strerror) from None
            if moved:
                raise
            return False
        if count == 0:
            return True
        moved = True


def run_start(
    arkor: Path,
    project: Path,
    entry: Path | None,
    env: Mapping[str, str],
    *,
    grace: float = 10.0,
    on_stdout: Callable[[bytes], object] | None = None,
    stdout_fd: int | None = 1,
    on_stderr: Callable[[bytes], object] | None = None,
    stderr_fd: int | None = 2,
) -> RunResult:
    """Run `arkor start [entry]` in the project and wait for it, whatever happens.

    Without `on_stdout` the child inherits our stdin/stdout/stderr (byte-exact
    and it still sees a terminal). With it, stdout goes through a pipe that a
    thread copies to `stdout_fd` chunk by chunk, calling `on_stdout(chunk)`
    until that returns True (then the rest is spliced through untouched).
    With `stdout_fd=None` nothing is copied: `on_stdout` gets every byte and
    writes it itself (e.g. above a live view). `on_stderr`/`stderr_fd` do the
    same for stderr (inherited without `on_stderr`).
    Ctrl-C, SIGTERM and SIGHUP are handled here: the child is stopped and
    waited for before we return; nothing is left running.
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
    pumps: list[threading.Thread] = []
    try:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=project,
                env=dict(env),
                stdout=subprocess.PIPE if on_stdout is not None else None,
                stderr=subprocess.PIPE if on_stderr is not None else None,
            )
        except OSError as exc:
            raise ConfigError(f"Can't run {arkor}: {exc.strerror or exc}.") from None
        supervisor.attach(proc)
        for pipe, target, callback in (
            (proc.stdout, stdout_fd, on_stdout),
            (proc.stderr, stderr_fd, on_stderr),
        ):
            if pipe is not None and callback is not None:
                source = os.dup(pipe.fileno())
                pipe.close()
                pump = threading.Thread(target=_pump, args=(source, target, callback), daemon=True)
                pump.start()
                pumps.append(pump)
        status = supervisor.wait()
        for pump in pumps:
            pump.join()
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        supervisor.close()
    child_code = status if status >= 0 else 128 - status
    if supervisor.terminated is not None:
        code = 128 + supervisor.terminated
    elif supervisor.interrupted:
        code = 130
    else:
        code = child_code
    return RunResult(code, child_code, supervisor.interrupted, supervisor.terminated)
