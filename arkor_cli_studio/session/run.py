"""`watch_job(settings, options, terminal=...)`: the whole of `watch`, callable from any command.

`watch` calls it with its options; `demo` calls it against the simulator.
Nothing here reads a command line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from arkor_cli_studio.errors import ExitCode

if TYPE_CHECKING:
    from collections.abc import Mapping

    from arkor_cli_studio.alert_config import AlertSettings
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.session.alerts import AlertGuard
    from arkor_cli_studio.session.engine import WatchSession
    from arkor_cli_studio.session.reports import EndReport
    from arkor_cli_studio.session.sinks import Sink
    from arkor_cli_studio.watching import JobView

Mode = Literal["live", "plain", "json"]


@dataclass(frozen=True)
class WatchOptions:
    """What `watch` was asked for. `mode`: None picks live on a terminal
    stdout, plain otherwise. `notify`: auto|desktop|terminal|off (True is
    auto, False off); None is auto for a terminal stdout, else off.
    `ci`: auto|github|none (auto: GitHub Actions when GITHUB_ACTIONS=true).
    `summary_file`: the job summary's Markdown written there too.
    `webhook`: a URL that gets one JSON POST at the end. `accessible`:
    sentences, no cursor movement. `quiet`: nothing until the summary."""

    job_id: str
    mode: Mode | None = None
    max_retries: int | None = None
    advanced: bool = False
    notify: bool | str | None = None
    last: int | None = None  # the Advanced cards over the chart's last N points
    #: The alert rules and `--on-alert` (`alert_config.resolve_alerts`); None: none.
    alerts: AlertSettings | None = None
    ci: str = "auto"
    summary_file: Path | None = None
    webhook: str | None = None
    accessible: bool = False
    quiet: bool = False
    tail: int | None = None  # only the last N events of the history are printed
    since: datetime | None = None  # only events at or after this time are printed


def pick_mode(*, as_json: bool, plain: bool, terminal: bool, env: Mapping[str, str]) -> Mode:
    """JSON, plain lines, or the live view: only on a terminal that can move
    its cursor (`TERM=dumb` cannot: it gets the plain lines)."""
    if as_json:
        return "json"
    if plain or not terminal or dumb_terminal(env):
        return "plain"
    return "live"


def dumb_terminal(env: Mapping[str, str]) -> bool:
    """TERM=dumb in the run's environment (`settings.env`)."""
    return env.get("TERM", "").strip().lower() == "dumb"


def make_sink(
    mode: Mode,
    *,
    advanced: bool,
    no_color: bool,
    last: int | None = None,
    github: bool = False,
    accessible: bool = False,
    quiet: bool = False,
) -> Sink:
    """The sink of a mode (the registry: a new mode is a new line here).
    `last`: the Advanced cards cover the chart's last N points (Studio's).
    `quiet`, `github` and `accessible` replace the plain/live output
    (`--json` stays NDJSON, except that `quiet` holds it back)."""
    from arkor_cli_studio.session.sinks import JsonSink, PlainSink

    if quiet:
        from arkor_cli_studio.session.reports import QuietSink

        return QuietSink(as_json=mode == "json", advanced=advanced, no_color=no_color, last=last)
    if mode != "json" and github:
        from arkor_cli_studio.session.reports import GitHubSink

        return GitHubSink(advanced=advanced, no_color=no_color, last=last)
    if mode != "json" and accessible:
        from arkor_cli_studio.session.reports import AccessibleSink

        return AccessibleSink(advanced=advanced, no_color=no_color, last=last)
    if mode == "json":
        return JsonSink(advanced=advanced, no_color=no_color, last=last)
    if mode == "plain":
        return PlainSink(advanced=advanced, no_color=no_color, last=last)
    from arkor_cli_studio.session.live import LiveSink

    return LiveSink(advanced=advanced, no_color=no_color, last=last)


