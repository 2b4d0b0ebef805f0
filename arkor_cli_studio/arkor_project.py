"""The project's side of `train`: finding `arkor`, the entry file, the
manifest (which trainer `arkor start` would run), and one run per project
(the lock). `runner` runs `arkor start` itself; `start_output` reads its output.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
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
