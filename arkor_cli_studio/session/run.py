"""`watch_job(settings, options)`: the whole of `watch`, callable from any command.

`watch` calls it with its options; `demo` calls it against the simulator.
Nothing here reads a command line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from arkor_cli_studio.errors import ExitCode

if TYPE_CHECKING:
    from arkor_cli_studio.alerts import AlertSettings
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.session.engine import WatchSession
    from arkor_cli_studio.session.sinks import Sink
    from arkor_cli_studio.watching import JobView

Mode = Literal["live", "plain", "json"]


@dataclass(frozen=True)
class WatchOptions:
    """What `watch` was asked for. `mode`: None picks live on a terminal
    stdout, plain otherwise. `notify`: None is on for a terminal stdout."""

    job_id: str
    mode: Mode | None = None
    max_retries: int | None = None
    advanced: bool = False
    notify: bool | None = None
    last: int | None = None  # the Advanced cards over the chart's last N points
    #: The alert rules and `--on-alert` (`alerts.resolve_alerts`); None: none.
    alerts: AlertSettings | None = None


def pick_mode(*, as_json: bool, plain: bool, terminal: bool) -> Mode:
    """JSON, plain lines, or the live view: only on a terminal that can move
    its cursor (`TERM=dumb` cannot: it gets the plain lines)."""
    if as_json:
        return "json"
    if plain or not terminal or dumb_terminal():
        return "plain"
    return "live"


def dumb_terminal() -> bool:
    import os

    return os.environ.get("TERM", "").strip().lower() == "dumb"


def make_sink(mode: Mode, *, advanced: bool, no_color: bool, last: int | None = None) -> Sink:
    """The sink of a mode (the registry: a new mode is a new line here).
    `last`: the Advanced cards cover the chart's last N points (Studio's)."""
    from arkor_cli_studio.session.sinks import JsonSink, PlainSink

    if mode == "json":
        return JsonSink(advanced=advanced, no_color=no_color, last=last)
    if mode == "plain":
        return PlainSink(advanced=advanced, no_color=no_color, last=last)
    from arkor_cli_studio.session.live import LiveSink

    return LiveSink(advanced=advanced, no_color=no_color, last=last)


def watch_job(settings: Settings, options: WatchOptions) -> ExitCode:
    """Follow `options.job_id` to its end; the exit code (`watch`'s rules)."""
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.config import env_float
    from arkor_cli_studio.model import validate_job_id
    from arkor_cli_studio.render.console import stream_is_terminal
    from arkor_cli_studio.session.alerts import AlertGuard, guarding, rules_of
    from arkor_cli_studio.session.engine import WatchSession
    from arkor_cli_studio.watching import CHART_SIZE, JobView

    validate_job_id(options.job_id)
    began = datetime.now(UTC)  # a replayed ending (older than this) is not news
    terminal = stream_is_terminal(sys.stdout)
    notifying = options.notify if options.notify is not None else terminal
    rules = rules_of(settings, options.alerts, options.job_id)  # (Studio: no cancel)
    mode = options.mode or pick_mode(as_json=False, plain=False, terminal=terminal)
    sink = make_sink(mode, advanced=options.advanced, no_color=settings.no_color, last=options.last)
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
        with guarding(guard):
            try:
                status = session.run()
            except KeyboardInterrupt:
                _say_still_running(settings, session)
                raise
        if guard is not None:
            guard.finish(backend, options.job_id)  # `--on-alert cancel`: the request
    if guard is not None and guard.acting is not None:
        if notifying:
            guard.notify_acted()
    elif notifying:
        with session.lock:
            news = session.view.ending_is_news(began)
        if news:
            from arkor_cli_studio.notify import restore_terminal_title

            try:
                notify_end(session.view, status)
            finally:
                restore_terminal_title()  # the mark goes when `watch` exits
    if mode == "live" and status == "failed":
        _say_failure(session)
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
    return code


def _say_failure(session: WatchSession) -> None:
    """After the final frame (where a long error is cut), the whole error on
    stderr: its actionable end is often its last words."""
    from arkor_cli_studio.textsafe import clean_line

    with session.lock:
        view = session.view
        error = view.error or (view.job.error if view.job is not None else None)
        name = view.display_name
    if error and error.strip():
        print(clean_line(f"Job {name} failed: {error}"), file=sys.stderr, flush=True)


def _say_still_running(settings: Settings, session: WatchSession) -> None:
    """Ctrl-C ends the watch, not the job: say so, and how to come back."""
    import shlex
    from pathlib import Path

    from arkor_cli_studio.textsafe import clean_line

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
    text = clean_line(
        f"Stopped watching. Job {name} is still running; watch it again with: "
        + shlex.join(command)
    )
    try:
        print(f"arkor-studio: {text}", file=sys.stderr, flush=True)
    except OSError:
        pass


def notify_end(view: JobView, status: str) -> None:
    """The desktop notification and the terminal title at the end (of a job
    that ended while watched: `JobView.ending_is_news`). The title mark is
    cleared again when `watch` exits (`notify.restore_terminal_title`, run by
    the error boundary on every way out)."""
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
    desktop_notify(f"{mark} {name}", body, critical=status == "failed")
