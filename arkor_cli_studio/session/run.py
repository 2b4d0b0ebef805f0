"""`watch_job(settings, options)`: the whole of `watch`, callable from any command.

`watch` calls it with its options; `demo` calls it against the simulator.
Nothing here reads a command line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
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
    stdout, plain otherwise. `notify`: None is on for a terminal stdout."""

    job_id: str
    mode: Mode | None = None
    max_retries: int | None = None
    advanced: bool = False
    notify: bool | None = None


def pick_mode(*, as_json: bool, plain: bool, terminal: bool) -> Mode:
    return "json" if as_json else "plain" if plain or not terminal else "live"


def make_sink(mode: Mode, *, advanced: bool, no_color: bool) -> Sink:
    """The sink of a mode (the registry: a new mode is a new line here)."""
    from arkor_cli_studio.session.sinks import JsonSink, PlainSink

    if mode == "json":
        return JsonSink(advanced=advanced, no_color=no_color)
    if mode == "plain":
        return PlainSink(advanced=advanced, no_color=no_color)
    from arkor_cli_studio.session.live import LiveSink

    return LiveSink(advanced=advanced, no_color=no_color)


def watch_job(settings: Settings, options: WatchOptions) -> ExitCode:
    """Follow `options.job_id` to its end; the exit code (`watch`'s rules)."""
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.config import env_float
    from arkor_cli_studio.model import validate_job_id
    from arkor_cli_studio.render.console import stream_is_terminal
    from arkor_cli_studio.session.engine import WatchSession
    from arkor_cli_studio.watching import JobView

    validate_job_id(options.job_id)
    terminal = stream_is_terminal(sys.stdout)
    mode = options.mode or pick_mode(as_json=False, plain=False, terminal=terminal)
    sink = make_sink(mode, advanced=options.advanced, no_color=settings.no_color)
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
        status = session.run()
    if options.notify if options.notify is not None else terminal:
        notify_end(session.view, status)
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


def notify_end(view: JobView, status: str) -> None:
    """The desktop notification and the terminal title at the end."""
    from arkor_cli_studio.notify import desktop_notify, set_terminal_title

    name = view.display_name
    mark = "✓" if status == "completed" else "✗"
    set_terminal_title(f"{mark} {name}")
    body = {
        "completed": "Training completed.",
        "failed": f"Training failed: {view.error or 'unknown error'}",
        "cancelled": "The job was cancelled.",
    }.get(status, f"The job is {status}.")
    desktop_notify(f"{mark} {name}", body, critical=status == "failed")
