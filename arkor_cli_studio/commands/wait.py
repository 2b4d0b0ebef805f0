"""`arkor-studio wait ID… [--fail-fast] [--timeout DURATION]`: several jobs to their end."""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arkor_cli_studio import output
from arkor_cli_studio.commands import boundary, examples
from arkor_cli_studio.commands._options import MaxRetries, json_flag
from arkor_cli_studio.env import environment_of
from arkor_cli_studio.errors import ArkorStudioError, Interrupted, UsageError

if TYPE_CHECKING:
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.model import Job
    from arkor_cli_studio.watching import JobView

EPILOG = examples(
    "arkor-studio wait job_a job_b job_c  # all three, a line each as it ends",
    "arkor-studio wait --all-running --timeout 2h || echo 'not all completed'",
    "arkor-studio wait job_a job_b --fail-fast --cancel-rest",
    "arkor-studio wait job_a job_b --json |\njq -r 'select(.outcome!=\"completed\") | .jobId'",
)


def register(app: typer.Typer) -> None:
    app.command("wait", epilog=EPILOG)(boundary(wait))


# Long on purpose: a Typer command: mostly its parameter declarations.
def wait(
    ctx: typer.Context,
    job_ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="[JOB_ID]...", help="The jobs to wait for.", show_default=False),
    ] = None,
    all_running: Annotated[
        bool,
        typer.Option("--all-running", help="Wait for every job that is queued or running now."),
    ] = False,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first job that fails.")
    ] = False,
    cancel_rest: Annotated[
        bool,
        typer.Option(
            "--cancel-rest",
            help="With --fail-fast: cancel the jobs still going when one fails (not in --studio).",
        ),
    ] = False,
    timeout: Annotated[
        str | None,
        typer.Option(
            "--timeout",
            metavar="DURATION",
            help="Stop waiting after DURATION (90s, 15m, 1h30m); jobs still going: exit 7.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        json_flag("One JSON summary record per job as it ends (NDJSON)."),
    ] = False,
    max_retries: MaxRetries = None,
) -> None:
    """Wait for several jobs at once, over their event streams, in one process.

    Prints one line per job as it ends (the `watch` summary line). Exit status:
    0 when every job completed; otherwise the worst outcome: 1 failed, then
    3 cancelled, then 5 stream lost, then 7 timed out (still running).
    Dropped streams resume exactly as in `watch`.
    """
    from arkor_cli_studio.batch import parse_duration
    from arkor_cli_studio.model import validate_job_id

    ids = list(dict.fromkeys(job_ids or []))  # in order, each once
    if all_running and ids:
        raise UsageError("Give job ids or --all-running, not both.")
    if not all_running and not ids:
        raise UsageError(
            "Give the jobs to wait for, or --all-running.",
            hint="`arkor-studio jobs` lists the ids.",
        )
    if cancel_rest and not fail_fast:
        raise UsageError("--cancel-rest goes with --fail-fast.")
    seconds = None
    if timeout is not None:
        try:
            seconds = parse_duration(timeout)
        except ValueError:
            raise UsageError(
                f"--timeout takes a duration such as 90s, 15m or 1h30m, not {timeout!r}."
            ) from None
    for job_id in ids:
        validate_job_id(job_id)
    environment = environment_of(ctx)
    settings = environment.settings
    if cancel_rest:
        from arkor_cli_studio.cloud import refuse_unsupported

        refuse_unsupported(settings, "cancel", ids[0] if ids else "JOB_ID")
    code = _Waiter(
        settings, ids, all_running, fail_fast, cancel_rest, seconds, as_json, max_retries
    ).run()
    if code:
        raise typer.Exit(code)


@dataclass
class _Ended:
    job_id: str
    outcome: str
    view: JobView
    reason: str | None = None


class _Stop(Exception):
    """The wait is over: a follower stops at its next pause."""


