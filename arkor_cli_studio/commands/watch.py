"""`arkor-studio watch <id>`: Studio's Job-detail page, live in the terminal.

The command parses its options into a `session.run.WatchOptions`; the
engine (`arkor_cli_studio.session`) does the rest.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import typer

from arkor_cli_studio.choices import CiMode
from arkor_cli_studio.commands import boundary, examples
from arkor_cli_studio.commands._alerts import AlertOption, OnAlertOption
from arkor_cli_studio.commands._options import (
    Accessible,
    Advanced,
    Ci,
    JobId,
    Last,
    MaxRetries,
    Notify,
    Plain,
    SummaryFile,
    json_flag,
)
from arkor_cli_studio.env import environment_of

EPILOG = examples(
    "arkor-studio watch job_123  # live; exit code: the outcome",
    "arkor-studio watch job_123 --plain  # one line per event (CI logs)",
    "arkor-studio watch job_123 --advanced  # + loss statistics (key a)",
    "arkor-studio watch job_123 --once  # the state now; exit 7: running",
    "arkor-studio watch job_123 --json > run.ndjson",
    "arkor-studio watch job_123 --json |\njq -c 'select(.event==\"training.log\") | .data'",
    "arkor-studio watch job_123 --ci github --summary-file summary.md",
    "arkor-studio watch job_123 --alert 'loss>5' --alert stall:15m \\\n--on-alert exit",
)


def _since(text: str | None, now: datetime) -> datetime | None:
    """`--since`: an ISO time (naive: local), or a duration before `now`."""
    if text is None:
        return None
    from arkor_cli_studio.batch import parse_duration
    from arkor_cli_studio.errors import UsageError
    from arkor_cli_studio.model import parse_time

    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    when = parse_time(text)
    if when is None:
        try:
            when = datetime.fromisoformat(text).astimezone()
        except ValueError:
            raise UsageError(
                f"--since needs a time (2026-03-01T12:00:00Z) or a duration (15m, 2h): {text!r}",
            ) from None
    return when


def register(app: typer.Typer) -> None:
    app.command("watch", epilog=EPILOG)(boundary(watch))


# Long on purpose: a Typer command: mostly its parameter declarations.
def watch(
    ctx: typer.Context,
    job_id: JobId,
    plain: Plain = False,
    as_json: Annotated[
        bool,
        json_flag(
            "One JSON object per event (NDJSON), the complete history, then a last "
            '{"event":"summary"} record however the watch ends.'
        ),
    ] = False,
    notify: Notify = None,
    webhook: Annotated[
        str | None,
        typer.Option(
            "--notify-webhook",
            metavar="URL",
            envvar="ARKOR_STUDIO_NOTIFY_WEBHOOK",
            show_envvar=True,
            help="POST one JSON summary to URL at the end (Slack and ntfy read it; the URL "
            "is never printed and no token is sent to it). A failure is one warning line.",
            show_default=False,
        ),
    ] = None,
    ci: Ci = CiMode.auto,
    summary_file: SummaryFile = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Print the job's state now (recent events, progress, summary) and exit "
            "within 2 s: 0/1/3 completed/failed/cancelled, 7 still queued or running.",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print nothing until the end, then the summary line (or record)."
        ),
    ] = False,
    tail: Annotated[
        int | None,
        typer.Option(
            "--tail",
            min=0,
            metavar="N",
            help="Start from the last N events of the history, not the first (--plain/--json; "
            "with --once: N recent events, default 5).",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Start from events at or after WHEN: a time (2026-03-01T12:00:00Z) or a "
            "duration ago (15m, 2h).",
            show_default=False,
        ),
    ] = None,
    accessible: Accessible = False,
    max_retries: MaxRetries = None,
    advanced: Advanced = False,
    last: Last = None,
    alert: AlertOption = None,
    on_alert: OnAlertOption = None,
) -> None:
    """Follow one job live: phase, metadata, progress, loss chart, events.

    Keys on a terminal: a shows or hides the Advanced panel; ← → move a
    cursor along the chart's steps (its values under the chart), Home/End
    jump to the first/last step, Esc follows the latest step again.

    Exit status: 0 completed, 1 failed, 3 cancelled, 5 stream lost, 6 an alert
    ended the watch (--on-alert exit or cancel), 7 still running (--once),
    130 on Ctrl-C.
    """
    from arkor_cli_studio.accessible import wanted
    from arkor_cli_studio.commands._alerts import alert_settings
    from arkor_cli_studio.session.run import WatchOptions, pick_mode, watch_job

    if plain and as_json:
        from arkor_cli_studio.errors import UsageError

        raise UsageError(
            "--plain and --json can't be used together: --plain prints lines of text, "
            "--json one JSON object per event."
        )
    environment = environment_of(ctx)
    settings = environment.settings
    if once:
        from arkor_cli_studio.commands._once import RECENT, watch_once

        code = watch_once(
            settings, job_id, as_json=as_json, recent=RECENT if tail is None else tail
        )
        if code:
            raise typer.Exit(int(code))
        return
    if webhook is not None:
        from arkor_cli_studio.cloud.webhook import check_url

        webhook = check_url(webhook)
    alerts = alert_settings(settings, alert, on_alert)
    terminal = environment.stdout_isatty
    mode = pick_mode(as_json=as_json, plain=plain, terminal=terminal, env=settings.env)
    options = WatchOptions(
        job_id,
        mode,
        max_retries,
        advanced=advanced,
        notify=notify.value if notify is not None else None,
        ci=ci.value,
        summary_file=summary_file,
        webhook=webhook,
        accessible=wanted(accessible, settings.env),
        quiet=quiet,
        tail=tail,
        since=_since(since, environment.now()),
        last=last,
        alerts=alerts,
    )
    code = watch_job(settings, options, terminal=terminal)
    if code:
        raise typer.Exit(int(code))
