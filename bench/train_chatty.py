"""A chatty trainer: `train` and `train --watch` vs. `arkor start` alone, on a pty and a pipe.

    python bench/train_chatty.py                     # 300k lines, 3 reps; latency at 200 lines/s
    python bench/train_chatty.py --lines 1000000 --reps 3
    python bench/train_chatty.py --before REF        # + `train --watch` of that commit's tree

A fake `arkor start` prints `Started job job-chatty`, waits --settle seconds
(so that `train --watch` has its live view up), then writes --lines lines of
10 bytes, each written and flushed on its own (as a trainer that logs every
step does), then arkor's closing line. The job is running on a loopback
server, so `train --watch` follows it live while the lines go by.

Throughput: the time from the first of the lines reaching this script to the
closing line reaching it, for each variant, read through a pseudo-terminal
(120x40) and through a pipe, interleaved, --reps times, medians; the ratio to
the direct run on the same kind of output (targets: `train --watch` on a pty
<= 1.5x; on a pipe as before, ~1.2x). CPU: user + system of the whole run
(`wait4`, children included).

Latency: the same trainer writes --rate lines a second for --latency-seconds,
each carrying `time.perf_counter_ns()` (CLOCK_MONOTONIC, the same clock in
every process here); the moment its text is read here, minus that stamp, is
the line's latency. Added latency = a variant's p50/p99 minus the direct
run's (target for `train --watch` on a pty: p99 added <= 20 ms).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

import benchlib

CHATTY = r"""#!{python}
import os, sys, time
if sys.argv[1:2] != ["start"]:
    sys.exit(0)
out = sys.stdout
out.write("Started job job-chatty\n")
out.flush()
time.sleep(float(os.environ.get("CHATTY_SETTLE", "0")))
n = int(os.environ.get("CHATTY_LINES", "0"))
rate = float(os.environ.get("CHATTY_RATE", "0"))
write, flush = out.write, out.flush
if rate:
    start = time.perf_counter()
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        write(f"t={time.perf_counter_ns()}\n")
        flush()
else:
    for i in range(n):
        write("step %04d\n" % (i % 10000))
        flush()
