"""`arkor-studio show JOB_ID`: one job's metadata, error and configuration."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from arkor_cli_studio.commands import boundary, examples

EPILOG = examples(
    "arkor-studio show job_abc123",
    "arkor-studio show job_abc123 --json | jq -r .status",
    "arkor-studio show \"$(arkor-studio jobs --json | jq -r '.[0].id')\"   # the newest job",
)


def register(app: typer.Typer) -> None:
    app.command("show", epilog=EPILOG)(boundary(show))


def show(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="JOB_ID", help="The job's id.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="The job object as the API returned it.")
    ] = False,
) -> None:
    """One job: metadata, error and training configuration.

    Studio's metadata sidebar (as `watch` shows it), the error of a failed
    job, and the `config` fields that are set. One request: GET /v1/jobs/{id}.
    """
    from arkor_cli_studio.app import settings_of
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.jobinfo import config_rows, error_text, final_artifact_count, jsonable
    from arkor_cli_studio.model import validate_job_id

    validate_job_id(job_id)
    settings = settings_of(ctx)
    with connect(settings) as backend:
        detail = backend.get_job(job_id)
    job = detail.job
    if as_json:
        sys.stdout.write(json.dumps(jsonable(job.raw), indent=2) + "\n")
        return
    from arkor_cli_studio.render.console import make_console
    from arkor_cli_studio.render.job import job_view

    events = detail.events or []
    view = job_view(
        job,
        datetime.now(UTC),
        config=config_rows(job.config),
        error=error_text(job, events),
        artifacts=final_artifact_count(events),
    )
    make_console(no_color=settings.no_color).print(view)
