"""Event-to-screen latency: when does an event's text reach the terminal or the pipe?

    python bench/latency.py                    # 1, 10, 1000 events/s; 2 runs (~2 min)
    python bench/latency.py --rates 10 --seconds 5 --runs 1

A loopback server (the project's simulator) streams a running job; this
script emits `training.log` events into it at a steady rate, noting the
moment each one is handed to the server (`time.perf_counter()`). The
readers run at the same time, each from the first event:

- `watch --plain` through a pipe (each event's `step=N` line);
- the live view under a pseudo-terminal (120x40): an event is on the screen
  when a frame shows its step or a later one (`step N` in the view), since
  a frame shows the latest state, not every event;
- the baseline: a bare httpx + httpx-sse loop that prints each event's step
  and flushes (the floor: the server, the loopback, Python start-up aside).

Latency of event N = the first moment its text (or a later step's) is read
from the reader's output, minus the moment it was emitted. Reports p50 and
p99 per reader and rate. Targets (issue 22): live p99 <= 150 ms, `--plain`
p99 <= 25 ms. All three readers run at once on the same stream, so a busy
moment on the machine hits them alike.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

import benchlib

BASELINE = r"""
import json, sys, httpx
from httpx_sse import EventSource
url, token = sys.argv[1], sys.argv[2]
out = sys.stdout
with httpx.Client(timeout=120) as client:
    with client.stream("GET", url, params={"orgSlug": "acme", "projectSlug": "demo"},
                       headers={"Authorization": f"Bearer {token}",
                                "Accept": "text/event-stream"}) as response:
        for sse in EventSource(response).iter_sse():
            if sse.event == "end":
                break
            data = json.loads(sse.data)
            if sse.event == "training.log":
                out.write(f"step={data['step']}\n")
                out.flush()
"""

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
STEP = re.compile(rb"step[= ]([\d,]+)")


class Reader:
    """Reads one process's output and notes when each step first appeared."""

    def __init__(self, name: str, fd: int, pid: int) -> None:
        self.name, self.fd, self.pid = name, fd, pid
        self.seen: list[tuple[float, int]] = []  # (time, highest step so far), as read
        self.highest = 0
        self.tail = b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 1 << 16)
            except OSError:
                data = b""
            now = time.perf_counter()
            if not data:
                return
            text = ANSI.sub(b"", self.tail + data)
            self.tail = data[-32:]
            steps = [int(m.group(1).replace(b",", b"")) for m in STEP.finditer(text)]
            if steps and max(steps) > self.highest:
                self.highest = max(steps)
                self.seen.append((now, self.highest))

    def latencies(self, emitted: dict[int, float]) -> list[float]:
        out = []
        i = 0
        for step in sorted(emitted):
            while i < len(self.seen) and self.seen[i][1] < step:
                i += 1
            if i == len(self.seen):
                break  # never shown: counted below as missing
            out.append(self.seen[i][0] - emitted[step])
        return out


def start_pipe(argv: list[str], env: dict[str, str], cwd: str) -> tuple[int, int]:
    read, write = os.pipe()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=write, stderr=subprocess.DEVNULL)
    os.close(write)
    return read, proc.pid


def start_pty(argv: list[str], env: dict[str, str], cwd: str) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.chdir(cwd)
        os.execve(argv[0], argv, {**env, "TERM": "xterm-256color"})
    return fd, pid


