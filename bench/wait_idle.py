"""Idle: CPU of `wait` on 50 running jobs whose streams are quiet, vs. a bare loop.

--jobs running jobs (default 50), each with a short history, then nothing
but `ping` frames every --ping seconds, from the project's loopback
simulator. Started together:

- `wait ID...` (one process, one stream per job), its output discarded;
- baseline: --jobs bare httpx + httpx-sse loops, one thread each in one
  process, reading the same streams (the least a follower can do).

After --settle seconds (start-up and the histories are done), the CPU
time (user + system, all threads, from /proc/PID/stat) of each is read,
again --seconds later; the difference is a share of one core. The number
of stream connections tells that `wait` holds one per job and no more.
Target: under 5% of a core for `wait` on 50 jobs.

    python bench/wait_idle.py                   # a 30 s window
    python bench/wait_idle.py --seconds 10      # a quick look
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib

from arkor_cli_studio.simulator import Simulator, iso

TARGET = 5.0  # percent of one core
TICKS = os.sysconf("SC_CLK_TCK")

# One thread per stream, each a bare httpx-sse loop: the baseline.
BASELINE = r"""
import json, sys, threading, httpx
from httpx_sse import EventSource
token, urls = sys.argv[1], sys.argv[2:]
client = httpx.Client(timeout=None)
def follow(url):
    with client.stream("GET", url, params={"orgSlug": "acme", "projectSlug": "demo"},
                       headers={"Authorization": f"Bearer {token}",
                                "Accept": "text/event-stream"}) as response:
        for sse in EventSource(response).iter_sse():
            json.loads(sse.data)
threads = [threading.Thread(target=follow, args=(u,), daemon=True) for u in urls]
for t in threads: t.start()
for t in threads: t.join()
"""


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0, help="the measured window")
    parser.add_argument("--settle", type=float, default=5.0, help="start-up excluded")
    parser.add_argument("--ping", type=float, default=5.0, help="the server's ping interval")
    parser.add_argument("--history", type=int, default=200, help="events per job before the quiet")
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
        ids = [f"job{i:03d}" for i in range(args.jobs)]
        start = time.time() - 30 * args.history
        for job_id in ids:
            sim.add_job(job_id, name=f"sweep {job_id}", config={"maxSteps": 100_000})
            sim.emit(job_id, "training.started", {}, timestamp=iso(start))
            for i in range(1, args.history + 1):
                sim.emit(
                    job_id,
                    "training.log",
                    {"step": i, "loss": 2.0 / (1 + i / 100)},
                    timestamp=iso(start + 30 * i),
                )
        argv = [sys.executable, "-m", "arkor_cli_studio", "-C", str(project), "--api-url", sim.url]
        waiter = subprocess.Popen(
            [*argv, "wait", *ids],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        urls = [f"{sim.url}/v1/jobs/{job_id}/events/stream" for job_id in ids]
        base = subprocess.Popen(
            [sys.executable, "-c", BASELINE, benchlib.TOKEN, *urls],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(args.settle)
            if waiter.poll() is not None or base.poll() is not None:
                raise SystemExit("a reader ended during start-up")
            began = time.monotonic()
            cpu0 = {"wait": cpu_seconds(waiter.pid), "baseline": cpu_seconds(base.pid)}
            time.sleep(args.seconds)
            cpu1 = {"wait": cpu_seconds(waiter.pid), "baseline": cpu_seconds(base.pid)}
            window = time.monotonic() - began
            connections = len(sim.stream_requests())
        finally:
            for proc in (waiter, base):
                proc.send_signal(signal.SIGTERM)
                proc.wait()

    print(
        f"\n{args.jobs} running jobs, {args.history} events each, then pings every "
        f"{args.ping:.0f} s; window {window:.1f} s after {args.settle:.0f} s of start-up; "
        f"stream connections: {connections} ({2 * args.jobs} = one per job per reader)\n"
    )
    print(f"{'reader':28} {'cpu s':>7} {'% of a core':>12}")
    share = {}
    for name in ("wait", "baseline"):
        used = cpu1[name] - cpu0[name]
        share[name] = 100 * used / window
        print(f"{name:28} {used:7.2f} {share[name]:11.2f}%")
    ok = share["wait"] < TARGET and connections == 2 * args.jobs
    benchlib.closing(ok, f"wait under {TARGET:.0f}% of a core, one connection per job")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
