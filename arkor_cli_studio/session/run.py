"""`watch_job(settings, options)`: the whole of `watch`, callable from any command.

`watch` calls it with its options; `demo` calls it against the simulator.
Nothing here reads a command line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from arkor_cli_studio.errors import ExitCode

if TYPE_CHECKING:
    from arkor_cli_studio.config import Settings
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
    ci: str = "auto"
    summary_file: Path | None = None
    webhook: str | None = None
    accessible: bool = False
    quiet: bool = False
    tail: int | None = None  # only the last N events of the history are printed
    since: datetime | None = None  # only events at or after this time are printed


def pick_mode(*, as_json: bool, plain: bool, terminal: bool) -> Mode:
    return "json" if as_json else "plain" if plain or not terminal else "live"


def make_sink(
    mode: Mode,
    *,
    advanced: bool,
    no_color: bool,
    github: bool = False,
    accessible: bool = False,
    quiet: bool = False,
) -> Sink:
    """The sink of a mode (the registry: a new mode is a new line here).
    `quiet` and `github` and `accessible` replace the plain/live output
    (`--json` stays NDJSON, except that `quiet` holds it back)."""
    from arkor_cli_studio.session.sinks import JsonSink, PlainSink

    if quiet:
        from arkor_cli_studio.session.reports import QuietSink

        return QuietSink(as_json=mode == "json", advanced=advanced, no_color=no_color)
    if mode != "json" and github:
        from arkor_cli_studio.session.reports import GitHubSink

        return GitHubSink(advanced=advanced, no_color=no_color)
    if mode != "json" and accessible:
        from arkor_cli_studio.session.reports import AccessibleSink

        return AccessibleSink(advanced=advanced, no_color=no_color)
    if mode == "json":
        return JsonSink(advanced=advanced, no_color=no_color)
    if mode == "plain":
        return PlainSink(advanced=advanced, no_color=no_color)
    from arkor_cli_studio.session.live import LiveSink

    return LiveSink(advanced=advanced, no_color=no_color)


def watch_job(settings: Settings, options: WatchOptions) -> ExitCode:
    """Follow `options.job_id` to its end; the exit code (`watch`'s rules).

    However the watch ends (the job's end, the stream given up, Ctrl-C,
    SIGTERM), the reports are written once (`session.reports.EndReport`):
    `--json`'s last line is its `{"event":"summary"}` record.
    """
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.config import env_float
    from arkor_cli_studio.errors import ArkorStudioError, Terminated
    from arkor_cli_studio.github import detect_ci
    from arkor_cli_studio.model import validate_job_id
    from arkor_cli_studio.render.console import stream_is_terminal
    from arkor_cli_studio.session.engine import WatchSession
    from arkor_cli_studio.session.reports import EndReport, GitHubSink, ReportOptions
    from arkor_cli_studio.termnotify import resolve_mode
    from arkor_cli_studio.watching import JobView

    validate_job_id(options.job_id)
    env = settings.env
    terminal = stream_is_terminal(sys.stdout)
    mode = options.mode or pick_mode(as_json=False, plain=False, terminal=terminal)
    github = detect_ci(env, options.ci) == "github"
    sink = make_sink(
        mode,
        advanced=options.advanced,
        no_color=settings.no_color,
        github=github,
        accessible=options.accessible,
        quiet=options.quiet,
    )
    notify = options.notify
    choice = "auto" if notify is True else "off" if notify is False else notify
    report = EndReport(
        ReportOptions(
            github=github,
            summary_file=options.summary_file,
            json_record=mode == "json",
            webhook=options.webhook,
            notify=resolve_mode(choice, env, terminal=terminal),
        ),
        env,
    )
    with connect(settings) as backend:
        session = WatchSession(
            backend,
            JobView(options.job_id),
            sink,
            max_retries=options.max_retries,
            # Hidden test seam: scales the reconnect delays (backoff,
            # Retry-After) so retry paths can be tested in milliseconds.
            retry_scale=env_float(settings.env, "ARKOR_STUDIO_RETRY_SCALE", 1.0),
        )
        report.attach(session)
        if options.tail is not None or options.since is not None:
            from arkor_cli_studio.session.reports import HistoryCut

            HistoryCut(tail=options.tail, since=options.since).attach(sink)
        try:
            status = session.run()
        except KeyboardInterrupt:
            report.write(report.outcome("interrupted", ExitCode.INTERRUPTED, "Ctrl-C"))
            raise
        except Terminated:
            report.write(report.outcome("terminated", ExitCode.TERMINATED, "SIGTERM"))
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
    code = session.exit_code
    if code is None:
        from arkor_cli_studio.textsafe import clean_line

        print(
            "arkor-studio: "
            + clean_line(f"The event stream of {options.job_id} ended, but the job is {status}."),
            file=sys.stderr,
            flush=True,
        )
        code = ExitCode.FAILURE
    # The job's own end, unless a hook (an alert) ended the watch first.
    ended_by_job = session.stopped_with is None and status in ("completed", "failed", "cancelled")
    report.write(report.outcome(status if ended_by_job else "stopped", code))
    return code


def notify_end(view: JobView, status: str) -> None:
    """The desktop notification and the terminal title at the end (as
    `--notify desktop`: kept for callers of the engine)."""
    from arkor_cli_studio.session.reports import notify_end as notify

    notify(view, status, "desktop", {})