def one_run(
    before: Path | None,
    server: benchlib.ReplayServer,
    project: Path,
    env: dict[str, str],
    rate: float,
    seconds: float,
    job: str,
) -> dict[str, tuple[list[float], int]]:
    py = sys.executable
    server.add_job(job, name=job, status="queued", config={"maxSteps": int(rate * seconds)})
    server.emit(job, "training.started", {})
    cli = [py, "-m", "arkor_cli_studio", "-C", str(project), "--api-url", server.url]
    url = f"{server.url}/v1/jobs/{job}/events/stream"
    root = str(benchlib.ROOT)
    readers = []
    for name, how, argv in (
        ("baseline (httpx-sse, pipe)", start_pipe, [py, "-c", BASELINE, url, benchlib.TOKEN]),
        ("watch --plain (pipe)", start_pipe, [*cli, "watch", job, "--plain", "--no-notify"]),
        ("watch (live, pty)", start_pty, [*cli, "watch", job, "--no-notify"]),
    ):
        fd, pid = how(argv, env, root)
        readers.append(Reader(name, fd, pid))
    if before is not None:  # that commit's live view, on the same stream at the same time
        fd, pid = start_pty(
            [*cli, "watch", job, "--no-notify"], {**env, "PYTHONPATH": str(before)}, str(before)
        )
        readers.append(Reader("before: watch (live, pty)", fd, pid))
    time.sleep(3.0)  # every reader started and connected (a quiet stream meanwhile)
    emitted: dict[int, float] = {}
    count = max(1, int(rate * seconds))
    start = time.perf_counter()
    for step in range(1, count + 1):
        due = start + (step - 1) / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        server.emit(job, "training.log", {"step": step, "loss": 1.0 / step})
        emitted[step] = time.perf_counter()
    time.sleep(1.0)  # the last frames
    server.emit(job, "training.completed", {"artifacts": []})
    server.end(job)
    results = {}
    for reader in readers:
        os.waitpid(reader.pid, 0)
        reader.thread.join(10)
        os.close(reader.fd)
        got = reader.latencies(emitted)
        results[reader.name] = (got, count - len(got))
    return results


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[1, 10, 1000])
    parser.add_argument("--seconds", type=float, default=20, help="emitting time per run")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--before", metavar="REF", help="also run this commit's live view")
    args = parser.parse_args()
    benchlib.banner()
    all_results: dict[tuple[str, float], list[float]] = {}
    missing: dict[tuple[str, float], int] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        benchlib.FrameWriteServer(ping_interval=15) as server,
    ):
        home, project = benchlib.make_project(Path(tmp), server.url)
        env = benchlib.clean_env(HOME=str(home), PYTHONPATH=str(benchlib.ROOT), TZ="UTC")
        before = benchlib.export_tree(args.before, Path(tmp) / "before") if args.before else None
        for run in range(args.runs):
            for rate in args.rates if run % 2 == 0 else list(reversed(args.rates)):
                seconds = args.seconds if rate >= 10 else max(args.seconds, 20 / rate)
                job = f"lat-{rate:g}-{run}"
                for name, (got, lost) in one_run(
                    before, server, project, env, rate, seconds, job
                ).items():
                    all_results.setdefault((name, rate), []).extend(got)
                    missing[(name, rate)] = missing.get((name, rate), 0) + lost
                print(f"# rate {rate:g}/s run {run + 1} done ({benchlib.load()})", flush=True)
    names = list(dict.fromkeys(name for name, _ in all_results))
    print(f"\n## event-to-screen latency, ms: p50 / p99 (events of {args.runs} runs pooled)\n")
    print(f"{'reader':28} " + " ".join(f"{f'{r:g} ev/s':>22}" for r in args.rates))
    ok = True
    for name in names:
        cells = []
        for rate in args.rates:
            got = all_results[(name, rate)]
            if not got:
                cells.append("nothing shown")
                ok = False
                continue
            p50, p99 = pct(got, 50) * 1000, pct(got, 99) * 1000
            lost = missing[(name, rate)]
            cells.append(f"{p50:7.1f} / {p99:6.1f}" + (f" ({lost} lost)" if lost else ""))
            if name.startswith("watch (live") and p99 > 150:
                ok = False
            if name.startswith("watch --plain") and p99 > 25:
                ok = False
        print(f"{name:28} " + " ".join(f"{c:>22}" for c in cells))
    counts = ", ".join(f"{r:g}/s: {len(all_results[(names[0], r)])} events" for r in args.rates)
    print(f"\nevents measured per reader: {counts}")
    benchlib.closing(ok, "live p99 <= 150 ms, --plain p99 <= 25 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
