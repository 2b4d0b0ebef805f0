"""Shared pieces of the benchmarks: machine and load lines, interleaved timing,
medians and ratios, a project/credentials setup, and a fast replay server.

Not a benchmark itself; `python bench/<name>.py` imports it from this folder.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from arkor_cli_studio import simulator as _sim  # noqa: E402
from arkor_cli_studio.simulator_http import SimHandler  # noqa: E402

TOKEN = "bench-token"
T = TypeVar("T")


# ---- what ran, where, under what load -------------------------------------------------


def load() -> str:
    """The 1/5/15-minute load averages (other developers share these 2 cores)."""
    with open("/proc/loadavg") as f:
        return "load " + " ".join(f.read().split()[:3])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        with open("/proc/meminfo") as f:
            mem_kib = int(next(line.split()[1] for line in f if line.startswith("MemTotal")))
        mem = f"{mem_kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "?"
    versions = []
    for dist in ("typer", "rich", "httpx", "httpx-sse", "orjson"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem}, Linux {platform.release()}; "
        f"Python {platform.python_version()}; {', '.join(versions)}"
    )


# What in the environment changes how a Python CLI runs (buffering, bytecode,
# locale, colour, terminal): recorded in each result file, as the runs saw it.
_RECORDED_ENV = ("PYTHON", "LANG", "LC_", "TERM", "TZ", "COLUMNS", "LINES", "CI")


def environment(env: dict[str, str] | None = None) -> str:
    """The variables of `env` (default: what `clean_env()` passes the runs)
    that can change a run, as one line."""
    env = clean_env() if env is None else env
    shown = sorted(
        f"{key}={value}"
        for key, value in env.items()
        if key.startswith(_RECORDED_ENV) and key != "PYTHONPATH"
    )
    return "env of the runs: " + (
        shlex.join(shown) if shown else "(none of PYTHON*, LANG, LC_*, TERM, TZ)"
    )


def banner() -> None:
    """First lines of every benchmark's output: when, the exact command, machine,
    the environment the runs get, load."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ")
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    print(f"# {now}  {command}")
    print(f"# {machine()}")
    print(f"# {environment()}")
    print(f"# {load()} at start", flush=True)


def closing(ok: bool, target: str) -> None:
    print(f"# {load()} at end; target {target}: {'met' if ok else 'MISSED'}", flush=True)


# ---- timing ----------------------------------------------------------------------------


def interleaved(
    cases: dict[str, Callable[[], T]], runs: int, warmup: int = 1
) -> dict[str, list[T]]:
    """Each case `runs` times, interleaved (a, b, c, c, b, a, a, b, ...) so that a
    change in the machine's load hits every case alike. Each callable returns
    what it measured."""
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    times: dict[str, list[T]] = {name: [] for name in names}
    for rep in range(runs):
        for name in names if rep % 2 == 0 else reversed(names):
            times[name].append(cases[name]())
    return times


def run_quiet(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+system) of one subprocess, output to
    /dev/null; it must exit 0. CPU time is what the process itself used, so it
    is less disturbed than wall time by other jobs on the machine."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(
                f"{shlex.join(argv[:6])} exited {proc.returncode}: {err.read()[-500:]!r}"
            )
    return elapsed, usage.ru_utime + usage.ru_stime


def run_peak(
    argv: list[str], env: dict[str, str], cwd: Path | None = None, stdout: Any = None
) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS KiB) of one command that must exit 0.

    The peak comes from `/usr/bin/time -f %M`, i.e. the `wait4` of a small
    process that forked the command: the exec'd command's own memory only.
    (This process's own `wait4` would also count, for a child forked from
    this big process, the pages it had before `exec`.)"""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile() as report:
        started = time.perf_counter()
        proc = subprocess.Popen(
            ["/usr/bin/time", "-q", "-o", report.name, "-f", "%M %U %S", *argv],
            env=env,
            cwd=cwd,
            stdout=stdout if stdout is not None else subprocess.DEVNULL,
            stderr=err,
        )
        proc.wait()
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(
                f"{shlex.join(argv[:6])} exited {proc.returncode}: {err.read()[-500:]!r}"
            )
        peak, user, system = Path(report.name).read_text().split()[-3:]
    return elapsed, float(user) + float(system), int(peak)


def exec_hwm_kib(pid: int, argv: list[str]) -> int:
    """VmHWM of `pid` once it runs `argv` (0 before its `exec`: between fork
    and exec the child still reports the forking process's memory)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if f.read().split(b"\0")[:-1] != [os.fsencode(a) for a in argv]:
                return 0
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def median_ms(values: Iterable[float]) -> float:
    return statistics.median(values) * 1000


# Set in some shells and CI images, each changes what a run costs: no .pyc
# (every import compiles), unbuffered stdio (a write per line: --plain ingest
# reads ~2.3x instead of ~1.9x with it), colour forced or off.
_DROPPED_ENV = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "FORCE_COLOR", "NO_COLOR")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment minus what would change a run (completion variables, no
    .pyc, unbuffered output, colour settings)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_COMPLETE")
        and not key.startswith(("_TYPER", "COMP_", "ARKOR_"))
        and key not in _DROPPED_ENV
    }
    env.update(extra)
    return env


