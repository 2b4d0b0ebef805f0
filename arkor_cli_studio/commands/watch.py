"""`arkor-studio watch <id>`: Studio's Job-detail page, live in the terminal.

The command parses its options into a `session.run.WatchOptions`; the
engine (`arkor_cli_studio.session`) does the rest.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from arkor_cli_studio.commands import boundary, examples
from arkor_cli_studio.commands._alerts import AlertOption, OnAlertOption

EPILOG = examples(
    "arkor-studio watch job_123                 # live; exit 0/1/3: completed/failed/cancelled",
    "arkor-studio watch job_123 --plain         # one line per event (CI logs)",
    "arkor-studio watch job_123 --advanced      # + loss statistics (key a: show/hide)",
    "arkor-studio watch job_123 --json > run.ndjson && arkor-studio stats --file run.ndjson",
    "arkor-studio watch job_123 --json | jq -c 'select(.event==\"training.log\") | .data'",
    "arkor-studio watch job_123 --alert 'loss>5' --alert stall:15m --on-alert exit  # exit 6",
)


def register(app: typer.Typer) -> None:
    app.command("watch", epilog=EPILOG)(boundary(watch))


def watch(
    ctx: typer.Context,
    job_id: Annotated[
        str,
        typer.Argument(metavar="JOB_ID", help="The job to follow (its id, as `jobs` shows it)."),
    ],
    plain: Annotated[
        bool, typer.Option("--plain", help="One line per event, no live display.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON object per event (NDJSON), the complete history."),
    ] = False,
    notify: Annotated[
        bool | None,
        typer.Option(
            "--notify/--no-notify",
            help="Desktop notification and terminal title at the end "
            "(default: on when stdout is a terminal).",
            show_default=False,
        ),
    ] = None,
    max_retries: Annotated[
        int | None,
        typer.Option(
            "--max-retries",
            min=0,
            metavar="N",
            help="Give up (exit 5) after N consecutive failed reconnects (default: never).",
        ),
    ] = None,
    advanced: Annotated[
        bool,
        typer.Option(
            "--advanced",
            help="Studio's Advanced panel: the numbers of `stats` (mean ± 95% CI, std dev, "
            "variance, p90, p95 of the loss) over the whole run, live under the chart; "
            "on a terminal the key `a` shows or hides it (also without --advanced). "
            "--plain: printed after the summary; --json: on stderr at the end.",
        ),
    ] = False,
    last: Annotated[
        int | None,
        typer.Option(
            "--last",
            metavar="N",
            min=1,
            help="The Advanced cards over the chart's last N points, as Studio's are "
            "(--last 2000: its exact numbers; see `stats --last`) instead of the whole run.",
            show_default=False,
        ),
    ] = None,
    alert: AlertOption = None,
    on_alert: OnAlertOption = None,
) -> None:
    """Follow one job live: phase, metadata, progress, loss chart, events.

    Keys on a terminal: a shows or hides the Advanced panel; ← → move a
    cursor along the chart's steps (its values under the chart), Home/End
    jump to the first/last step, Esc follows the latest step again.

    Exit status: 0 completed, 1 failed, 3 cancelled, 6 an alert ended the
    watch (--on-alert exit or cancel), 130 on Ctrl-C.
    """
    from arkor_cli_studio.app import settings_of
    from arkor_cli_studio.commands._alerts import alert_settings
    from arkor_cli_studio.render.console import stream_is_terminal
    from arkor_cli_studio.session.run import WatchOptions, pick_mode, watch_job

    if plain and as_json:
        from arkor_cli_studio.errors import UsageError

        raise UsageError(
            "--plain and --json can't be used together: --plain prints lines of text, "
            "--json one JSON object per event."
        )
    settings = settings_of(ctx)
    alerts = alert_settings(settings, alert, on_alert)
    mode = pick_mode(as_json=as_json, plain=plain, terminal=stream_is_terminal(sys.stdout))
    options = WatchOptions(
        job_id,
        mode,
        max_retries,
        advanced=advanced,
        notify=notify,
        last=last,
        alerts=alerts,
    )
    code = watch_job(settings, options)
    if code:
        raise typer.Exit(int(code))
