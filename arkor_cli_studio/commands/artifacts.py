"""`arkor-studio artifacts JOB_ID`: what the job produced, from its history."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from arkor_cli_studio import output
from arkor_cli_studio.commands import boundary, examples
from arkor_cli_studio.commands._options import JobId, json_flag
from arkor_cli_studio.env import environment_of

EPILOG = examples(
    "arkor-studio artifacts job_abc123",
    "arkor-studio artifacts job_abc123 --json | jq -r '.[-1].artifact.pathname'",
    "arkor-studio artifacts job_abc123 --json |\njq 'map(select(.kind==\"checkpoint\")) | length'",
)


def register(app: typer.Typer) -> None:
    app.command("artifacts", epilog=EPILOG)(boundary(artifacts))


def artifacts(
    ctx: typer.Context,
    job_id: JobId,
    as_json: Annotated[
        bool,
        json_flag('A JSON array of {"kind": "final"|"checkpoint", "step", "artifact"}.'),
    ] = False,
) -> None:
    """A job's artifacts: the final adapter and the checkpoints.

    Those of `training.completed` (kind final) and of each `checkpoint.saved`
    (kind checkpoint, with its step).

    Read from the job's history: the detail's events when the server sends
    them, else the event stream replayed. For a job still running, the
    checkpoints so far (a note on stderr says so).
    """
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.cloud.history import replay_history
    from arkor_cli_studio.jobinfo import FINAL, collect_artifacts
    from arkor_cli_studio.model import validate_job_id
    from arkor_cli_studio.textsafe import clean_line

    validate_job_id(job_id)
    environment = environment_of(ctx)
    settings = environment.settings
    with connect(settings) as backend:
        history = replay_history(backend, job_id)
        found = collect_artifacts(history)  # as the events arrive: only artifacts are kept
    if as_json:
        from arkor_cli_studio.output import print_json

        print_json([a.record() for a in found])
    else:
        from arkor_cli_studio.render.job import artifacts_view

        environment.console().print(artifacts_view(found))
    sys.stdout.flush()
    status = clean_line(history.job.status) if history.job else "unknown"
    if not history.complete:
        output.say(
            f"Job {job_id} is {status}, not finished: these are the checkpoints "
            "so far; the final adapter arrives with training.completed."
        )
    elif not any(a.kind == FINAL for a in found) and status in ("failed", "cancelled"):
        output.say(f"Job {job_id} {status}: it has no final adapter.")