def watch_job(settings: Settings, options: WatchOptions, *, terminal: bool) -> ExitCode:
    """Follow `options.job_id` to its end; the exit code (`watch`'s rules).
    `terminal`: whether stdout is one (the caller's environment says).

    However the watch ends (the job's end, the stream given up, Ctrl-C,
    SIGTERM), the reports are written once (`session.reports.EndReport`):
    `--json`'s last line is its `{"event":"summary"}` record.
    """
    from arkor_cli_studio.chart import CHART_SIZE
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.config import env_float
    from arkor_cli_studio.github import detect_ci
    from arkor_cli_studio.model import validate_job_id
    from arkor_cli_studio.session.alerts import AlertGuard, rules_of
    from arkor_cli_studio.session.engine import WatchSession
    from arkor_cli_studio.termnotify import resolve_mode
    from arkor_cli_studio.watching import JobView

    validate_job_id(options.job_id)
    env = settings.env
    began = datetime.now(UTC)  # a replayed ending (older than this) is not news
    choice = options.notify
    choice = "auto" if choice is True else "off" if choice is False else choice
    notify_mode = resolve_mode(choice, env, terminal=terminal)
    notifying = notify_mode != "off"
    rules = rules_of(settings, options.alerts, options.job_id)  # (Studio: no cancel)
    mode = options.mode or pick_mode(as_json=False, plain=False, terminal=terminal, env=env)
    sink, report = _outputs(settings, options, mode, github=detect_ci(env, options.ci) == "github")
    guard: AlertGuard | None = None
    with connect(settings) as backend:
        session = WatchSession(
            backend,
            JobView(options.job_id, chart_size=max(CHART_SIZE, options.last or 0)),
            sink,
            max_retries=options.max_retries,
            # Hidden test seam: scales the reconnect delays (backoff,
            # Retry-After) so retry paths can be tested in milliseconds.
            retry_scale=env_float(settings.env, "ARKOR_STUDIO_RETRY_SCALE", 1.0),
        )
        if rules:
            assert options.alerts is not None
            guard = AlertGuard(session, rules, options.alerts.action, notify=notifying)
        report.attach(session)
        if options.tail is not None or options.since is not None:
            from arkor_cli_studio.session.reports import HistoryCut

            HistoryCut(tail=options.tail, since=options.since).attach(sink)
        status = _run(session, guard, report, sink, settings)
        if guard is not None:
            guard.finish(backend, options.job_id)  # `--on-alert cancel`: the request
    _announce_end(session, status, guard, notify_mode, began, env)
    if mode == "live" and status == "failed":
        _say_failure(session)
    return _exit_code(session, status, options.job_id, report)


def _outputs(
    settings: Settings, options: WatchOptions, mode: Mode, *, github: bool
) -> tuple[Sink, EndReport]:
    """The watch's sink (its output while it runs) and its end report."""
    from arkor_cli_studio.session.reports import EndReport, ReportOptions

    sink = make_sink(
        mode,
        advanced=options.advanced,
        no_color=settings.no_color,
        last=options.last,
        github=github,
        accessible=options.accessible,
        quiet=options.quiet,
    )
    report = EndReport(
        ReportOptions(
            github=github,
            summary_file=options.summary_file,
            json_record=mode == "json",
            webhook=options.webhook,
        ),
        settings.env,
    )
    return sink, report


def _run(
    session: WatchSession,
    guard: AlertGuard | None,
    report: EndReport,
    sink: Sink,
    settings: Settings,
) -> str:
    """The watch until it ends: the job's status. Ctrl-C, a signal or a lost
    stream write the end report first (`--json`'s summary record), then go on up."""
    from arkor_cli_studio.errors import ArkorStudioError
    from arkor_cli_studio.session.alerts import guarding
    from arkor_cli_studio.session.reports import GitHubSink
    from arkor_cli_studio.signals import Terminated

    try:
        with guarding(guard):
            return session.run()
    except KeyboardInterrupt:
        report.write(report.outcome("interrupted", ExitCode.INTERRUPTED, "Ctrl-C"))
        _say_still_running(settings, session)
        raise
    except Terminated as stop:
        report.write(report.outcome("terminated", stop.exit_code, f"signal {stop.signum}"))
        raise
    except ArkorStudioError as error:
        if error.exit_code in (ExitCode.INTERRUPTED, ExitCode.BROKEN_PIPE):
            raise
        lost = error.exit_code == ExitCode.UNREACHABLE
        if lost and isinstance(sink, GitHubSink):
            sink.stream_lost(error.message)
        outcome = "lost" if lost else "error"
        report.write(report.outcome(outcome, error.exit_code, error.message))
        raise


