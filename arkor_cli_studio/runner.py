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
from typing import Any, Final

from arkor_cli_studio.errors import ArkorStudioError, ConfigError, UsageError
from arkor_cli_studio.output import write_all
from arkor_cli_studio.signals import terminate_on
from arkor_cli_studio.textsafe import ESCAPE_PATTERN, clean, clean_line

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
  // Exactly as Studio's studio/manifest.ts: `mod.arkor ?? mod.default`, then isArkor.
  const candidate = mod.arkor ?? mod.default;
  const isManifest = (v) => v !== null && typeof v === "object" && v._kind === "arkor";
  const manifest = isManifest(candidate) ? candidate : null;
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


def node_hint(project: Path, env: Mapping[str, str]) -> str:
    """Which Node to install: what the installed arkor's `engines.node` says."""
    from arkor_cli_studio.config import CHECKED_NODE_RANGE, installed_arkor

    package = installed_arkor(project, env)
    if package is not None and package.node is not None:
        return f"Install Node.js {clean_line(package.node)} (the installed arkor's `engines`)."
    return f"Install Node.js {CHECKED_NODE_RANGE} (what current arkor releases need)."


def read_manifest(project: Path, env: Mapping[str, str], timeout: float) -> str | None:
    """The trainer's name from the built bundle, or None when it has none.

    Imports `.arkor/build/index.mjs` with Node, as Studio's /api/manifest does.
    """
    node = shutil.which("node", path=env.get("PATH", os.defpath))
    if node is None:
        raise ManifestError("Node.js (`node`) is not on PATH.", hint=node_hint(project, env))
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


# --- `Started job <id>` and `Job <id> finished with status=<s>` ------------------

_ANSI = re.compile(ESCAPE_PATTERN.encode(), re.VERBOSE)  # textsafe's, in bytes
_STARTED = re.compile(rb"Started job (\S+)")
# arkor's core/runner.ts (runTrainer), after trainer.wait():
#   process.stdout.write(`Job ${result.job.id} finished with status=${result.job.status}\n`)
_FINISHED = re.compile(rb"Job (\S+) finished with status=([A-Za-z_]+)")


_LINE_ENDS: Final = (0x0A, 0x0D)  # \n, \r as the ints that indexing bytes gives


@dataclass
class _LineScanner:
    """Finds lines with `key` in a byte stream fed in raw chunks split anywhere.

    A line is matched after its ANSI colour codes are removed; lines longer
    than `max_line` are ignored, so memory stays bounded whatever arkor
    prints. Cheap on bulk output: a chunk without `key` costs one `bytes.find`.
    Subclasses say what a matching line means (`_check`) and whether to stop
    after the first one (`once`).
    """

    max_line: int = 4096
    _partial: bytes = field(default=b"", repr=False)
    _overflow: bool = False  # the current (unfinished) line is too long: skip it

    key: bytes = field(default=b"", init=False, repr=False)
    once: bool = field(default=True, init=False, repr=False)

    def _done(self) -> bool:
        return False

    def _feed(self, chunk: bytes) -> str | None:
        if self._done() or not chunk:
            return None
        if (
            not (self._partial or self._overflow)
            and chunk[-1] in _LINE_ENDS
            and self.key not in chunk
        ):
            return None  # whole lines, none with the key (a chatty trainer's usual chunk)
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
        if found is None or not self.once:
            found = self._scan(chunk, first_end + 1, last + 1) or found
        self._partial, self._overflow = b"", False
        self._carry(chunk[last + 1 :])
        return found

    def _carry(self, piece: bytes) -> None:
        if self._overflow:
            return
        if len(self._partial) + len(piece) > self.max_line:
            self._partial, self._overflow = b"", True
        else:
            self._partial += piece

    def _scan(self, data: bytes, start: int, stop: int) -> str | None:
        """Check each line of data[start:stop] (whole lines) that contains the key;
        the first match (`once`) or the last one."""
        found = None
        at = data.find(self.key, start, stop)
        while at >= 0:
            begin = max(data.rfind(b"\n", start, at), data.rfind(b"\r", start, at)) + 1
            end = _line_end(data, at, stop)
            hit = self._check(data[max(begin, start) : end])
            if hit is not None:
                found = hit
                if self.once:
                    return found
            at = data.find(self.key, end + 1, stop)
        return found

    def _check(self, line: bytes) -> str | None:
        raise NotImplementedError


@dataclass
class StartedJobScanner(_LineScanner):
    """Finds `Started job <id>` in arkor start's stdout.

    `feed(chunk)` returns the job id once, on the chunk that completes the
    line; afterwards it returns None and only `job_id` remembers it.
    """

    job_id: str | None = None

    def __post_init__(self) -> None:
        self.key = b"Started"

    def _done(self) -> bool:
        return self.job_id is not None

    def feed(self, chunk: bytes) -> str | None:
        found = self._feed(chunk)
        if found is not None:
            self.job_id = found
        return found

    def _check(self, line: bytes) -> str | None:
        if len(line) > self.max_line or self.key not in line:
            return None
        match = _STARTED.search(_ANSI.sub(b"", line))
        if match is None:
            return None
        job_id = match.group(1).decode("utf-8", "replace").rstrip(".,;:")
        return clean_line(job_id) or None


@dataclass
class OutcomeScanner(_LineScanner):
    """Finds `Job <id> finished with status=<status>`, the last line `arkor start`
    prints (arkor exits 0 whatever the status: this line is the only place a
    failed job shows). Keeps the last such line seen: `status` and `job_id`.
    `feed(chunk)` returns the status when the chunk completed such a line.
    """

    status: str | None = None
    job_id: str | None = None

    def __post_init__(self) -> None:
        self.key = b"finished with status="
        self.once = False

    def feed(self, chunk: bytes) -> str | None:
        return self._feed(chunk)

    def _check(self, line: bytes) -> str | None:
        if len(line) > self.max_line or self.key not in line:
            return None
        match = _FINISHED.search(_ANSI.sub(b"", line))
        if match is None:
            return None
        self.job_id = clean_line(match.group(1).decode("utf-8", "replace"))
        self.status = match.group(2).decode("ascii").lower()
        return self.status


# The job's outcome as `train`'s exit status (DESIGN.md's codes, as `watch`).
OUTCOME_CODES: dict[str, int] = {"completed": 0, "failed": 1, "cancelled": 3}


def outcome_exit_code(child_code: int, outcome: str | None) -> int:
    """`train`'s status: arkor's own non-zero status stands (arkor itself failed);
    else the job's outcome when arkor reported one; else arkor's status (0)."""
    if child_code != 0 or outcome is None:
        return child_code
    return OUTCOME_CODES.get(outcome, child_code)


def _line_end(chunk: bytes, start: int, stop: int) -> int:
    """The index of the first line break in chunk[start:stop] (-1: none)."""
    newline, carriage = chunk.find(b"\n", start, stop), chunk.find(b"\r", start, stop)
    if newline < 0:
        return carriage
    if carriage < 0:
        return newline
    return min(newline, carriage)


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
