"""`stats` on large runs, end to end: time, peak memory and scaling, same run.

    python bench/stats_scaling.py                       # 1M events; 3 runs (~2 min)
    python bench/stats_scaling.py --n 200000 --runs 5
    python bench/stats_scaling.py --before REF          # + that commit's tree, same run

Three comparisons, each as subprocesses run interleaved (a, b, c, c, b, a...),
`--runs` times, medians (peak RSS: the largest, from `/usr/bin/time -f %M`,
the exec'd command only):

1. `stats JOB --json` (the history replayed from a loopback server) against
   `stats --file F --json` on the same events (the NDJSON that `watch --json`
   writes): peak memory (target: within 1.5x at 1M events) and time.
2. `stats --file F --json` on the same number of events (`--file-n`, 100k)
   with one job in the file and with 5,000 jobs (the job asked for: one event
   in 5,000): the second must cost what the first does (linear in events,
   whatever the number of jobs).
3. End to end from the same NDJSON file: `stats --file F --json` against a
   script that reads it with `json` and computes the same numbers with numpy
   (what a user would otherwise write). `bench/stats_bench.py` has the
   in-memory comparison (the arithmetic alone).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import benchlib

NUMPY_SCRIPT = r"""
import json, sys
import numpy as np
loss, evals = [], []
target = sys.argv[2]
with open(sys.argv[1], "rb") as f:
    for line in f:
        record = json.loads(line)
        if record["event"] != "training.log":
            continue
        data = record["data"]
        if data.get("jobId", target) != target:
            continue
        for key, out in (("loss", loss), ("evalLoss", evals)):
            value = data.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out.append(value)
result = {}
for name, values in (("loss", loss), ("evalLoss", evals)):
    a = np.array(values, dtype=float)
    a = a[np.isfinite(a)]
    if len(a) == 0:
        result[name] = {"count": 0}
        continue
    p90, p95 = np.percentile(a, [90, 95])
    std = float(a.std(ddof=1)) if len(a) > 1 else 0.0
    result[name] = {"count": len(a), "mean": float(a.mean()), "stddev": std,
                    "variance": std * std, "ci95HalfWidth": 1.96 * std / len(a) ** 0.5,
                    "p90": float(p90), "p95": float(p95)}
