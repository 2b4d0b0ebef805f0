#!/usr/bin/env python3
"""Start-up cost of `arkor-studio` vs. a minimal Typer app, side by side.

Cases: `--version`, `--help`, and one TAB completion (bash protocol, the
subcommands after `arkor-studio `), each for arkor-studio and for a
one-command Typer app with the same shape (a root callback with an eager
--version, completion enabled). Both run as a console script would: a tiny
launcher file that imports `main`/the app and calls it. Runs are
interleaved; medians and ratios are reported, with `python -c pass` as the
floor. Target: every ratio within 1.3x.

    python bench/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = '''
import typer

app = typer.Typer(name="mini", add_completion=True)


def _version(value: bool) -> None:
    if value:
        print("mini 0.0.0")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    """A minimal Typer app."""


@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""
    print(f"hello {name}")


app(prog_name="mini")
'''

OURS = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from arkor_cli_studio.app import main
main()
"""


def measure(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    base_env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_COMPLETE") and not key.startswith(("_TYPER", "COMP_"))
    }
    # An installed package has its .pyc files (pip compiles them): let the
    # warm-up run write them, or every run would recompile edited modules.
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmp:
        mini, ours = Path(tmp, "mini.py"), Path(tmp, "ours.py")
        mini.write_text(MINIMAL)
        ours.write_text(OURS)
        py = sys.executable

        def completion(var: str, prog: str) -> dict[str, str]:
            return {**base_env, var: "complete_bash", "COMP_WORDS": f"{prog} ", "COMP_CWORD": "1"}

        cases: dict[str, tuple[list[str], dict[str, str]]] = {
            "python -c pass": ([py, "-c", "pass"], base_env),
            "mini --version": ([py, str(mini), "--version"], base_env),
            "ours --version": ([py, str(ours), "--version"], base_env),
            "mini --help": ([py, str(mini), "--help"], base_env),
            "ours --help": ([py, str(ours), "--help"], base_env),
            "mini TAB": ([py, str(mini)], completion("_MINI_COMPLETE", "mini")),
            "ours TAB": ([py, str(ours)], completion("_ARKOR_STUDIO_COMPLETE", "arkor-studio")),
        }
        for argv, env in cases.values():  # warm the page cache and .pyc files
            measure(argv, env)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (argv, env) in cases.items():
                times[name].append(measure(argv, env))

    med = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(f"{'case':<16} {'median ms':>10} {'min ms':>8}")
    for name, values in times.items():
        print(f"{name:<16} {med[name]:>10.1f} {min(values) * 1000:>8.1f}")
    print()
    worst = 0.0
    for what in ("--version", "--help", "TAB"):
        ratio = med[f"ours {what}"] / med[f"mini {what}"]
        worst = max(worst, ratio)
        print(f"ours/mini {what:<10} {ratio:.2f}x")
    print(f"\nruns={args.runs}  python={sys.version.split()[0]}  target: every ratio <= 1.30x")
    return 0 if worst <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
