"""Ingest and memory: `watch` replaying N events vs. a bare httpx-sse loop, same run.

For each N, a completed job of N `training.log` events (+ started, completed,
end) is served from a loopback server (the project's simulator, writing the
stream in 64 KiB chunks so that the server is never the bottleneck), and
these run interleaved, --runs times each:

- baseline: a bare httpx + httpx-sse loop that parses each frame's JSON (a
  subprocess too, so interpreter start-up is on both sides);
- `watch --json > /dev/null` and `watch --plain > /dev/null`;
- the live view under a pseudo-terminal (120x40), its output drained by this
  script: every byte written to the terminal is counted, and the redraws in it
  (each starts with CR + erase-line) are the frames.

Reports per N: median seconds, events/s, ratio to the baseline (target: 2x
at most, every mode); peak RSS (VmHWM, sampled every few ms, of the exec'd
command only) of every command at each N, and its growth from 10k to the
largest N (target: under 20 MiB); and for the live view, bytes and frames
against events and seconds (target: frames bounded by the ~10 fps cap x seconds, not by events).

Every `watch` here runs the default alert rules (nan, diverge), as a user's
does; `--alerts` adds each mode with `--alert none`, to show what they cost.

    python bench/watch_ingest.py                 # N = 10k, 100k; 3 runs (~1 min)
    python bench/watch_ingest.py --full          # N = 10k, 1M, 3M (~15 min on 2 cores)
    python bench/watch_ingest.py -n 10000 -n 20000 --runs 5
    python bench/watch_ingest.py --before HEAD~3  # + the three modes of that commit's tree
    python bench/watch_ingest.py --alerts         # + every mode with --alert none
    python bench/watch_ingest.py --orjson-baseline  # + the baseline loop reading JSON with orjson

`watch` reads each event's JSON with orjson (when json.loads() would read it
the same); the baseline uses json.loads, the floor the target is set against.
`--orjson-baseline` shows the loop with orjson too, so that the share of the
figures that the faster parser buys is in plain view.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import benchlib

BASELINE = r"""
import json, sys, httpx
from httpx_sse import EventSource
url, token = sys.argv[1], sys.argv[2]
n = 0
with httpx.Client(timeout=60) as client:
    with client.stream("GET", url, params={"orgSlug": "acme", "projectSlug": "demo"},
                       headers={"Authorization": f"Bearer {token}",
                                "Accept": "text/event-stream"}) as response:
        for sse in EventSource(response).iter_sse():
            if sse.event == "end":
                break
            json.loads(sse.data)
            n += 1
