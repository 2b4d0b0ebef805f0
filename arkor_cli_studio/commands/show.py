"""`arkor-studio show JOB_ID`: one job's metadata, error and configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from arkor_cli_studio.commands import boundary, examples
from arkor_cli_studio.commands._options import JobId, json_flag
from arkor_cli_studio.env import environment_of

if TYPE_CHECKING:
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.model import Event, Job

EPILOG = examples(
    "arkor-studio show job_abc123",
    "arkor-studio show job_abc123 --json | jq -r .status",
    "arkor-studio show \"$(arkor-studio jobs --json | jq -r '.[0].id')\"  # the newest job",
)


def register(app: typer.Typer) -> None:
    app.command("show", epilog=EPILOG)(boundary(show))


def show(
    ctx: typer.Context,
    job_id: JobId,
    as_json: Annotated[bool, json_flag("The job object as the API returned it.")] = False,
) -> None:
    """One job: metadata, error and training configuration.

    Studio's metadata sidebar (as `watch` shows it), the error of a failed
    job, and the `config` fields that are set: GET /v1/jobs/{id} (with
    --studio, GET /api/jobs: Studio has no job-detail route).

    When that answer carries no events, a completed job's event stream (or a
    failed one's without an error field) is replayed too, as `artifacts`
    does, for the Artifacts count and the error.
    """
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.jobinfo import (
        config_rows,
        error_text,
        final_artifact_count,
        jsonable,
        redacted_job,
        times_of,
    )
    from arkor_cli_studio.model import validate_job_id

    validate_job_id(job_id)
    environment = environment_of(ctx)
    settings = environment.settings
    with connect(settings) as backend:
        detail = backend.get_job(job_id)
        events = detail.events
        replay = not as_json and events is None
        if replay and _history_matters(detail.job):
            events = _replayed(backend, job_id)
    job = detail.job
    if as_json:
        from arkor_cli_studio.output import print_json

        print_json(jsonable(redacted_job(job.raw)))
        return
    from arkor_cli_studio.render.job import job_view

    events = events or []
    now = environment.now()
    view = job_view(
        job,
        now,
        config=config_rows(job.config),
        error=error_text(job, events),
        # (Studio's sidebar says 0 for a failed job: its stream ends with
        # training.failed, whose count is 0, whether or not we replayed it)
        artifacts=final_artifact_count(events) if job.status != "failed" else 0,
        times=times_of(job, events, now),
    )
    environment.console().print(view)


def _history_matters(job: Job) -> bool:
    """Whether the events would change the screen: the Artifacts row of a
    completed job, the error of a failed job that has no `error` field."""
    return job.status == "completed" or (job.status == "failed" and not (job.error or "").strip())


def _replayed(backend: Backend, job_id: str) -> list[Event] | None:
    """The finished job's events from its stream, replayed as `artifacts`
    does (until `end`, or caught up); None, with a note on stderr, if that
    fails. Only those `show` reads are kept (the first `training.started`,
    the terminal events): memory stays small however long the run was."""
    from arkor_cli_studio.cloud.history import replay_history
    from arkor_cli_studio.errors import ArkorStudioError
    from arkor_cli_studio.model import COMPLETED, FAILED, STARTED

    started = failed_with_error = terminal = None
    try:
        for event in replay_history(backend, job_id, max_retries=2, use_detail=False):
            if event.name == STARTED and started is None:
                started = event
            elif event.name in (COMPLETED, FAILED):
                terminal = event
                error = event.data.get("error") if event.name == FAILED else None
                if isinstance(error, str) and error.strip():
                    failed_with_error = event
    except ArkorStudioError as failure:
        from arkor_cli_studio.output import say

        say(
            f"could not replay the event stream of {job_id} for "
            f"the Artifacts count: {failure.message}"
        )
        return None
    # in their order: the folds of jobinfo give what they give on the whole run
    kept = [started, failed_with_error, terminal if terminal is not failed_with_error else None]
    return [event for event in kept if event is not None]
