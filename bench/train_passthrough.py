"""200 MB through `arkor-studio train` vs. the fake `arkor start` run directly.

    /work/venv/bin/python bench/train_passthrough.py [--mb 200] [--reps 5]

Same run, same consumer (this script reads the pipe in 1 MiB reads and
hashes it with SHA-256), alternating order each repetition. Variants:

- direct:        `arkor start` (the fake) with stdout on the pipe
- train:         `arkor-studio train --no-manifest --no-notify` (child inherits our stdout)
- train+manifest `arkor-studio train --no-notify` (arkor build + node import first), if node
- train --watch: `arkor-studio train --watch --no-manifest --no-notify`, piped (the
                 pump below plus the watch, which has no job to follow here)
- pipe pump:     `runner.run_start(on_stdout=...)` with a StartedJobScanner, the --watch
                 path (the output starts with `Started job job-bench`, as arkor's does
                 early; after it the rest is spliced)

Reports medians, the ratio to `direct` (target <= 1.2x) and checks that every
variant's output hashes the same as the direct run's.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import fake_arkor  # noqa: E402

PUMP_DRIVER = """
import os, sys
from pathlib import Path
from arkor_cli_studio import runner
scanner = runner.StartedJobScanner()
result = runner.run_start(Path(sys.argv[1]), Path(sys.argv[2]), None, os.environ,
                          on_stdout=lambda chunk: scanner.feed(chunk) is not None)
assert scanner.job_id == "job-bench", scanner.job_id
sys.exit(result.code)
"""


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str, int]:
    digest = hashlib.sha256()
    size = 0
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, bufsize=0)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while chunk := os.read(fd, 1 << 20):
        digest.update(chunk)
        size += len(chunk)
    code = proc.wait()
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"{argv[:4]} exited with {code}")
    return elapsed, digest.hexdigest(), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    total = args.mb * 1_000_000

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        project = tmp / "project"
        fake = project / "node_modules" / ".bin" / "arkor"
        fake.parent.mkdir(parents=True)
        fake.write_text(f"#!{sys.executable}\n{Path(fake_arkor.__file__).read_text()}")
        fake.chmod(0o755)
        (project / "src" / "arkor").mkdir(parents=True)
        (project / "src" / "arkor" / "index.ts").write_text("x\n")
        env = {
            "HOME": str(tmp / "home"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(ROOT),
            "FAKE_BYTES": str(total),
            "ARKOR_STUDIO_WATCH_DRAIN": "0.01",
        }
        cli = [sys.executable, "-m", "arkor_cli_studio", "-C", str(project), "train"]
        variants: dict[str, list[str]] = {
            "direct": [str(fake), "start"],
            "train": [*cli, "--no-manifest", "--no-notify"],
            "train --watch": [*cli, "--watch", "--no-manifest", "--no-notify"],
            "pipe pump": [sys.executable, "-c", PUMP_DRIVER, str(fake), str(project)],
        }
        if shutil.which("node"):
            variants["train+manifest"] = [*cli, "--no-notify"]
        times: dict[str, list[float]] = {name: [] for name in variants}
        hashes: dict[str, set[str]] = {name: set() for name in variants}
        sizes: dict[str, set[int]] = {name: set() for name in variants}
        names = list(variants)
        for rep in range(args.reps):
            order = names if rep % 2 == 0 else names[::-1]
            for name in order:
                elapsed, digest, size = measure(variants[name], env, project)
                times[name].append(elapsed)
                hashes[name].add(digest)
                sizes[name].add(size)

        # The fixed cost (interpreter, imports, spawn) on its own: a 1-byte run.
        tiny = {**env, "FAKE_BYTES": "1"}
        fixed: dict[str, list[float]] = {"direct": [], "train": []}
        for _ in range(args.reps):
            for name in fixed:
                fixed[name].append(measure(variants[name], tiny, project)[0])

    reference = hashes["direct"]
    base = statistics.median(times["direct"])
    print(f"{args.mb} MB, {args.reps} repetitions, medians (all runs, seconds)")
    ok = True
    for name in names:
        median = statistics.median(times[name])
        same = hashes[name] == reference and len(reference) == 1 and sizes[name] == {total}
        ok = ok and same
        runs = " ".join(f"{t:.3f}" for t in times[name])
        print(
            f"  {name:15s} median {median:.3f}s  ratio {median / base:.2f}x  "
            f"{'byte-identical' if same else 'DIFFERENT OUTPUT'}  [{runs}]"
        )
    print(f"  sha256 {next(iter(reference))}")
    overhead = statistics.median(fixed["train"]) - statistics.median(fixed["direct"])
    print(
        f"fixed cost of train (1-byte run, medians): direct "
        f"{statistics.median(fixed['direct']):.3f}s, train {statistics.median(fixed['train']):.3f}s"
        f" -> {overhead * 1000:.0f} ms; ratio without it "
        f"{(statistics.median(times['train']) - overhead) / base:.2f}x"
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