print(json.dumps(result))
"""


def write_ndjson(server: benchlib.ReplayServer, job_id: str, path: Path) -> None:
    """What `watch JOB --json` writes for the job: one record a line."""
    with open(path, "w") as out:
        for frame in server.jobs[job_id].frames:
            if frame.event == "end":
                continue
            out.write(
                f'{{"event": {json.dumps(frame.event)}, "id": {json.dumps(frame.id)}, '
                f'"data": {frame.data}}}\n'
            )


def write_many_jobs(path: Path, n: int, jobs: int) -> None:
    """n `training.log` records, job by job in turn (j0 has n / jobs of them)."""
    with open(path, "w") as out:
        for i in range(n):
            data = {
                "type": "training.log",
                "jobId": f"j{i % jobs}",
                "step": i,
                "loss": 1.0 / (i + 1),
            }
            out.write(json.dumps({"event": "training.log", "id": str(i), "data": data}) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="events of the big job")
    parser.add_argument("--file-n", type=int, default=100_000, help="events of the jobs files")
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", metavar="REF", help="also time this commit's tree")
    args = parser.parse_args()
    benchlib.banner()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp_name, benchlib.ReplayServer() as server:
        tmp = Path(tmp_name)
        home, project = benchlib.make_project(tmp, server.url)
        benchlib.fill_training(server, "big", args.n)
        big = tmp / "big.ndjson"
        write_ndjson(server, "big", big)
        one_job, many_jobs = tmp / "one.ndjson", tmp / "many.ndjson"
        write_many_jobs(one_job, args.file_n, 1)
        write_many_jobs(many_jobs, args.file_n, args.jobs)
        script = tmp / "numpy_stats.py"
        script.write_text(NUMPY_SCRIPT)
        trees = {"ours": benchlib.ROOT}
        if args.before:
            trees["before"] = benchlib.export_tree(args.before, tmp / "before")
        print(
            f"# big job: {args.n:,} training.log events ({big.stat().st_size / 1e6:.0f} MB "
            f"of NDJSON); jobs files: {args.file_n:,} events, 1 job and {args.jobs:,} jobs"
        )

        def cli(tree: Path, *argv: str) -> tuple[list[str], dict[str, str]]:
            env = benchlib.clean_env(HOME=str(home), PYTHONPATH=str(tree))
            base = [py, "-m", "arkor_cli_studio", "-C", str(project), "--api-url", server.url]
            return [*base, *argv], env

        cases: dict[str, tuple[list[str], dict[str, str]]] = {}
        for label, tree in trees.items():
            tag = "" if label == "ours" else f"{label}: "
            cases[f"{tag}stats JOB (API)"] = cli(tree, "stats", "big", "--json")
            cases[f"{tag}stats --file"] = cli(tree, "stats", "--file", str(big), "--json")
            cases[f"{tag}--file, 1 job"] = cli(tree, "stats", "--file", str(one_job), "--json")
            cases[f"{tag}--file, {args.jobs:,} jobs"] = cli(
                tree, "stats", "j0", "--file", str(many_jobs), "--json"
            )
        cases["numpy + json script"] = ([py, str(script), str(big), "big"], benchlib.clean_env())

        # The same answers first (loss count and mean), then the timed runs.
        answers = {}
        for name in ("stats JOB (API)", "stats --file", "numpy + json script"):
            argv, env = cases[name]
            out = tmp / "out.json"
            with open(out, "w") as f:
                benchlib.run_peak(argv, env, cwd=Path(env.get("PYTHONPATH", tmp)), stdout=f)
            loss = json.loads(out.read_text())["loss"]
            answers[name] = (loss["count"], round(loss["mean"], 9))
        assert len(set(answers.values())) == 1, answers

        results = benchlib.interleaved(
            {
                name: (
                    lambda argv=argv, env=env: benchlib.run_peak(
                        argv, env, cwd=Path(env.get("PYTHONPATH", tmp))
                    )
                )
                for name, (argv, env) in cases.items()
            },
            runs=args.runs,
            warmup=0,
        )

    def wall(name: str) -> float:
        return statistics.median(r[0] for r in results[name])

    def peak(name: str) -> float:
        return max(r[2] for r in results[name]) / 1024

    print(f"\n{'case':30} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9}   (medians; peak: max)")
    for name in cases:
        cpu = statistics.median(r[1] for r in results[name])
        print(f"{name:30} {wall(name):8.2f} {cpu:8.2f} {peak(name):9.1f}")

    mem_ratio = peak("stats JOB (API)") / peak("stats --file")
    jobs_ratio = wall(f"--file, {args.jobs:,} jobs") / wall("--file, 1 job")
    e2e = wall("stats --file") / wall("numpy + json script")
    print("\nratios")
    print(f"  memory, stats JOB / stats --file at {args.n:,} events: {mem_ratio:.2f}x (<= 1.5x)")
    print(f"  time, --file with {args.jobs:,} jobs / with 1 job: {jobs_ratio:.2f}x (~1x: linear)")
    print(f"  end to end, stats --file / numpy + json script: {e2e:.2f}x")
    if args.before:
        mem = peak("before: stats JOB (API)") / peak("before: stats --file")
        jobs = wall(f"before: --file, {args.jobs:,} jobs") / wall("before: --file, 1 job")
        print(f"  before: memory {mem:.2f}x, jobs {jobs:.2f}x")
    benchlib.closing(mem_ratio <= 1.5 and jobs_ratio <= 1.3, "memory <= 1.5x and jobs ~1x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