# ---- a "before" tree: the same benchmark on another commit -----------------------------


def export_tree(ref: str, dest: Path) -> Path:
    """`git archive REF` of this repository unpacked into dest; returns dest."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / "tree.tar"
    with open(archive, "wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref], stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    return dest


# ---- a project whose credentials point at a loopback server ----------------------------


def make_project(tmp: Path, api_url: str) -> tuple[Path, Path]:
    """(home, project): anon credentials for `api_url`, project state acme/demo."""
    home, project = tmp / "home", tmp / "project"
    (home / ".arkor").mkdir(parents=True, exist_ok=True)
    (project / ".arkor").mkdir(parents=True, exist_ok=True)
    (home / ".arkor" / "credentials.json").write_text(
        json.dumps(
            {
                "mode": "anon",
                "token": TOKEN,
                "anonymousId": "anon-bench",
                "arkorCloudApiUrl": api_url,
                # an anonymous identity may use its own org's state.json only
                "orgSlug": "acme",
            }
        )
    )
    (project / ".arkor" / "state.json").write_text(
        json.dumps({"orgSlug": "acme", "projectSlug": "demo", "projectId": "p"})
    )
    return home, project


class _BulkHandler(SimHandler):
    """The simulator's routes, but a fault-free stream is written as the whole
    pre-encoded body in 64 KiB chunks (as a real server's buffered writes), so
    the server is never what a client waits for. Measured on this machine: the
    frame-per-write simulator serves ~180k frames/s, this several times that."""

    def _serve_frames(self, job_id: str, fault: Any) -> None:
        if fault is not None or self.headers.get("Last-Event-ID"):
            super()._serve_frames(job_id, fault)
            return
        body = self.server.sim.encoded(job_id)  # type: ignore[attr-defined]
        view = memoryview(body)
        for start in range(0, len(body), 1 << 16):
            self._chunk(bytes(view[start : start + (1 << 16)]))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class ReplayServer(_sim.Simulator):
    """`Simulator` with `_BulkHandler`: jobs, detail and cancel as usual."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(token=TOKEN, **kwargs)
        self._server.RequestHandlerClass = _BulkHandler
        self._encoded: dict[str, bytes] = {}

    def encoded(self, job_id: str) -> bytes:
        with self.changed:
            if job_id not in self._encoded:
                frames = self.jobs[job_id].frames
                self._encoded[job_id] = b"".join(frame.encode() for frame in frames)
            return self._encoded[job_id]


class FrameWriteServer(ReplayServer):
    """The plain simulator's stream: one chunk and one flush per frame."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._server.RequestHandlerClass = SimHandler


def fill_training(server: _sim.Simulator, job_id: str, n: int) -> None:
    """A completed job of n `training.log` events (2 s apart), then `end`."""
    server.add_job(job_id, name=f"bench {n}", config={"maxSteps": n})
    start = time.time() - 2 * n
    server.emit(job_id, "training.started", {}, timestamp=_sim.iso(start))
    for i in range(1, n + 1):
        server.emit(
            job_id,
            "training.log",
            {"step": i, "loss": 1.0 / i, "learningRate": 2e-4, "epoch": i / n},
            timestamp=_sim.iso(start + 2 * i),
        )
    server.emit(job_id, "training.completed", {"artifacts": []}, timestamp=_sim.iso(start + 2 * n))
    server.end(job_id)
