"""200 MB through `arkor-studio train` vs. the fake `arkor start` run directly.

    python bench/train_passthrough.py                     # 200 MB, 5 reps (~15 s)
    python bench/train_passthrough.py --mb 1000 --reps 5  # the long run
    python bench/train_passthrough.py --before HEAD~2     # + `train` from another commit

Same run, same consumer (this script reads the pipe in 1 MiB reads and
hashes it with SHA-256), alternating order each repetition. Variants:

- direct:        `arkor start` (the fake) with stdout on the pipe
- train:         `arkor-studio train --no-manifest --no-notify` (arkor start's stdout through
                 train's pump, which reads it for `finished with status=`; stderr inherited)
- train+manifest `arkor-studio train --no-notify` (arkor build + node import first), if node
- train --watch: `arkor-studio train --watch --no-manifest --no-notify`, piped (the
                 pump below plus the watch, which has no job to follow here)
- pipe pump:     `runner.run_start(on_stdout=...)` with a StartedJobScanner, the --watch
                 path (the output starts with `Started job job-bench`, as arkor's does
                 early; after it the rest is spliced)

Reports medians, the ratio to `direct` (target <= 1.2x) and checks that every
variant's output hashes the same as the direct run's. Then the fixed cost on
its own (a 1-byte run of each, next to `python -c pass` and `import typer`),
and a check that `train` hands arkor start our own stdout and stderr (the
child's fd 1 and 2 are the very pipe this script reads: nothing in between).
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

import benchlib  # noqa: E402

from tests import fake_arkor  # noqa: E402

# `arkor start` that reports what its stdout and stderr are.
FD_PROBE = """#!{python}
import os, sys
if sys.argv[1:2] == ["start"]:
    print(os.readlink("/proc/self/fd/1"), os.readlink("/proc/self/fd/2"))
"""

PUMP_DRIVER = """
import os, sys
from pathlib import Path
from arkor_cli_studio import runner
from arkor_cli_studio import start_output
scanner = start_output.StartedJobScanner()
result = runner.run_start(Path(sys.argv[1]), Path(sys.argv[2]), None, os.environ,
                          on_stdout=lambda chunk: scanner.feed(chunk) is not None)
assert scanner.job_id == "job-bench", scanner.job_id
sys.exit(result.code)
"""


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str, int]:
    """(wall s, CPU s of the process and the children it waited for, sha256, bytes)."""
    digest = hashlib.sha256()
    size = 0
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0
    )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while chunk := os.read(fd, 1 << 20):
        digest.update(chunk)
        size += len(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    proc.stdout.close()
    if code != 0:
        raise SystemExit(f"{argv[:4]} exited with {code}")
    return elapsed, usage.ru_utime + usage.ru_stime, digest.hexdigest(), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--before", metavar="REF", help="also time `train` from this git ref")
    args = parser.parse_args()
    total = args.mb * 1_000_000
    benchlib.banner()

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
        envs = {name: env for name in variants}
        if args.before:
            before = benchlib.export_tree(args.before, tmp / "before")
            variants["train (before)"] = variants["train"]
            envs["train (before)"] = {**env, "PYTHONPATH": str(before)}
        if shutil.which("node"):
            variants["train+manifest"] = [*cli, "--no-notify"]
            envs["train+manifest"] = env
        times: dict[str, list[float]] = {name: [] for name in variants}
        cpus: dict[str, list[float]] = {name: [] for name in variants}
        hashes: dict[str, set[str]] = {name: set() for name in variants}
        sizes: dict[str, set[int]] = {name: set() for name in variants}
        names = list(variants)
        for rep in range(args.reps):
            order = names if rep % 2 == 0 else names[::-1]
            for name in order:
                elapsed, cpu, digest, size = measure(variants[name], envs[name], project)
                times[name].append(elapsed)
                cpus[name].append(cpu)
                hashes[name].add(digest)
                sizes[name].add(size)

        # The fixed cost (interpreter, imports, spawn) on its own: a 1-byte run.
        py = sys.executable
        fixed_argv = {
            "python -c pass": [py, "-c", "pass"],
            "import typer": [py, "-c", "import typer"],
            "direct": variants["direct"],
            "train": variants["train"],
        }
        fixed_env = {name: {**env, "FAKE_BYTES": "1"} for name in fixed_argv}
        if args.before:
            fixed_argv["train (before)"] = variants["train"]
            fixed_env["train (before)"] = {**envs["train (before)"], "FAKE_BYTES": "1"}
        fixed = benchlib.interleaved(
            {
                name: (lambda name=name: measure(fixed_argv[name], fixed_env[name], project)[0])
                for name in fixed_argv
            },
            max(args.reps, 15),
        )

        # arkor start writes stderr to ours itself; stdout goes through train's pump
        # (train reads it for the job's outcome line).
        probe = tmp / "probe"
        probe.write_text(FD_PROBE.format(python=sys.executable))
        probe.chmod(0o755)
        proc = subprocess.Popen(
            [*cli, "--no-manifest", "--no-notify", "--arkor", str(probe)],
            env=env,
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        ours = (os.fstat(proc.stdout.fileno()).st_ino, os.fstat(proc.stderr.fileno()).st_ino)
        seen = proc.stdout.read().decode().split()
        proc.stderr.read()
        proc.wait()
        inherited = (
            len(seen) == 2 and seen[0] != f"pipe:[{ours[0]}]" and seen[1] == f"pipe:[{ours[1]}]"
        )

    reference = hashes["direct"]
    base = statistics.median(times["direct"])
    base_cpu = statistics.median(cpus["direct"])
    print(f"{args.mb} MB, {args.reps} repetitions, medians (wall: all runs; seconds)")
    ok = True
    for name in names:
        median = statistics.median(times[name])
        cpu = statistics.median(cpus[name])
        same = hashes[name] == reference and len(reference) == 1 and sizes[name] == {total}
        ok = ok and same
        runs = " ".join(f"{t:.3f}" for t in times[name])
        print(
            f"  {name:15s} wall {median:.3f}s {median / base:.2f}x  cpu {cpu:.3f}s "
            f"{cpu / base_cpu:.2f}x  {'byte-identical' if same else 'DIFFERENT OUTPUT'}  [{runs}]"
        )
    print(f"  sha256 {next(iter(reference))}")
    ratio = statistics.median(times["train"]) / base
    fixed_ms = {name: benchlib.median_ms(values) for name, values in fixed.items()}
    overhead = (fixed_ms["train"] - fixed_ms["direct"]) / 1000
    print(
        "fixed cost, a 1-byte run (medians, ms): "
        + ", ".join(f"{name} {value:.1f}" for name, value in fixed_ms.items())
    )
    print(
        f"  train - direct = {overhead * 1000:.0f} ms; the ratio without it "
        f"{(statistics.median(times['train']) - overhead) / base:.2f}x; "
        f"the 1.2x target needs that under {0.2 * base * 1000:.0f} ms at {args.mb} MB "
        f"(`python -c 'import typer'` alone: {fixed_ms['import typer']:.0f} ms)"
    )
    print(
        "arkor start's stderr is this script's pipe (inherited), its stdout train's pump: "
        + ("yes" if inherited else f"NO: {seen}")
    )
    benchlib.closing(ok and inherited and ratio <= 1.2, "train <= 1.2x direct, byte-identical")
    sys.exit(0 if ok and inherited and ratio <= 1.2 else 1)


if __name__ == "__main__":
    main()