def _announce_end(
    session: WatchSession,
    status: str,
    guard: AlertGuard | None,
    notify_mode: str,
    began: datetime,
    env: Mapping[str, str],
) -> None:
    """The notification: an alert's action, else the job's end if it is news
    (it ended while watched, not before `began`)."""
    if notify_mode == "off":
        return
    if guard is not None and guard.acting is not None:
        guard.notify_acted()
        return
    with session.lock:
        news = session.view.ending_is_news(began)
    if news:
        from arkor_cli_studio.notify import restore_terminal_title

        try:
            notify_end(session.view, status, notify_mode, env)
        finally:
            restore_terminal_title()  # the mark goes when `watch` exits


def _exit_code(session: WatchSession, status: str, job_id: str, report: EndReport) -> ExitCode:
    """The watch's exit code, after the end report's last words."""
    code = session.exit_code
    if code is None:
        from arkor_cli_studio.output import say

        say(f"The event stream of {job_id} ended, but the job is {status}.")
        code = ExitCode.FAILURE
    # The job's own end, unless a hook (an alert) ended the watch first.
    ended_by_job = session.stopped_with is None and status in ("completed", "failed", "cancelled")
    outcome = status if ended_by_job else "alert" if code == ExitCode.ALERT else "stopped"
    report.write(report.outcome(outcome, code))
    return code


def _say_failure(session: WatchSession) -> None:
    """After the final frame (where a long error is cut), the whole error on
    stderr: its actionable end is often its last words."""
    from arkor_cli_studio import output

    with session.lock:
        view = session.view
        error = view.error or (view.job.error if view.job is not None else None)
        name = view.display_name
    if error and error.strip():
        output.line(f"Job {name} failed: {error}")


def _say_still_running(settings: Settings, session: WatchSession) -> None:
    """Ctrl-C ends the watch, not the job: say so, and how to come back."""
    import shlex
    from pathlib import Path

    from arkor_cli_studio import output

    with session.lock:
        view = session.view
        if view.ended or view.finished:
            return
        name = view.display_name
    command = ["arkor-studio"]
    if settings.studio_url is not None:
        command += ["--studio-url", settings.studio_url]
    try:
        here = Path.cwd().resolve()
    except OSError:
        here = None
    if settings.project != here:
        command += ["-C", str(settings.project)]
    command += ["watch", session.job_id]
    try:
        output.say(
            f"Stopped watching. Job {name} is still running; watch it again with: "
            + shlex.join(command)
        )
    except OSError:
        pass


def notify_end(
    view: JobView, status: str, mode: str = "desktop", env: Mapping[str, str] | None = None
) -> None:
    """The notification and the terminal title at the end (of a job that
    ended while watched: `JobView.ending_is_news`): `mode` desktop
    (notify-send/osascript, the terminal where neither exists) or terminal
    (OSC 9/777/99 + BEL, through tmux). The title mark is cleared again
    when `watch` exits (`notify.restore_terminal_title`, run by the error
    boundary on every way out)."""
    from arkor_cli_studio.notify import desktop_notify, set_terminal_title

    name = view.display_name
    mark = "✓" if status == "completed" else "✗"
    set_terminal_title(f"{mark} {name}")
    error = view.error or (view.job.error if view.job is not None else None)
    body = {
        "completed": "Training completed.",
        "failed": f"Training failed: {error}" if error and error.strip() else "Training failed.",
        "cancelled": "The job was cancelled.",
    }.get(status, f"The job is {status}.")
    title = f"{mark} {name}"
    if mode == "desktop" and desktop_notify(title, body, critical=status == "failed"):
        return
    from arkor_cli_studio.termnotify import terminal_stream, write_notification

    stream = terminal_stream(sys.stdout, sys.stderr)
    if stream is not None:
        write_notification(title, body, env if env is not None else {}, stream)