assert n > 0
"""

# The same loop with orjson for the JSON, as `watch` reads it: shown beside the
# baseline (`--orjson-baseline`) so that what the faster parser buys is in view;
# the verdict stays against the baseline above (json.loads), the floor.
BASELINE_ORJSON = BASELINE.replace("import json,", "import orjson, json,").replace(
    "json.loads(sse.data)", "orjson.loads(sse.data)"
)
assert BASELINE_ORJSON.count("orjson") == 2

BASE = "baseline (httpx-sse loop)"
BASE_ORJSON = "the loop, orjson's JSON"
FRAME_START = b"\r\x1b[2K"  # rich's Live redraw: back to column 0, erase, then up...
MAX_FPS = 10  # commands/watch.py coalesces redraws to ~10 a second (+ a 1 Hz tick)


@dataclass
class Run:
    seconds: float
    peak_kib: int
    tty_bytes: int = 0
    frames: int = 0
    max_gap: float = 0.0  # the longest time between two redraws reaching the terminal


@dataclass
class Results:
    runs: dict[str, dict[int, list[Run]]] = field(default_factory=dict)

    def add(self, name: str, n: int, run: Run) -> None:
        self.runs.setdefault(name, {}).setdefault(n, []).append(run)

    def median(self, name: str, n: int) -> float:
        return statistics.median(r.seconds for r in self.runs[name][n])

    def peak_mib(self, name: str, n: int) -> float:
        return max(r.peak_kib for r in self.runs[name][n]) / 1024


def run_pipe(argv: list[str], env: dict[str, str]) -> Run:
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=env["PYTHONPATH"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, benchlib.exec_hwm_kib(proc.pid, argv))
        time.sleep(0.003)
    elapsed = time.perf_counter() - started
    stderr = proc.stderr.read() if proc.stderr else b""
    if proc.returncode != 0:
        raise SystemExit(f"{argv[4:]} exited {proc.returncode}: {stderr[-400:]!r}")
    return Run(elapsed, peak)


def run_pty(argv: list[str], env: dict[str, str], size: tuple[int, int] = (40, 120)) -> Run:
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a 120x40 terminal, then exec
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
        os.chdir(env["PYTHONPATH"])  # `-m` puts the working folder first on sys.path
        os.execve(argv[0], argv, {**env, "TERM": "xterm-256color"})
    total = frames = 0
    tail = b""
    peak = 0
    last_frame = max_gap = 0.0
    while True:
        ready, _, _ = select.select([fd], [], [], 0.003)
        if ready:
            try:
                data = os.read(fd, 1 << 16)
            except OSError:  # EIO: the child closed the terminal
                data = b""
            if not data:
                break
            total += len(data)
            joined = tail + data
            redraws = joined.count(FRAME_START)
            if redraws:
                now = time.perf_counter()
                if last_frame:
                    max_gap = max(max_gap, now - last_frame)
                last_frame = now
            frames += redraws
            tail = joined[-(len(FRAME_START) - 1) :]
        peak = max(peak, benchlib.exec_hwm_kib(pid, argv))
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - started
    os.close(fd)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"live watch exited {code}")
    # + the first frame (no redraw prefix)
    return Run(elapsed, peak, total, frames + 1, max_gap)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, action="append", help="events (repeatable)")
    parser.add_argument("--full", action="store_true", help="N = 10k, 1M and 3M")
    parser.add_argument("-r", "--runs", type=int, default=3)
    parser.add_argument(
        "--frame-writes",
        action="store_true",
        help="serve with the plain simulator (one write per frame), as this bench once did",
    )
    parser.add_argument(
        "--before", metavar="REF", help="also time the three modes of this git ref's tree"
    )
    parser.add_argument(
        "--orjson-baseline",
        action="store_true",
        help="also time the baseline loop with orjson reading the JSON (shown, not judged)",
    )
    parser.add_argument(
        "--alerts",
        action="store_true",
        help="also time every mode with --alert none: the cost of the default "
        "alert rules (nan, diverge) that every watch runs",
    )
    args = parser.parse_args()
    sizes = sorted({10_000, *(args.n or ([1_000_000, 3_000_000] if args.full else [100_000]))})
    benchlib.banner()
    py = sys.executable
    results = Results()
    server_class = benchlib.FrameWriteServer if args.frame_writes else benchlib.ReplayServer
    with tempfile.TemporaryDirectory() as tmp, server_class(ping_interval=60) as server:
        home, project = benchlib.make_project(Path(tmp), server.url)
        env = benchlib.clean_env(
            HOME=str(home), PYTHONPATH=str(benchlib.ROOT), TZ="UTC", LANG="C.UTF-8"
        )
        before_env = None
        if args.before:
            tree = benchlib.export_tree(args.before, Path(tmp) / "before")
            before_env = {**env, "PYTHONPATH": str(tree)}
        for n in sizes:
            benchlib.fill_training(server, f"job{n}", n)
            server.encoded(f"job{n}")
        cli = [py, "-m", "arkor_cli_studio", "-C", str(project), "--api-url", server.url]

        for n in sizes:
            job = f"job{n}"
            url = f"{server.url}/v1/jobs/{job}/events/stream"
            commands: dict[str, tuple[Callable[..., Run], list[str]]] = {
                BASE: (run_pipe, [py, "-c", BASELINE, url, benchlib.TOKEN]),
                "watch --json": (run_pipe, [*cli, "watch", job, "--json", "--no-notify"]),
                "watch --plain": (run_pipe, [*cli, "watch", job, "--plain", "--no-notify"]),
                "watch (live, pty)": (run_pty, [*cli, "watch", job, "--no-notify"]),
            }
            if args.orjson_baseline:
                commands[BASE_ORJSON] = (run_pipe, [py, "-c", BASELINE_ORJSON, url, benchlib.TOKEN])
            if args.alerts:
                for mode in ("--json", "--plain"):
                    argv = [*cli, "watch", job, mode, "--no-notify", "--alert", "none"]
                    commands[f"watch {mode} (no alerts)"] = (run_pipe, argv)
                argv = [*cli, "watch", job, "--no-notify", "--alert", "none"]
                commands["watch (live, no alerts)"] = (run_pty, argv)
            if before_env is not None:
                for name, (how, argv) in [
                    (name, command)
                    for name, command in commands.items()
                    if name.startswith("watch ")
                ][:3]:
                    commands[f"before: {name.removeprefix('watch ')}"] = (how, argv)

            def timed(name: str, how: Callable[..., Run], argv: list[str], n: int = n) -> None:
                before = name.startswith("before:")
                results.add(name, n, how(argv, before_env if before else env))

            benchlib.interleaved(
                {
                    name: (lambda name=name, how=how, argv=argv: timed(name, how, argv))
                    for name, (how, argv) in commands.items()
                },
                args.runs,
                warmup=1 if n == sizes[0] else 0,
            )
            print(f"# N={n:,} done ({benchlib.load()})", flush=True)

    ok = True
    names = list(results.runs)
    print(f"\n## ingest: median of {args.runs} runs, ratio to the baseline (target <= 2.00x)\n")
    print(f"{'command':26} " + " ".join(f"{f'{n:,} ev':>24}" for n in sizes))
    for name in names:
        cells = []
        for n in sizes:
            median = results.median(name, n)
            ratio = median / results.median(BASE, n)
            if name.startswith("watch") and n >= 100_000 and ratio > 2.0:
                ok = False
            cells.append(f"{median:6.2f}s {n / median:8,.0f}/s {ratio:5.2f}x")
        print(f"{name:26} " + " ".join(f"{c:>24}" for c in cells))

    low, high = sizes[0], sizes[-1]
    print(f"\n## peak RSS, MiB (max over runs); growth {low:,} -> {high:,} (target < 20 MiB)\n")
    print(f"{'command':26} " + " ".join(f"{f'{n:,}':>10}" for n in sizes) + f" {'growth':>8}")
    for name in names:
        growth = results.peak_mib(name, high) - results.peak_mib(name, low)
        if name.startswith("watch") and growth >= 20:
            ok = False
        cells = " ".join(f"{results.peak_mib(name, n):10.1f}" for n in sizes)
        print(f"{name:26} {cells} {growth:+8.1f}")

    live = "watch (live, pty)"
    print(f"\n## {live}: what reached the terminal (median run by time)\n")
    print(
        f"{'events':>10} {'seconds':>8} {'frames':>7} {'frames/s':>9} {'bytes':>10} "
        f"{'bytes/frame':>12} {'bytes/event':>12}"
    )
    for n in sizes:
        runs = sorted(results.runs[live][n], key=lambda r: r.seconds)
        run = runs[len(runs) // 2]
        # Bounded by frames: at most ~10 redraws a second (+ the first and last).
        if run.frames > MAX_FPS * run.seconds + 3:
            ok = False
        print(
            f"{n:10,} {run.seconds:8.2f} {run.frames:7} {run.frames / run.seconds:9.1f} "
            f"{run.tty_bytes:10,} {run.tty_bytes / run.frames:12,.0f} {run.tty_bytes / n:12.2f}"
        )
    benchlib.closing(ok, "ingest <= 2x, RSS growth < 20 MiB, live frames <= 10/s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
