"""Idle: CPU of a live `watch` on a quiet stream, after start-up, vs. a bare loop.

A running job with --history `training.log` events (default 2,000: the chart
is full, the most a redraw can cost), then nothing but `ping` frames every
--ping seconds, from the project's loopback simulator. Started together:

- `watch JOB` (the live view) under a pseudo-terminal (120x40), its output
  drained and counted;
- baseline: a bare httpx + httpx-sse loop reading the same stream.

After --settle seconds (start-up and the history are done), the CPU time
(user + system, all threads, from /proc/PID/stat) of each is read, again
--seconds later, and the difference is reported as a share of one core.
Target: under 3% of a core for `watch`; with --jobs 20000 (a project of
20,000 jobs: what each job poll would fetch as a list), under 1%.

    python bench/idle.py                  # a 60 s window (~70 s)
    python bench/idle.py --seconds 10     # a quick look
    python bench/idle.py --jobs 20000 --before REF   # + that commit's watch, same time
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

import benchlib
from watch_ingest import BASELINE, FRAME_START

from arkor_cli_studio.simulator import Simulator, iso

TARGET = 3.0  # percent of one core
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # fields 14 and 15 of stat(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window")
    parser.add_argument("--settle", type=float, default=5.0, help="start-up excluded")
    parser.add_argument("--ping", type=float, default=15.0, help="the server's ping interval")
    parser.add_argument("--history", type=int, default=2000, help="events before the quiet")
    parser.add_argument("--jobs", type=int, default=0, help="other jobs in the project")
    parser.add_argument("--before", metavar="REF", help="also run this commit's watch")
    args = parser.parse_args()
    benchlib.banner()

    with (
        tempfile.TemporaryDirectory() as tmp,
        Simulator(token=benchlib.TOKEN, ping_interval=args.ping) as sim,
    ):
        home, project = benchlib.make_project(Path(tmp), sim.url)
        env = benchlib.clean_env(
            HOME=str(home), PYTHONPATH=str(benchlib.ROOT), TZ="UTC", LANG="C.UTF-8"
        )
        for i in range(args.jobs):  # a big project: the jobs list is this long
            sim.add_job(
                f"job-{i:05}",
                name=f"sweep run {i}",
                status="completed",
                config={"model": "unsloth/gemma-3-270m-it", "maxSteps": 1000, "lr": 2e-4},
            )
        sim.add_job("quiet", name="quiet run", config={"maxSteps": 100_000})
        start = time.time() - 60 * args.history
        sim.emit("quiet", "training.started", {}, timestamp=iso(start))
        for i in range(1, args.history + 1):
            sim.emit(
                "quiet",
                "training.log",
                {"step": i, "loss": 2.0 / (1 + i / 100), "learningRate": 2e-4},
                timestamp=iso(start + 30 * i),
            )

        argv = [sys.executable, "-m", "arkor_cli_studio", "-C", str(project), "--api-url", sim.url]
        argv += ["watch", "quiet", "--no-notify"]
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            os.chdir(benchlib.ROOT)  # `-m` puts the working folder first on sys.path
            os.execve(argv[0], argv, {**env, "TERM": "xterm-256color"})
        before_pid = before_fd = None
        if args.before:
            tree = benchlib.export_tree(args.before, Path(tmp) / "before")
            before_pid, before_fd = pty.fork()
            if before_pid == 0:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
                os.chdir(tree)  # its own tree first on sys.path, not this one
                os.execve(argv[0], argv, {**env, "PYTHONPATH": str(tree), "TERM": "xterm-256color"})
        url = f"{sim.url}/v1/jobs/quiet/events/stream"
        base = subprocess.Popen(
            [sys.executable, "-c", BASELINE, url, benchlib.TOKEN],
            env=env,
            stdout=subprocess.DEVNULL,
        )

        counted = {"bytes": 0, "frames": 0}
        tail = b""

        def drain_until(deadline: float) -> None:
            nonlocal tail
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([fd, *([before_fd] if before_fd else [])], [], [], left)
                if before_fd is not None and before_fd in ready:
                    os.read(before_fd, 1 << 16)  # the other watch: drained, not counted
                if fd not in ready:
                    continue
                data = os.read(fd, 1 << 16)
                if not data:
                    raise SystemExit("watch ended early")
                counted["bytes"] += len(data)
                joined = tail + data
                counted["frames"] += joined.count(FRAME_START)
                tail = joined[-(len(FRAME_START) - 1) :]

        try:
            drain_until(time.monotonic() + args.settle)
            if base.poll() is not None or os.waitpid(pid, os.WNOHANG)[0]:
                raise SystemExit("a reader ended during start-up")
            counted.update(bytes=0, frames=0)
            began = time.monotonic()
            pids = {"watch": pid, "baseline": base.pid}
            if before_pid is not None:
                pids["before"] = before_pid
            cpu0 = {name: cpu_seconds(p) for name, p in pids.items()}
            drain_until(began + args.seconds)
            cpu1 = {name: cpu_seconds(p) for name, p in pids.items()}
            lists = sum(1 for r in sim.requests if r.path == "/v1/jobs")
            window = time.monotonic() - began
            connections = sum(1 for r in sim.requests if r.path.endswith("/events/stream"))
        finally:
            for victim in (pid, base.pid, *([before_pid] if before_pid else [])):
                try:
                    os.kill(victim, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            base.wait()
            drain_until_exit(fd)
            os.waitpid(pid, 0)
            os.close(fd)
            if before_pid is not None and before_fd is not None:
                drain_until_exit(before_fd)
                os.waitpid(before_pid, 0)
                os.close(before_fd)

    print(
        f"\nwindow {window:.1f} s after {args.settle:.0f} s of start-up; pings every "
        f"{args.ping:.0f} s; {args.history:,} events of history; "
        f"stream connections: {connections} (2 = no reconnect); {args.jobs:,} other jobs "
        f"in the project; jobs-list requests in all: {lists}\n"
    )
    print(f"{'reader':28} {'cpu s':>7} {'% of a core':>12}")
    share = {}
    labels = {
        "watch": "watch (live, pty)",
        "baseline": "baseline (httpx-sse loop)",
        "before": f"before: watch ({args.before})",
    }
    for name in cpu0:
        used = cpu1[name] - cpu0[name]
        share[name] = 100 * used / window
        label = labels[name]
        print(f"{label:28} {used:7.2f} {share[name]:11.2f}%")
    print(
        f"\nlive view in the window: {counted['frames']} redraws "
        f"({counted['frames'] / window:.2f}/s), {counted['bytes']:,} bytes to the terminal"
    )
    target = 1.0 if args.jobs >= 1000 else TARGET
    ok = share["watch"] < target
    benchlib.closing(ok, f"watch < {target:.0f}% of a core")
    return 0 if ok else 1


def drain_until_exit(fd: int) -> None:
    """Read what the stopped watch still writes, so it never blocks on the terminal."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                if not os.read(fd, 1 << 16):
                    return
            except OSError:
                return


if __name__ == "__main__":
    sys.exit(main())
