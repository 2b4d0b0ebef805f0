"""`arkor-studio cancel JOB_ID`: what `trainer.cancel()` does, from a shell.

Exit status: 0 when the job ends up not running (cancel accepted, or it had
already finished: nothing is sent then); 1 when it is still running because
the confirmation was declined or the API refused; 2 when confirmation was
needed but there is no terminal to ask on (pass --yes), or in Studio mode
(Studio has no cancel route: nothing is sent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from arkor_cli_studio import output
from arkor_cli_studio.commands import boundary, examples
from arkor_cli_studio.commands._options import JobId
from arkor_cli_studio.env import environment_of
from arkor_cli_studio.errors import ArkorStudioError, UsageError

if TYPE_CHECKING:
    from arkor_cli_studio.env import Environment
    from arkor_cli_studio.model import Job

EPILOG = examples(
    "arkor-studio cancel job_abc123  # asks first (job name and status)",
    "arkor-studio cancel --yes job_abc123  # no question: for scripts",
    "arkor-studio jobs -s queued --json | jq -r '.[].id' |\nxargs -n1 arkor-studio cancel -y",
)


def register(app: typer.Typer) -> None:
    app.command("cancel", epilog=EPILOG)(boundary(cancel))


def cancel(
    ctx: typer.Context,
    job_id: JobId,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Do not ask first (required without a terminal).",
        ),
    ] = False,
) -> None:
    """Cancel a queued or running job.

    Sends POST /v1/jobs/{id}/cancel, then reads the job back and prints its
    new status.

    On a terminal it asks first, showing the job's name and status. A job
    that already finished is left alone (exit 0). Declining exits 1: the
    job is still running.

    Not available with --studio: Studio's API has no cancel route, so it
    exits 2 and sends nothing (drop --studio to cancel through the cloud).
    """
    from arkor_cli_studio.cloud import connect, refuse_unsupported
    from arkor_cli_studio.model import display_status, validate_job_id
    from arkor_cli_studio.textsafe import clean_line

    validate_job_id(job_id)
    environment = environment_of(ctx)
    settings = environment.settings
    refuse_unsupported(settings, "cancel", job_id)  # Studio mode: exit 2, nothing sent
    with connect(settings) as backend:
        job = backend.get_job(job_id).job
        if job.is_terminal:
            _report(environment, job, "is already ", ": nothing to cancel.")
            return
        if not yes:
            shown = display_status(job, environment.now())
            _confirm(
                environment,
                f"Cancel job {clean_line(job.name) or '-'} ({clean_line(job.id)}), "
                f"currently {clean_line(shown)}? [y/N] ",
            )
        backend.cancel(job_id)
        try:
            after = backend.get_job(job_id).job
        except ArkorStudioError as error:
            output.say(
                f"Cancel requested for {job_id}; could not read its new status: {error.message}"
            )
            return
    if after.is_terminal:
        _report(environment, after, "is now ", ".")
    else:
        tail = ": the cancel was accepted and takes effect shortly."
        _report(environment, after, "is still ", tail)


def _confirm(environment: Environment, question: str) -> None:
    """Ask on the terminal; anything but y/yes (or EOF) declines."""
    if not (environment.stdin_isatty and environment.stdout_isatty):
        raise UsageError(
            "Not cancelling without confirmation: stdin and stdout are not both a terminal, "
            "so there is no one to ask.",
            hint="Pass --yes (-y) to cancel without asking.",
        )
    output.prompt(question)
    answer = environment.stdin.readline()
    if answer.strip().lower() not in ("y", "yes"):
        if not answer:
            output.prompt("")
        raise ArkorStudioError("Not cancelled: the job is left as it is.")


def _report(environment: Environment, job: Job, lead: str, tail: str) -> None:
    """One line on stdout: `Job NAME (ID) <lead><status><tail>`, the status coloured."""
    from arkor_cli_studio.render.job import status_report

    environment.console().print(status_report(job, lead, tail))
