"""Benchmark: how close `watch` ingests to a bare httpx-sse parse loop.

Replays N `training.log` events (+ completed + end) from a loopback
Simulator and times, in the same run and against the same stream:

- baseline: a bare httpx + httpx-sse loop that parses each frame's JSON
  (run as a subprocess too, so interpreter start-up is on both sides);
- `watch --json > /dev/null`, `watch --plain > /dev/null`, each also with
  `--advanced` (the statistics fed from the stream thread, printed at the end);
- the live view under a pseudo-terminal (output drained): with stdin on the
  terminal (the `a` key works, so the statistics are collected), with stdin
  from /dev/null (no key: nothing collected), and with `--advanced` (the
  panel drawn on every frame).

Prints medians of several runs, the ratio to the baseline, and each
command's peak RSS at 10k and at N events (it should stay flat).

    python bench/watch_ingest.py              # N=100,000, 3 runs
    python bench/watch_ingest.py -n 20000 -r 5
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arkor_cli_studio.simulator import Simulator, iso  # noqa: E402

TOKEN = "bench-token"

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
print(n)
"""


def setup(tmp: Path, sim: Simulator) -> dict[str, str]:
    home, project = tmp / "home", tmp / "project"
    (home / ".arkor").mkdir(parents=True)
    (project / ".arkor").mkdir(parents=True)
    (home / ".arkor" / "credentials.json").write_text(
        json.dumps({"mode": "anon", "token": TOKEN, "arkorCloudApiUrl": sim.url})
    )
    (project / ".arkor" / "state.json").write_text(
        json.dumps({"orgSlug": "acme", "projectSlug": "demo", "projectId": "p"})
    )
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "TZ": "UTC",
        "LANG": "C.UTF-8",
        "PROJECT": str(project),
    }


def fill(sim: Simulator, job_id: str, n: int) -> None:
    sim.add_job(job_id, name=f"bench {n}", config={"maxSteps": n})
    start = time.time() - 2 * n
    sim.emit(job_id, "training.started", {}, timestamp=iso(start))
    for i in range(1, n + 1):
        sim.emit(
            job_id,
            "training.log",
            {"step": i, "loss": 1.0 / i, "learningRate": 2e-4, "epoch": i / n},
            timestamp=iso(start + 2 * i),
        )
    sim.emit(job_id, "training.completed", {"artifacts": []}, timestamp=iso(start + 2 * n + 1))
    sim.end(job_id)


def peak_rss_kib(pid: int) -> int:
    """VmHWM of a running process (after exec: ru_maxrss would count the
    pages it shared with this parent, the simulator's frames, before exec)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_watching_rss(pid: int, poll: int | None = None) -> tuple[int, int]:
    """Wait for `pid`, sampling its peak RSS; (exit status, peak KiB)."""
    peak = 0
    while True:
        if poll is not None:
            drain(poll)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), peak
        peak = max(peak, peak_rss_kib(pid))
        if poll is None:
            time.sleep(0.01)


def drain(fd: int) -> None:
    ready, _, _ = select.select([fd], [], [], 0.01)
    while ready:
        try:
            if not os.read(fd, 1 << 16):
                return
        except OSError:
            return
        ready, _, _ = select.select([fd], [], [], 0)


def run_pipe(argv: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, exit status, peak RSS (KiB) of one subprocess, stdout to /dev/null."""
    started = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(argv, env=env, stdout=devnull, stderr=devnull)
        code, peak = wait_watching_rss(proc.pid)
    proc.returncode = code
    return time.perf_counter() - started, code, peak


def run_pty(
    argv: list[str], env: dict[str, str], *, stdin_tty: bool = True
) -> tuple[float, int, int]:
    import fcntl
    import struct
    import termios

    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        if not stdin_tty:
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
        os.execve(argv[0], argv, {**env, "TERM": "xterm-256color"})
    code, peak = wait_watching_rss(pid, poll=fd)
    os.close(fd)
    return time.perf_counter() - started, code, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("-r", "--runs", type=int, default=3)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp, Simulator(token=TOKEN, ping_interval=60) as sim:
        env = setup(Path(tmp), sim)
        project = env.pop("PROJECT")
        sizes = sorted({10_000, args.n})
        for n in sizes:
            fill(sim, f"job{n}", n)
        cli = [py, "-m", "arkor_cli_studio", "-C", project, "--api-url", sim.url]

        def commands(job: str) -> dict[str, tuple[list[str], str]]:
            url = f"{sim.url}/v1/jobs/{job}/events/stream"
            return {
                "baseline (httpx-sse loop)": ([py, "-c", BASELINE, url, TOKEN], "pipe"),
                "watch --json": ([*cli, "watch", job, "--json", "--no-notify"], "pipe"),
                "watch --json --advanced": (
                    [*cli, "watch", job, "--json", "--advanced", "--no-notify"],
                    "pipe",
                ),
                "watch --plain": ([*cli, "watch", job, "--plain", "--no-notify"], "pipe"),
                "watch --plain --advanced": (
                    [*cli, "watch", job, "--plain", "--advanced", "--no-notify"],
                    "pipe",
                ),
                "watch (live, pty)": ([*cli, "watch", job, "--no-notify"], "pty"),
                "watch (live, no stdin)": ([*cli, "watch", job, "--no-notify"], "pty-nostdin"),
                "watch (live) --advanced": (
                    [*cli, "watch", job, "--advanced", "--no-notify"],
                    "pty",
                ),
            }

        print(f"{args.n:,} training.log events, median of {args.runs} runs\n")
        rss: dict[str, dict[int, int]] = {}
        for n in sizes:
            times: dict[str, list[float]] = {}
            for _ in range(args.runs):
                for name, (argv, how) in commands(f"job{n}").items():
                    if how == "pipe":
                        seconds, code, peak = run_pipe(argv, env)
                    else:
                        seconds, code, peak = run_pty(argv, env, stdin_tty=how == "pty")
                    if code != 0:
                        raise SystemExit(f"{name} exited {code}")
                    times.setdefault(name, []).append(seconds)
                    rss.setdefault(name, {})[n] = max(rss.get(name, {}).get(n, 0), peak)
            if n != args.n:
                continue
            base = statistics.median(times["baseline (httpx-sse loop)"])
            print(f"{'command':30} {'median s':>9} {'events/s':>10} {'ratio':>6}")
            for name, values in times.items():
                median = statistics.median(values)
                print(f"{name:30} {median:9.2f} {n / median:10,.0f} {median / base:6.2f}")
        print(f"\npeak RSS (MiB){'':16} {'10k':>8} {f'{args.n // 1000}k':>8}")
        for name, by_n in rss.items():
            cells = " ".join(f"{by_n.get(size, 0) / 1024:8.1f}" for size in sizes)
            print(f"{name:30} {cells}")


if __name__ == "__main__":
    main()
