"""`jobs` with many jobs: the piped listing, and the `--follow` board's redraw.

1. Piped listing: `arkor-studio jobs > /dev/null` of N jobs (default 50,000)
   against a baseline in the same run: a plain Python program that GETs the
   same answer with httpx, `json.loads` it and writes one formatted line per
   job. Both are fresh processes against the same loopback server (which
   serves a pre-encoded body, so it is never what a client waits for).
   Target: under 2x the baseline (median wall time; CPU time beside it).

2. Board redraw: one frame of `jobs --follow` (`render.jobs.jobs_board` of
   20,000 jobs at 120x40, rendered by rich to a string, as Live does),
   against the same board of the 39 jobs that fit (what a redraw must cost
   at least). Target: under 50 ms.

    python bench/jobs_bench.py [--jobs 50000] [--board 20000] [--runs 7]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchlib import (
    TOKEN,
    banner,
    clean_env,
    closing,
    interleaved,
    make_project,
    median_ms,
    run_quiet,
)

STATUSES = ["running", "completed", "failed", "cancelled", "queued"]


def job_objects(n: int) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    jobs = []
    for i in range(n):
        created = now - timedelta(minutes=5 * (i + 1))
        status = STATUSES[i % len(STATUSES)]
        job: dict[str, object] = {
            "id": f"cm{i:08d}bench{i % 997:04d}x",
            "name": f"run-{i}-gemma-3-270m-sft-lr2e-4",
            "status": status,
            "createdAt": created.isoformat().replace("+00:00", "Z"),
            "startedAt": (created + timedelta(seconds=40)).isoformat().replace("+00:00", "Z"),
            "config": {"model": "unsloth/gemma-3-270m-it", "maxSteps": 300},
        }
        if status in ("completed", "failed", "cancelled"):
            job["completedAt"] = (created + timedelta(minutes=4)).isoformat().replace("+00:00", "Z")
        jobs.append(job)
    return jobs


class _Handler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


BASELINE = """
import json, sys, httpx
url, token = sys.argv[1], sys.argv[2]
r = httpx.get(url, params={"orgSlug": "acme", "projectSlug": "demo"},
              headers={"Authorization": "Bearer " + token})
out = sys.stdout
for job in json.loads(r.content)["jobs"]:
    out.write(f"{job['status']:<10}  {job['name']}  {job['createdAt']}  {job['id']}\\n")
"""


def piped(n: int, runs: int) -> bool:
    _Handler.body = json.dumps({"jobs": job_objects(n)}).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        home, project = make_project(Path(tmp), url)
        env = clean_env(HOME=str(home), PYTHONPATH=str(Path(__file__).resolve().parent.parent))
        ours = [sys.executable, "-m", "arkor_cli_studio", "-C", str(project), "jobs"]
        base = [sys.executable, "-c", BASELINE, f"{url}/v1/jobs", TOKEN]
        times = interleaved(
            {"baseline": lambda: run_quiet(base, env), "jobs": lambda: run_quiet(ours, env)},
            runs,
        )
    server.shutdown()
    wall = {name: median_ms(t[0] for t in values) for name, values in times.items()}
    cpu = {name: median_ms(t[1] for t in values) for name, values in times.items()}
    ratio = wall["jobs"] / wall["baseline"]
    print(f"\n## `jobs` piped, {n:,} jobs ({len(_Handler.body) / 1e6:.1f} MB of JSON), {runs} runs")
    print("| case | median wall | median CPU |")
    print("| --- | --- | --- |")
    for name in times:
        print(f"| {name} | {wall[name]:.0f} ms | {cpu[name]:.0f} ms |")
    print(f"ratio jobs/baseline: wall {ratio:.2f}x, CPU {cpu['jobs'] / cpu['baseline']:.2f}x")
    return ratio < 2.0


def board(n: int, runs: int) -> bool:
    from rich.console import Console

    from arkor_cli_studio.model import parse_jobs
    from arkor_cli_studio.render.jobs import jobs_board

    jobs = parse_jobs({"jobs": job_objects(n)})
    now = datetime.now(UTC)
    width, height = 120, 40

    def frame(subset: int) -> float:
        console = Console(file=io.StringIO(), width=width, height=height, force_terminal=True)
        started = time.perf_counter()
        console.print(jobs_board(jobs[:subset], now, width, height, footer="Updated 0s ago"))
        return time.perf_counter() - started

    fits = height - 1 - 1 - 1  # header, footer
    times = interleaved(
        {"fits": lambda: frame(fits), "board": lambda: frame(n)}, runs * 5, warmup=2
    )
    med = {name: median_ms(values) for name, values in times.items()}
    print(f"\n## `jobs --follow` board at {width}x{height}, one redraw, {runs * 5} runs")
    print("| case | median |")
    print("| --- | --- |")
    print(f"| the {fits} jobs that fit | {med['fits']:.1f} ms |")
    print(f"| {n:,} jobs | {med['board']:.1f} ms |")
    print(f"ratio: {med['board'] / med['fits']:.2f}x")
    return med["board"] < 50.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--board", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    banner()
    ok_piped = piped(args.jobs, args.runs)
    ok_board = board(args.board, args.runs)
    closing(ok_piped and ok_board, "piped < 2x baseline; board redraw < 50 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
