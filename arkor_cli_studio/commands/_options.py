"""Options and arguments that several commands share: one declaration, one help text.

A command writes `job_id: JobId`, `plain: Plain = False` or
`max_retries: MaxRetries = None`; the help reads the same in every command
that has it, and `tests/test_options.py` fails when a command declares its
own copy of an option that lives here (or of `--alert`/`--on-alert`, which
live in `commands/_alerts.py` with their rules).

`--json` is the one exception to "one help text": the flag is the same
everywhere, but its help is the shape of that command's JSON, so
`json_flag(shape)` declares it with the command's own shape.

`demo` runs `watch`, so its watch options are watch's own aliases.

(Only typer and `choices` are imported here: `--help` and TAB completion
load this module.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from arkor_cli_studio.choices import CiMode, NotifyMode

JobId = Annotated[str, typer.Argument(metavar="JOB_ID", help="The job's id, as `jobs` shows it.")]


def json_flag(shape: str) -> Any:
    """`--json`, with the shape of this command's JSON as its help:
    `as_json: Annotated[bool, json_flag("One JSON object: ...")] = False`."""
    return typer.Option("--json", help=shape)


Plain = Annotated[bool, typer.Option("--plain", help="One line per event, no live display.")]

PlainTables = Annotated[
    bool, typer.Option("--plain", help="Plain text tables (for logs): no colour, no chart.")
]

MaxRetries = Annotated[
    int | None,
    typer.Option(
        "--max-retries",
        min=0,
        metavar="N",
        help="Give up on a job's stream (exit 5) after N consecutive failed reconnects "
        "(default: never); a connection with only pings counts as failed.",
    ),
]

Notify = Annotated[
    NotifyMode | None,
    typer.Option(
        "--notify",
        metavar="[auto|desktop|terminal|off]",
        help="A notification at the end, and the terminal title: desktop "
        "(notify-send/osascript), terminal (OSC 9/777/99 + BEL, through tmux: reaches "
        "you over SSH), auto (terminal over SSH, else desktop), off. `--notify` alone is "
        "auto; --no-notify is off (default: auto when stdout is a terminal).",
        show_default=False,
    ),
]

#: `train`'s `--notify`: on or off (arkor start's end), not a mode.
NotifySwitch = Annotated[
    bool | None,
    typer.Option(
        "--notify/--no-notify",
        help="Desktop notification when arkor start ends (default: on in a terminal).",
        show_default=False,
    ),
]

Ci = Annotated[
    CiMode,
    typer.Option(
        "--ci",
        help="GitHub Actions output (groups, annotations, the job summary): auto is on "
        "when GITHUB_ACTIONS=true.",
    ),
]

SummaryFile = Annotated[
    Path | None,
    typer.Option(
        "--summary-file",
        metavar="PATH",
        help="Write the job summary (Markdown, with a Mermaid loss chart) to PATH at the "
        "end, as GitHub Actions' job summary gets it.",
        show_default=False,
    ),
]

Accessible = Annotated[
    bool,
    typer.Option(
        "--accessible",
        help="For screen readers (also ACCESSIBLE=1): no cursor movement, a sentence per "
        "phase change, checkpoint and eval, progress at most every 30 s.",
    ),
]

Advanced = Annotated[
    bool,
    typer.Option(
        "--advanced",
        help="Studio's Advanced panel: the numbers of `stats` (mean ± 95% CI, std dev, "
        "variance, p90, p95 of the loss) over the whole run, live under the chart; "
        "on a terminal the key `a` shows or hides it (also without --advanced). "
        "--plain: printed after the summary; --json: on stderr at the end.",
    ),
]

Last = Annotated[
    int | None,
    typer.Option(
        "--last",
        metavar="N",
        min=1,
        help="The statistics over the chart's last N points, as Studio's cards are (its "
        "chart keeps 2000: --last 2000 gives its exact numbers): the last N training.log "
        "frames with a step and a loss or evalLoss, frames of one step merged. Default: "
        "the whole run.",
        show_default=False,
    ),
]