class _Waiter:
    def __init__(
        self,
        settings: Settings,
        ids: list[str],
        all_running: bool,
        fail_fast: bool,
        cancel_rest: bool,
        timeout: float | None,
        as_json: bool,
        max_retries: int | None,
    ) -> None:
        self.settings = settings
        self.ids = ids
        self.all_running = all_running
        self.fail_fast = fail_fast
        self.cancel_rest = cancel_rest
        self.timeout = timeout
        self.as_json = as_json
        self.max_retries = max_retries
        self.results: queue.Queue[_Ended | tuple[str, str]] = queue.Queue()
        self.stop = threading.Event()
        self.views: dict[str, JobView] = {}

    def run(self) -> int:
        from arkor_cli_studio.batch import exit_code
        from arkor_cli_studio.cloud import connect

        started = time.monotonic()
        with connect(self.settings) as backend:
            jobs = self._jobs(backend)
            if not jobs:
                output.say("No job is queued or running: nothing to wait for.")
                return 0
            for job in jobs:
                self._start(backend, job)
            try:
                outcomes = self._collect(backend, [j.id for j in jobs], started)
            except KeyboardInterrupt:
                self.stop.set()
                for job_id, view in self.views.items():
                    if not view.finished:
                        output.say(
                            f"Job {_clean(job_id)} is still {view.status}; "
                            f"to wait again: arkor-studio wait {_clean(job_id)}"
                        )
                raise Interrupted() from None
            finally:
                self.stop.set()
        if len(outcomes) > 1:
            counts: dict[str, int] = {}
            for outcome in outcomes.values():
                counts[outcome] = counts.get(outcome, 0) + 1
            output.say(f"{len(outcomes)} jobs: " + ", ".join(f"{n} {o}" for o, n in counts.items()))
        return int(exit_code(outcomes.values()))

    def _jobs(self, backend: Backend) -> list[Job]:
        """The jobs to follow, checked against the jobs list (one request)."""
        listed = backend.list_jobs()
        if self.all_running:
            return [j for j in listed if j.status in ("queued", "running")]
        by_id = {j.id: j for j in listed}
        missing = [job_id for job_id in self.ids if job_id not in by_id]
        if missing:
            raise backend.not_found(missing[0])
        return [by_id[job_id] for job_id in self.ids]

    def _start(self, backend: Backend, job: Job) -> None:
        from arkor_cli_studio.watching import JobView

        view = JobView(job.id, job)
        self.views[job.id] = view
        thread = threading.Thread(
            target=self._follow,
            args=(backend, job.id, view),
            daemon=True,
            name=f"wait-{job.id}",
        )
        thread.start()

    def _pause(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Stop

    def _follow(self, backend: Backend, job_id: str, view: JobView) -> None:
        """One job's stream to its end (a thread each); the end goes to the queue."""
        from arkor_cli_studio.batch import LOST, outcome_of
        from arkor_cli_studio.cloud.events import StreamOptions, follow_events
        from arkor_cli_studio.model import StreamNotice

        options = StreamOptions(max_retries=self.max_retries, sleep=self._pause)
        try:
            for item in follow_events(backend, job_id, options):
                if self.stop.is_set():
                    return
                if isinstance(item, StreamNotice):
                    view.apply_notice(item)
                    if item.kind == "interrupted":
                        self.results.put((job_id, f"stream interrupted ({item.reason}); resuming"))
                    continue
                view.apply(item)
            if not view.finished:
                # The stream ended without a terminal event: ask for the job.
                job = backend.find_job(job_id)
                if job is not None:
                    view.apply_job(job)
            if view.finished:
                self.results.put(_Ended(job_id, outcome_of(view.status), view))
            else:
                reason = f"its event stream ended while the job is {view.status}"
                self.results.put(_Ended(job_id, LOST, view, reason))
        except _Stop:
            return
        except ArkorStudioError as error:
            self.results.put(_Ended(job_id, LOST, view, error.message))
        except Exception as error:  # a follower must always report its end
            self.results.put(_Ended(job_id, LOST, view, f"{type(error).__name__}: {error}"))

    def _collect(self, backend: Backend, ids: list[str], started: float) -> dict[str, str]:
        from arkor_cli_studio.batch import CANCELLED, FAILED, STOPPED, TIMED_OUT

        outcomes: dict[str, str] = {}
        pending = list(ids)
        while pending:
            wait_for = 1.0
            if self.timeout is not None:
                left = self.timeout - (time.monotonic() - started)
                if left <= 0:
                    for job_id in pending:
                        outcomes[job_id] = TIMED_OUT
                        self._report(_Ended(job_id, TIMED_OUT, self.views[job_id]))
                    return outcomes
                wait_for = min(wait_for, left)
            try:
                item = self.results.get(timeout=wait_for)
            except queue.Empty:
                continue
            if isinstance(item, tuple):
                output.say(f"Job {_clean(item[0])}: {_clean(item[1])}")
                continue
            pending.remove(item.job_id)
            outcomes[item.job_id] = item.outcome
            self._report(item)
            if self.fail_fast and item.outcome == FAILED and pending:
                self.stop.set()
                for job_id in pending:
                    if self.cancel_rest:
                        outcomes[job_id] = self._cancel(backend, job_id)
                    else:
                        outcomes[job_id] = STOPPED
                    outcome = outcomes[job_id]
                    self._report(
                        _Ended(
                            job_id,
                            outcome,
                            self.views[job_id],
                            "cancelled by --cancel-rest" if outcome == CANCELLED else None,
                        )
                    )
                return outcomes
        return outcomes

    def _cancel(self, backend: Backend, job_id: str) -> str:
        from arkor_cli_studio.batch import CANCELLED, STOPPED

        try:
            backend.cancel(job_id)
        except ArkorStudioError as error:
            output.say(f"Could not cancel {_clean(job_id)}: {_clean(error.message)}")
            return STOPPED
        return CANCELLED

    def _report(self, ended: _Ended) -> None:
        """The job's line (or JSON record) on stdout, as soon as it ended."""
        from arkor_cli_studio.batch import COMPLETED, FAILED, exit_code
        from arkor_cli_studio.event_text import summary_line

        view = ended.view
        summary = view.summary(datetime.now(UTC))
        if self.as_json:
            from arkor_cli_studio.runfacts import outcome_of, summary_record

            # The shape of `watch --json`'s last record, plus the job's own
            # status, its artifacts and why it was not followed to its end.
            code = int(exit_code([ended.outcome]))
            record: dict[str, Any] = summary_record(
                outcome_of(view, ended.outcome, code, datetime.now(UTC))
            )
            record["status"] = view.status
            record["artifacts"] = summary.artifacts
            record["reason"] = ended.reason
            line = json.dumps(record, allow_nan=False)  # ASCII: server text travels as \u escapes
        else:
            name = _clean(view.display_name)
            if ended.outcome in (COMPLETED, FAILED) or ended.outcome == view.status:
                line = summary_line(name, summary)
            else:
                line = f"Job {name} {ended.outcome}" + (
                    f" ({_clean(ended.reason)})" if ended.reason else ""
                )
                _, sep, facts = summary_line(name, summary).partition(" · ")
                if sep:  # the steps and last values reached, as the summary line says them
                    line += " · " + facts
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _clean(text: str) -> str:
    from arkor_cli_studio.textsafe import clean_line

    return clean_line(text)