write("Job job-chatty finished with status=completed\n")
flush()
"""

STAMP = re.compile(rb"t=(\d{6,})")
FIRST = b"step 0000"
LAST = b"finished with status=completed"


class Outcome:
    def __init__(self) -> None:
        self.first = 0.0
        self.last = 0.0
        self.latencies: list[float] = []
        self.size = 0


def _read(fd: int, outcome: Outcome) -> None:
    tail = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            data = os.read(fd, 1 << 16)
        except OSError:  # EIO: the pty's other side closed
            data = b""
        if not data:
            return
        now = time.perf_counter_ns()
        outcome.size += len(data)
        joined = tail + data
        if not outcome.first and FIRST in joined:
            outcome.first = now / 1e9
        if LAST in joined:
            outcome.last = now / 1e9
        for match in STAMP.finditer(joined, max(0, len(tail) - 24)):
            if match.end() > len(tail):  # not counted in the previous read
                outcome.latencies.append((now - int(match.group(1))) / 1e9)
        tail = joined[-40:]


def run(argv: list[str], env: dict[str, str], cwd: Path, on_pty: bool) -> tuple[Outcome, float]:
    """Runs one variant to its end; (what was read, CPU seconds of the run)."""
    outcome = Outcome()
    if on_pty:
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            os.chdir(cwd)
            os.execve(argv[0], argv, {**env, "TERM": "xterm-256color"})
    else:
        read_end, write_end = os.pipe()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=write_end, stderr=subprocess.DEVNULL)
        os.close(write_end)
        pid, fd = proc.pid, read_end
    _read(fd, outcome)
    _, status, usage = os.wait4(pid, 0)
    os.close(fd)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{argv[:6]} exited {code}")
    return outcome, usage.ru_utime + usage.ru_stime


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--settle", type=float, default=1.5)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--latency-seconds", type=float, default=5)
    parser.add_argument("--before", metavar="REF", help="also run this commit's train --watch")
    args = parser.parse_args()
    benchlib.banner()
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        benchlib.ReplayServer(ping_interval=15) as server,
    ):
        tmp = Path(tmp_name)
        home, project = benchlib.make_project(tmp, server.url)
        server.add_job("job-chatty", name="chatty", status="queued", config={"maxSteps": 100})
        server.emit("job-chatty", "training.started", {})
        for step in range(1, 21):
            server.emit("job-chatty", "training.log", {"step": step, "loss": 1.0 / step})
        fake = project / "node_modules" / ".bin" / "arkor"
        fake.parent.mkdir(parents=True)
        fake.write_text(CHATTY.replace("{python}", sys.executable))
        fake.chmod(0o755)
        (project / "src" / "arkor").mkdir(parents=True)
        (project / "src" / "arkor" / "index.ts").write_text("x\n")
        env = benchlib.clean_env(
            HOME=str(home),
            PYTHONPATH=str(benchlib.ROOT),
            ARKOR_STUDIO_WATCH_DRAIN="0.01",
            CHATTY_SETTLE=str(args.settle),
            TZ="UTC",
        )
        env.pop("CI", None)
        py = sys.executable
        cli = [py, "-m", "arkor_cli_studio", "-C", str(project), "--api-url", server.url]
        variants: dict[str, tuple[list[str], dict[str, str]]] = {
            "direct": ([str(fake), "start"], env),
            "train": ([*cli, "train", "--no-manifest", "--no-notify"], env),
            "train --watch": ([*cli, "train", "--watch", "--no-manifest", "--no-notify"], env),
        }
        if args.before:
            tree = benchlib.export_tree(args.before, tmp / "before")
            variants["before: train --watch"] = (
                variants["train --watch"][0],
                {**env, "PYTHONPATH": str(tree)},
            )
        spans: dict[tuple[str, bool], list[float]] = {}
        cpus: dict[tuple[str, bool], list[float]] = {}
        lats: dict[tuple[str, bool], list[float]] = {}
        names = list(variants)
        for rep in range(args.reps):
            for name in names if rep % 2 == 0 else names[::-1]:
                for on_pty in (True, False):
                    argv, case_env = variants[name]
                    got, cpu = run(
                        argv, {**case_env, "CHATTY_LINES": str(args.lines)}, project, on_pty
                    )
                    if not got.first or not got.last:
                        raise SystemExit(f"{name}: the lines did not all arrive ({got.size} bytes)")
                    spans.setdefault((name, on_pty), []).append(got.last - got.first)
                    cpus.setdefault((name, on_pty), []).append(cpu)
                    latency_env = {
                        **case_env,
                        "CHATTY_RATE": str(args.rate),
                        "CHATTY_LINES": str(int(args.rate * args.latency_seconds)),
                    }
                    got, _ = run(argv, latency_env, project, on_pty)
                    lats.setdefault((name, on_pty), []).extend(got.latencies)
            print(f"# rep {rep + 1} done ({benchlib.load()})", flush=True)

    ok = True
    print(
        f"\n## {args.lines:,} lines of 10 bytes, each flushed: "
        f"first line to last (median of {args.reps})\n"
    )
    print(f"{'variant':24} {'output':5} {'seconds':>8} {'ratio':>7} {'cpu s':>7} {'cpu ratio':>9}")
    for on_pty in (True, False):
        base = statistics.median(spans[("direct", on_pty)])
        base_cpu = statistics.median(cpus[("direct", on_pty)])
        for name in names:
            span = statistics.median(spans[(name, on_pty)])
            cpu = statistics.median(cpus[(name, on_pty)])
            kind = "pty" if on_pty else "pipe"
            print(
                f"{name:24} {kind:5} {span:8.2f} {span / base:6.2f}x "
                f"{cpu:7.2f} {cpu / base_cpu:8.2f}x"
            )
            if name == "train --watch" and on_pty and span / base > 1.5:
                ok = False
    print(
        f"\n## per-line latency at {args.rate:g} lines/s, ms: p50 / p99 (added: minus direct's)\n"
    )
    for on_pty in (True, False):
        base50 = pct(lats[("direct", on_pty)], 50)
        base99 = pct(lats[("direct", on_pty)], 99)
        for name in names:
            got = lats[(name, on_pty)]
            p50, p99 = pct(got, 50), pct(got, 99)
            kind = "pty" if on_pty else "pipe"
            print(
                f"{name:24} {kind:5} {p50 * 1000:7.2f} / {p99 * 1000:7.2f}   added "
                f"{(p50 - base50) * 1000:7.2f} / {(p99 - base99) * 1000:7.2f}  ({len(got)} lines)"
            )
            if name == "train --watch" and on_pty and (p99 - base99) > 0.020:
                ok = False
    benchlib.closing(ok, "train --watch on a pty <= 1.5x direct, p99 added <= 20 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
