"""`arkor-studio train`: Studio's Run-training panel in the terminal."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arkor_cli_studio import output
from arkor_cli_studio.commands import boundary, examples
from arkor_cli_studio.commands._alerts import AlertOption, OnAlertOption
from arkor_cli_studio.commands._options import NotifySwitch
from arkor_cli_studio.env import environment_of
from arkor_cli_studio.errors import ExitCode, UsageError
from arkor_cli_studio.signals import Terminated

if TYPE_CHECKING:
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.cloud.studio import StudioBackend, TrainRun
    from arkor_cli_studio.commands._train_watch import TrainAlerts, TrainWatch
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.env import Environment
    from arkor_cli_studio.runner import RunResult
    from arkor_cli_studio.start_output import OutcomeScanner

EPILOG = examples(
    "arkor-studio train  # build, show the trainer, then run it",
    "arkor-studio train --watch  # + the job's live view",
    "arkor-studio train --watch > run.log  # run.log gets arkor's lines only",
    "arkor-studio train --file src/alt.ts  # another entry file",
    "arkor-studio --studio train --watch  # through a running `arkor dev`",
    "arkor-studio -C ~/my-model train --no-manifest --no-notify",
)

WATCH_HELP = (
    "Follow the job (from arkor's `Started job <id>` line) while arkor start runs. On a "
    "terminal: the live `watch` view, arkor's output printed above it. Piped: arkor's bytes "
    "untouched on stdout, the watch's plain lines on stderr. The exit status is the same "
    "as without --watch; when arkor start ends, train waits up to ARKOR_STUDIO_WATCH_DRAIN seconds "
    "(default 5) for the job's stream to end, then stops watching (and says how to keep "
    "following a job that still runs)."
)


def register(app: typer.Typer) -> None:
    app.command("train", epilog=EPILOG)(boundary(train))


# Long on purpose: a Typer command: mostly its parameter declarations.
def train(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            metavar="ENTRY",
            help="Entry file inside the project (relative to it); default src/arkor/index.ts.",
            show_default=False,
        ),
    ] = None,
    arkor: Annotated[
        Path | None,
        typer.Option(
            "--arkor",
            metavar="PATH",
            help="The arkor executable (default: ARKOR_BIN, node_modules/.bin/arkor, PATH). "
            "Not with --studio (Studio runs its own).",
            show_default=False,
        ),
    ] = None,
    no_manifest: Annotated[
        bool,
        typer.Option(
            "--no-manifest",
            help="Skip `arkor build` and the trainer check (with --studio: GET /api/manifest); "
            "arkor start reuses the bundle.",
        ),
    ] = False,
    watch: Annotated[bool, typer.Option("--watch", help=WATCH_HELP)] = False,
    notify: NotifySwitch = None,
    alert: AlertOption = None,
    on_alert: OnAlertOption = None,
) -> None:
    """Build, show which trainer will run, then run `arkor start` in the project.

    arkor's stdout and stderr pass through byte for byte; our own lines go to
    stderr. Exit status: the job's outcome from arkor's last line, `Job <id>
    finished with status=<s>` (completed 0, failed 1, cancelled 3), because
    arkor start exits 0 even for a failed job; arkor start's own status when it
    is not 0 or when it printed no such line; 130 after Ctrl-C. One run at a
    time per project. With --studio, a running `arkor dev` builds and runs it
    (POST /api/train): its output (stdout and stderr merged) passes through the
    same way, and Ctrl-C closes the connection, on which Studio kills arkor start.
    """
    from arkor_cli_studio import arkor_project
    from arkor_cli_studio.config import env_float

    environment = environment_of(ctx)
    settings = environment.settings
    project, env = settings.project, settings.env
    if settings.studio_url is not None and arkor is not None:
        raise UsageError(
            "--arkor doesn't apply with --studio: Studio runs arkor start with its own arkor.",
            hint="Drop --arkor, or drop --studio to run arkor start here.",
        )
    entry = arkor_project.resolve_entry(project, file) if file is not None else None
    if notify is None:
        notify = environment.stderr_isatty or environment.stdout_isatty
    drain = env_float(env, "ARKOR_STUDIO_WATCH_DRAIN", 5.0)
    alerts = _alerts(settings, watch, alert, on_alert)
    if settings.studio_url is not None:
        result, trainer = _train_studio(environment, entry, no_manifest, watch, drain, alerts)
    else:
        result, trainer = _train_direct(
            environment, entry, arkor, no_manifest, watch, drain, alerts
        )
    if alerts is not None and alerts.acted is not None:
        # An alert's `--on-alert exit` stopped arkor start (as SIGTERM does; the
        # job goes on) or its `cancel` cancelled the job: exit 6, said once.
        output.say(f"{alerts.acted}; exit status 6.")
        raise typer.Exit(int(ExitCode.ALERT))
    _summary(result, studio=settings.studio_url is not None)
    if notify and not result.interrupted and result.terminated is None:
        _notify(result, trainer, project)
    raise typer.Exit(result.code)


def _alerts(
    settings: Settings, watch: bool, rules: list[str] | None, on_alert: str | None
) -> TrainAlerts | None:
    """`--alert`/`--on-alert` (or the project file's, or the defaults) for
    `--watch`; checked before anything runs (Studio: no `cancel`)."""
    from arkor_cli_studio.commands._train_watch import TrainAlerts

    if not watch:
        if rules or on_alert is not None:
            raise UsageError(
                "--alert and --on-alert watch the job: they need --watch.",
                hint="Add --watch (arkor-studio train --watch --alert ...).",
            )
        return None
    from arkor_cli_studio.commands._alerts import alert_settings

    return TrainAlerts(settings, alert_settings(settings, rules, on_alert))


def _train_direct(
    environment: Environment,
    entry: Path | None,
    arkor: Path | None,
    no_manifest: bool,
    watch: bool,
    drain: float,
    alerts: TrainAlerts | None = None,
) -> tuple[RunResult, str | None]:
    from arkor_cli_studio import arkor_project, runner
    from arkor_cli_studio.config import env_float

    settings = environment.settings
    project, env = settings.project, settings.env
    executable = arkor_project.find_arkor(project, arkor, env)
    grace = env_float(env, "ARKOR_STUDIO_STOP_GRACE", 10.0)
    timeout = env_float(env, "ARKOR_STUDIO_BUILD_TIMEOUT", 300.0)
    trainer: str | None = None
    try:
        with runner.terminate_on_signals(), arkor_project.project_lock(project, env):
            if no_manifest:
                if entry is None:
                    _warn_stale(project)
            else:
                arkor_project.build(executable, project, entry, env, timeout)
                trainer = arkor_project.read_manifest(project, env, timeout)
                if trainer is None:
                    raise arkor_project.NoTrainerError()
                output.line(arkor_project.run_label(trainer))
            sys.stdout.flush()
            sys.stderr.flush()
            if not watch:
                result = runner.run_start(executable, project, entry, env, grace=grace, drain=drain)
                return result, trainer
            watcher = _watcher(environment, alerts=alerts)
            streams: dict[str, Any] = {"on_stdout": watcher.stdout_feed()}
            if watcher.live:
                streams["stdout_fd"] = None  # the watcher writes them (above the view)
                if environment.stderr_isatty:  # arkor's stderr would tear the view
                    streams.update(on_stderr=watcher.stderr_feed(), stderr_fd=None)
            result = runner.run_start(
                executable, project, entry, env, grace=grace, drain=drain, **streams
            )
            stopped = result.interrupted or result.terminated is not None
            watcher.finish(0 if stopped else drain)
            watcher.report(interrupted=stopped)
            return result, trainer
    except Terminated as stop:  # SIGTERM/SIGHUP before arkor start began
        raise typer.Exit(128 + stop.signum) from None


def _watcher(
    environment: Environment, backend: Backend | None = None, *, alerts: TrainAlerts | None = None
) -> TrainWatch:
    from arkor_cli_studio.commands._train_watch import TrainWatch

    live = environment.stdout_isatty
    return TrainWatch(environment.settings, live=live, backend=backend, alerts=alerts)


def _train_studio(
    environment: Environment,
    entry: Path | None,
    no_manifest: bool,
    watch: bool,
    drain: float,
    alerts: TrainAlerts | None = None,
) -> tuple[RunResult, str | None]:
    """`train` through a running `arkor dev`: GET /api/manifest, then POST /api/train."""
    from arkor_cli_studio import arkor_project, runner, start_output
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.cloud.studio import StudioBackend

    settings = environment.settings
    trainer: str | None = None
    watcher: TrainWatch | None = None
    interrupted: int | None = None  # the signal that stopped us
    try:
        with (
            runner.terminate_on_signals(),
            arkor_project.project_lock(settings.project, settings.env),
            connect(settings) as backend,
        ):
            assert isinstance(backend, StudioBackend)
            if not no_manifest:
                trainer = _studio_label(backend)
            outcome = start_output.OutcomeScanner()
            if watch:
                watcher = _watcher(environment, backend, alerts=alerts)
            write = _output_to(watcher)
            run: TrainRun | None = None
            try:
                with backend.train(str(entry) if entry is not None else None) as started:
                    run = started
                    for chunk, held in started.stream():
                        if chunk:
                            write(chunk)
                            outcome.feed(chunk)
                        if watcher is not None:
                            watcher.peek(held)
            except KeyboardInterrupt:
                interrupted = signal.SIGINT
            except Terminated as stop:
                interrupted = stop.signum
            finally:
                if watcher is not None:
                    ended = run is not None and run.finished and interrupted is None
                    watcher.finish(drain if ended else 0)
            if watcher is not None:
                watcher.report(interrupted=interrupted is not None)
    except Terminated as stop:  # before the run began
        raise typer.Exit(128 + stop.signum) from None
    return _studio_result(run, interrupted, outcome), trainer


def _output_to(watcher: TrainWatch | None) -> Callable[[bytes], object]:
    """Where arkor start's output goes: stdout as is; with --watch, also to the
    watcher until it knows the job, or only to it (raw, or above its live view)."""
    if watcher is None:
        return _write_stdout
    feed = watcher.stdout_feed()
    if watcher.live:
        return feed

    def write(chunk: bytes) -> None:
        _write_stdout(chunk)
        if watcher.job_id is None:
            feed(chunk)

    return write


def _studio_result(
    run: TrainRun | None, interrupted: int | None, outcome: OutcomeScanner
) -> RunResult:
    """The run's result: the job's outcome, unless a signal stopped us."""
    from arkor_cli_studio import runner

    if interrupted is not None:
        if interrupted == signal.SIGINT:
            return runner.RunResult(130, None, interrupted=True)
        return runner.RunResult(128 + interrupted, None, terminated=interrupted)
    assert run is not None
    if run.signalled:
        output.say("Studio reported that a signal killed arkor start (exit=null).")
    return runner.RunResult.finished(run.exit_code, outcome.status, outcome.job_id)


def _studio_label(backend: StudioBackend) -> str:
    """Studio's manifest answer as direct mode's label, or its exit-4 error."""
    from arkor_cli_studio import arkor_project

    manifest = backend.manifest()
    if manifest.kind == "no-trainer":
        raise arkor_project.NoTrainerError()
    if manifest.kind == "unreadable":
        raise arkor_project.ManifestError(
            arkor_project.short_error(manifest.error or "")
            or "Studio could not build the project.",
            hint="Fix it (see src/arkor/); the terminal running `arkor dev` shows the build "
            "output.",
        )
    name = manifest.trainer_name or ""
    output.line(arkor_project.run_label(name))
    return name


def _write_stdout(chunk: bytes) -> None:
    """Straight to file descriptor 1: unbuffered, byte for byte."""
    view = memoryview(chunk)
    while view:
        view = view[os.write(1, view) :]


def _warn_stale(project: Path) -> None:
    from arkor_cli_studio import arkor_project

    newer = arkor_project.stale_sources(project)
    if newer:
        first = newer[0].relative_to(project)
        more = f" (and {len(newer) - 1} more)" if len(newer) > 1 else ""
        output.line(
            f"warning: {first}{more} is newer than .arkor/build/index.mjs; "
            "arkor start will reuse the old bundle. Drop --no-manifest to rebuild."
        )


STUDIO_STOP = (
    "closed the connection to Studio, which then stops arkor start (it kills the process "
    "when its client goes away). `arkor-studio jobs` shows what became of the job."
)


def _summary(result: RunResult, studio: bool = False) -> None:
    if studio and (result.terminated is not None or result.interrupted):
        why = "interrupted" if result.terminated is None else f"got signal {result.terminated}"
        output.say(f"{why}; {STUDIO_STOP}")
    elif result.terminated is not None:
        output.say(f"stopped arkor start (we got signal {result.terminated}).")
    elif result.interrupted:
        output.say("interrupted; arkor start stopped.")
    else:
        output.line(outcome_line(result))


def outcome_line(result: RunResult) -> str:
    """The final line: what became of the job, and why we exit as we do."""
    from arkor_cli_studio.textsafe import clean_line

    status = result.child_code
    if status != 0:
        return f"arkor start failed (exit status {status})."
    if result.outcome is None:
        return "arkor start finished (exit status 0) without reporting the job's outcome."
    job = f"Job {clean_line(result.outcome_job)}" if result.outcome_job else "The job"
    if result.outcome == "completed":
        return f"{job} completed (arkor start exited with status 0)."
    outcome = clean_line(result.outcome)
    return (
        f"{job} {outcome} (arkor start exited with status 0, as it does whatever the "
        f"outcome); exit status {result.code}."
    )


def _notify(result: RunResult, trainer: str | None, project: Path) -> None:
    from arkor_cli_studio.notify import desktop_notify
    from arkor_cli_studio.textsafe import clean_line

    what = trainer or project.name
    if result.child_code != 0:
        desktop_notify(
            "Training failed",
            f"{what}: arkor start exited with status {result.child_code}",
            critical=True,
        )
    elif result.outcome == "completed":
        desktop_notify("Training completed", f"{what}: the job completed")
    elif result.outcome == "failed":
        desktop_notify("Training failed", f"{what}: the job failed", critical=True)
    elif result.outcome == "cancelled":
        desktop_notify("Training cancelled", f"{what}: the job was cancelled")
    elif result.outcome is not None:
        desktop_notify("Training ended", f"{what}: the job ended {clean_line(result.outcome)}")
    else:
        desktop_notify(
            "Training ended", f"{what}: arkor start exited with status 0 (no outcome reported)"
        )
