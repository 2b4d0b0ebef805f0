"""`arkor-studio compare A B [C …]`: loss curves, statistics and config diff of 2-6 jobs."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from arkor_cli_studio.commands import boundary, examples
from arkor_cli_studio.commands._options import PlainTables, json_flag
from arkor_cli_studio.env import environment_of
from arkor_cli_studio.errors import UsageError

if TYPE_CHECKING:
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.compare import Metric, Run

EPILOG = examples(
    "arkor-studio compare lr-1e-4 lr-2e-4 lr-5e-4  # which learning rate won",
    "arkor-studio compare job_a job_b --metric eval_loss",
    "arkor-studio compare job_a job_b --json | jq '.configDiff'",
    "arkor-studio compare job_a job_b --plain >> sweep.log",
)


def register(app: typer.Typer) -> None:
    app.command("compare", epilog=EPILOG)(boundary(compare))


# Long on purpose: a Typer command: mostly its parameter declarations.
def compare(
    ctx: typer.Context,
    job_ids: Annotated[
        list[str],
        typer.Argument(metavar="JOB_ID...", help="Two to six job ids.", show_default=False),
    ],
    metric: Annotated[
        str,
        typer.Option(
            "--metric",
            metavar="loss|eval_loss",
            help="The curve to chart: training loss (default) or eval loss.",
        ),
    ] = "loss",
    as_json: Annotated[
        bool,
        json_flag(
            "One JSON object: the jobs with their stats, both series aligned by step, "
            "and the config keys that differ."
        ),
    ] = False,
    plain: PlainTables = False,
) -> None:
    """Compare 2 to 6 jobs: loss curves, statistics, config differences.

    The curves are aligned by step (frames of the same step are one point,
    frames without a step are left out, as Studio's chart does), one colour
    per job. Under the chart, the `stats` cards of every job side by side
    (the same numbers as `stats`), then only the configuration keys whose
    values differ. Running jobs are compared as they are so far.
    """
    from arkor_cli_studio.compare import MAX_JOBS, METRICS, MIN_JOBS, compare_json
    from arkor_cli_studio.model import validate_job_id

    if as_json and plain:
        raise UsageError("--json and --plain are two output formats: choose one.")
    if metric not in METRICS:
        raise UsageError(
            f"--metric takes loss or eval_loss, not {metric!r}.",
        )
    if not MIN_JOBS <= len(job_ids) <= MAX_JOBS:
        raise UsageError(
            f"compare takes {MIN_JOBS} to {MAX_JOBS} job ids; got {len(job_ids)}.",
            hint="`arkor-studio jobs` lists the ids.",
        )
    for job_id in job_ids:
        validate_job_id(job_id)
    if len(set(job_ids)) != len(job_ids):
        raise UsageError("The same job id is given twice.")
    environment = environment_of(ctx)
    settings = environment.settings
    runs = _load(settings, job_ids)
    chosen: Metric = "eval_loss" if metric == "eval_loss" else "loss"
    if as_json:
        sys.stdout.write(json.dumps(compare_json(runs, chosen), allow_nan=False) + "\n")
        sys.stdout.flush()
    elif plain:
        from arkor_cli_studio.render.compare import plain_lines

        sys.stdout.write("\n".join(plain_lines(runs, chosen)) + "\n")
        sys.stdout.flush()
    else:
        from arkor_cli_studio.render.compare import compare_view

        console = environment.console()
        console.print(compare_view(runs, chosen, console.width))
    running = [r for r in runs if not r.complete]
    if running:
        from arkor_cli_studio.output import say

        names = ", ".join(r.id for r in running)
        say(f"still running ({names}): those numbers are so far.")


def _load(settings: object, job_ids: list[str]) -> list[Run]:
    """Every job's history, read side by side (a thread a job), in the order given."""
    from concurrent.futures import ThreadPoolExecutor

    from arkor_cli_studio.cloud import connect

    with connect(settings) as backend, ThreadPoolExecutor(max_workers=len(job_ids)) as pool:  # type: ignore[arg-type]
        return list(pool.map(lambda job_id: _run_of(backend, job_id), job_ids))


def _run_of(backend: Backend, job_id: str) -> Run:
    from arkor_cli_studio.cloud.history import load_history
    from arkor_cli_studio.compare import Run
    from arkor_cli_studio.model import Job

    history = load_history(backend, job_id)
    job = history.job
    if job is None:  # no detail was asked: a bare job of that id
        job = Job(id=job_id, name=job_id, status="unknown", config={}, raw={})
    run = Run(job=job, complete=history.complete).feed_all(history.events)
    ended = [e.terminal_status for e in history.events if e.terminal_status is not None]
    if ended and ended[-1] != job.status:
        # The detail was read before the replay: a terminal event seen since wins.
        from dataclasses import replace

        run.job = replace(job, status=ended[-1])
    return run
