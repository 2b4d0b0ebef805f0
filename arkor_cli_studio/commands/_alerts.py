"""`--alert RULE` and `--on-alert ACTION`: the same options on `watch`,
`train --watch` and `demo` (the rules themselves: `alert_config`, `alert_rules`)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from arkor_cli_studio.alert_config import AlertSettings
    from arkor_cli_studio.config import Settings

#: What TAB offers after `--alert` (the rules with their usual arguments).
RULE_EXAMPLES = (
    "nan",
    "diverge",
    "diverge:3",
    "eval_rises:3",
    "plateau:200",
    "plateau:200:1%",
    "stall:15m",
    "loss>",
    "loss<",
    "eval_loss>",
    "eval_loss<",
    "none",
)


def complete_rule(incomplete: str) -> list[str]:
    return [rule for rule in RULE_EXAMPLES if rule.startswith(incomplete)]


class OnAlert(StrEnum):
    notify = "notify"
    exit = "exit"
    cancel = "cancel"


AlertOption = Annotated[
    list[str] | None,
    typer.Option(
        "--alert",
        metavar="RULE",
        help="Notice a run going wrong (repeatable): nan, loss>X, loss<X, eval_loss>X, "
        "eval_loss<X, diverge[:K], eval_rises:N, plateau:STEPS[:MIN_DELTA], "
        "stall:DURATION (e.g. stall:15m), or none. Fires once per condition: a line, "
        "a JSON record, a banner. Default: the project's .arkor-studio.toml [alerts] "
        "rules, else nan and diverge.",
        show_default=False,
        autocompletion=complete_rule,
    ),
]

OnAlertOption = Annotated[
    OnAlert | None,
    typer.Option(
        "--on-alert",
        metavar="ACTION",
        help="What an alert does: notify (default: a desktop notification when "
        "notifications are on), exit (stop watching, exit 6), cancel (cancel the job "
        "through the API without asking, then exit 6; not with --studio).",
        show_default=False,
        case_sensitive=False,
    ),
]


def alert_settings(
    settings: Settings, rules: list[str] | None, on_alert: str | None
) -> AlertSettings:
    """Flags over the project's `.arkor-studio.toml` over the defaults;
    checked now (a bad rule exits 2, a bad file 4), before anything is sent."""
    from arkor_cli_studio.alert_config import resolve_alerts

    return resolve_alerts(rules, None if on_alert is None else str(on_alert), settings.project)
