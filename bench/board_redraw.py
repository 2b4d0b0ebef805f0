"""The jobs board's redraw: CPU per frame with 1,000 jobs and 6 live
sparklines, against a baseline in the same run.

One frame = what `jobs --follow` does on each redraw (`commands/_board.py`):
the board's rows, filtered and sorted once (`--sort`), the window of them on
screen (whose running jobs get streams), and `render.board.board_view(...)`
for a 120x40 terminal, printed to a Rich console writing to memory with
colours on. Baseline: the same console printing a plain
`rich.table.Table` of just the rows on screen (the least a board of that
size can cost). Both are timed with `time.process_time()` over --frames
frames, interleaved, and the medians of --runs repetitions are reported.
Target: under 20 ms of CPU per board frame.

    python bench/board_redraw.py
    python bench/board_redraw.py --jobs 20000
    python bench/board_redraw.py --jobs 20000 --sort status
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from datetime import UTC, datetime, timedelta

import benchlib
from rich.console import Console
from rich.table import Table

from arkor_cli_studio.board import SORTS, Board
from arkor_cli_studio.model import Job
from arkor_cli_studio.render.board import CHROME, board_view

TARGET_MS = 20.0
WIDTH, HEIGHT = 120, 40
NOW = datetime(2026, 5, 4, 14, 30, tzinfo=UTC)
STATUSES = ("running", "completed", "failed", "cancelled", "queued")


def make_board(jobs: int, live: int) -> Board:
    board = Board()
    board.update(
        Job(
            f"cm9x2k7q4{i:07d}",
            f"sweep-lr-{i % 7}e-4-r{i % 16}",
            STATUSES[i % len(STATUSES)] if i >= live else "running",
            created_at=NOW - timedelta(minutes=i),
            started_at=NOW - timedelta(minutes=i) + timedelta(seconds=40),
            config={"maxSteps": 500},
        )
        for i in range(jobs)
    )
    for i, job in enumerate(board.jobs[:live]):
        state = board.live_for(job.id)
        state.total = 500
        state.step = 100 + i
        for k in range(40):
            state.losses.append(2.0 / (1 + k / 10) + 0.01 * (k % 3))
    return board


def console() -> Console:
    return Console(
        file=io.StringIO(),
        width=WIDTH,
        height=HEIGHT,
        force_terminal=True,
        color_system="truecolor",
        highlight=False,
        markup=False,
    )


def frame_ms(draw, frames: int) -> float:  # type: ignore[no-untyped-def]
    start = time.process_time()
    for _ in range(frames):
        draw()
    return (time.process_time() - start) * 1000 / frames


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--live", type=int, default=6)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sort", choices=SORTS, default=SORTS[0])
    args = parser.parse_args()
    benchlib.banner()
    board = make_board(args.jobs, args.live)
    board.sort = args.sort
    out = console()

    def draw_board() -> None:
        out.file = io.StringIO()
        everything = board.rows(NOW)
        board.window(NOW, HEIGHT - CHROME, everything)
        out.print(board_view(board, NOW, WIDTH, HEIGHT, rows=everything))

    rows, _ = board.window(NOW, HEIGHT - 4)

    def draw_table() -> None:
        out.file = io.StringIO()
        table = Table(box=None)
        for name in ("Status", "Name", "Created", "ID"):
            table.add_column(name, no_wrap=True)
        for job in rows:
            table.add_row(job.status, job.name, job.created_at.isoformat(), job.id)
        out.print(table)

    results: dict[str, list[float]] = {"board": [], "baseline": []}
    for rep in range(args.runs):
        order = ("board", "baseline") if rep % 2 == 0 else ("baseline", "board")
        for name in order:
            results[name].append(
                frame_ms(draw_board if name == "board" else draw_table, args.frames)
            )
    board_ms = statistics.median(results["board"])
    base_ms = statistics.median(results["baseline"])
    print(
        f"\n{args.jobs:,} jobs sorted by {args.sort}, {args.live} live sparklines, "
        f"{WIDTH}x{HEIGHT}; "
        f"{args.frames} frames x {args.runs} runs, CPU per frame (median of runs)\n"
    )
    print(f"{'renderer':40} {'ms/frame':>9}")
    print(f"{'board (rows once + board_view)':40} {board_ms:9.2f}")
    print(f"{'baseline (a plain Table of the rows)':40} {base_ms:9.2f}")
    print(f"{'ratio board / baseline':40} {board_ms / base_ms:8.2f}x")
    ok = board_ms < TARGET_MS
    benchlib.closing(ok, f"under {TARGET_MS:.0f} ms of CPU per frame")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
