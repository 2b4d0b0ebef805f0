"""Which alert rules a watch applies: `--alert` texts parsed into rules,
`--on-alert`, and the project's `[alerts]` in `.arkor-studio.toml`; flags
over the file over the defaults (`resolve_alerts`)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from arkor_cli_studio.alert_rules import (
    DIVERGE_FACTOR,
    PLATEAU_MIN_DELTA,
    DivergeRule,
    EvalRisesRule,
    NanRule,
    PlateauRule,
    StallRule,
    ThresholdRule,
)
from arkor_cli_studio.alerts import Rule
from arkor_cli_studio.errors import ConfigError, UsageError

#: What `--alert` accepts, for usage errors and help texts.
RULES_USAGE: Final = (
    "nan, loss>X, loss<X, eval_loss>X, eval_loss<X, diverge[:K], eval_rises:N, "
    "plateau:STEPS[:MIN_DELTA], stall:DURATION, none"
)
#: The rules a watch applies when neither `--alert` nor the project file names any.
DEFAULT_RULES: Final = ("nan", "diverge")
#: `--on-alert`: what a firing does besides showing itself.
ACTIONS: Final = ("notify", "exit", "cancel")
DEFAULT_ACTION: Final = "notify"
#: The project's own defaults, at its root (next to `.arkor/`).
CONFIG_FILE: Final = ".arkor-studio.toml"
CONFIG_MAX_BYTES: Final = 1 << 20


# --------------------------------------------------------------------------
# Parsing


_THRESHOLD = re.compile(r"(loss|eval_loss|evalloss)([<>])(.*)")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)?")
_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _usage(message: str) -> UsageError:
    return UsageError(message, hint=f"Alert rules: {RULES_USAGE}.")


def parse_rule(text: str) -> Rule:
    """One rule from its text (`diverge:4`, `loss > 2`); a `UsageError` (exit
    2) that says what is wrong otherwise."""
    from arkor_cli_studio.textsafe import clean_line

    raw = text
    text = "".join(text.split()).lower()  # `loss > 2` and `Plateau:200` read the same
    shown = clean_line(raw.strip())[:60]
    if not text:
        raise _usage("An alert rule cannot be empty.")
    if text == "nan":
        return NanRule()
    match = _THRESHOLD.fullmatch(text)
    if match:
        name, op, limit_text = match.groups()
        field_name = "loss" if name == "loss" else "evalLoss"
        limit = _finite(limit_text)
        if limit is None:
            raise _usage(f"The alert rule {shown!r} needs a number after {op!r}.")
        spec = f"{'loss' if field_name == 'loss' else 'eval_loss'}{op}{limit_text}"
        return ThresholdRule(spec, field_name, op == ">", limit)
    name, _, arg = text.partition(":")
    kind = _KINDS.get(name)
    if kind is not None:
        return kind(arg, shown)
    if name in ("loss", "eval_loss", "evalloss") and not arg:
        raise _usage(f"The alert rule {shown!r} needs a comparison: {name}>X or {name}<X.")
    raise _usage(f"Not an alert rule: {shown!r}.")


def _diverge(arg: str, shown: str) -> Rule:
    if not arg:
        return DivergeRule("diverge", DIVERGE_FACTOR)
    factor = _finite(arg)
    if factor is None or factor <= 1:
        raise _usage(
            f"diverge:K needs a factor K above 1 (diverge:3 fires at 3 times the best "
            f"loss), not {shown!r}."
        )
    return DivergeRule(f"diverge:{arg}", factor)


def _eval_rises(arg: str, shown: str) -> Rule:
    count = _whole(arg)
    if count is None or count < 1:
        raise _usage(
            f"eval_rises:N needs a whole number N of 1 or more (evaluations in a row "
            f"that rose), not {shown!r}."
        )
    return EvalRisesRule(f"eval_rises:{count}", count)


def _plateau(arg: str, shown: str) -> Rule:
    steps_text, _, delta_text = arg.partition(":")
    steps = _finite(steps_text)
    if steps is None or steps <= 0:
        raise _usage(
            f"plateau:STEPS[:MIN_DELTA] needs a number of steps above 0 (plateau:200 or "
            f"plateau:200:0.5%), not {shown!r}."
        )
    delta = PLATEAU_MIN_DELTA
    if delta_text:
        parsed = _fraction(delta_text)
        if parsed is None:
            raise _usage(
                f"plateau's MIN_DELTA is a relative improvement: 0.01 or 1% (between 0 "
                f"and 100%), not {shown!r}."
            )
        delta = parsed
    return PlateauRule(f"plateau:{arg}", steps, delta)


def _stall(arg: str, shown: str) -> Rule:
    seconds = parse_duration(arg)
    if seconds is None:
        raise _usage(
            f"stall:DURATION needs a duration above 0, like 90s, 10m, 1h30m (a bare "
            f"number is seconds), not {shown!r}."
        )
    return StallRule(f"stall:{arg}", seconds)


#: The rules written `NAME[:ARG]`: NAME -> its parser of (ARG, the text as shown).
_KINDS: Final[dict[str, Callable[[str, str], Rule]]] = {
    "diverge": _diverge,
    "eval_rises": _eval_rises,
    "plateau": _plateau,
    "stall": _stall,
}


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _whole(text: str) -> int | None:
    if not text.isdigit() or not text.isascii():
        return None
    return int(text)


def _fraction(text: str) -> float | None:
    percent = text.endswith("%")
    value = _finite(text[:-1] if percent else text)
    if value is None:
        return None
    if percent:
        value /= 100.0
    return value if 0.0 <= value < 1.0 else None


def parse_duration(text: str) -> float | None:
    """`90s`, `10m`, `1h30m`, `1.5h`, `500ms`, `45` (seconds) -> seconds above 0, else None."""
    text = "".join(text.split()).lower()
    if not text:
        return None
    total, pos = 0.0, 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            return None
        amount, unit = match.groups()
        if unit is None and (pos or match.end() != len(text)):
            return None  # a bare number only alone: `1h30` could mean either
        total += float(amount) * _UNITS[unit or "s"]
        pos = match.end()
    return total if 0.0 < total < math.inf else None


def parse_rules(texts: Iterable[str]) -> list[Rule]:
    """The rules, in order, each once (`none` alone: no rules at all)."""
    rules: list[Rule] = []
    seen: set[str] = set()
    texts = list(texts)
    if any("".join(t.split()).lower() == "none" for t in texts):
        if len(texts) > 1:
            raise _usage("The alert rule 'none' (no alerts) cannot be combined with others.")
        return []
    for text in texts:
        rule = parse_rule(text)
        if rule.spec not in seen:
            seen.add(rule.spec)
            rules.append(rule)
    return rules


def check_action(text: str) -> str:
    action = text.strip().lower()
    if action not in ACTIONS:
        from arkor_cli_studio.textsafe import clean_line

        raise UsageError(
            f"--on-alert is one of {', '.join(ACTIONS)}, not {clean_line(text)[:40]!r}."
        )
    return action


# --------------------------------------------------------------------------
# The project file


@dataclass(frozen=True, slots=True)
class ProjectAlerts:
    """`[alerts]` of `.arkor-studio.toml`; None where the file says nothing."""

    path: Path | None = None
    rules: tuple[str, ...] | None = None
    on_alert: str | None = None


_KNOWN_KEYS: Final = ("rules", "on-alert")


def load_project_alerts(project: Path) -> ProjectAlerts:
    """The project's defaults from `<project>/.arkor-studio.toml` (absent: none).

    A file that is there but wrong (not TOML, a rule we do not know, an
    unknown key in `[alerts]`) is a configuration error (exit 4) naming the
    file: guardrails that silently do nothing are worse than none."""
    path = project / CONFIG_FILE
    try:
        with path.open("rb") as handle:
            data = handle.read(CONFIG_MAX_BYTES + 1)
    except FileNotFoundError:
        return ProjectAlerts()
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a settings file.") from None
    except OSError as exc:
        raise ConfigError(f"Can't read {path}: {exc.strerror or exc}.") from None
    if len(data) > CONFIG_MAX_BYTES:
        raise ConfigError(f"{path} is over 1 MiB: not a settings file.")
    return parse_project_alerts(data, path)


def parse_project_alerts(data: bytes, path: Path) -> ProjectAlerts:
    import tomllib

    from arkor_cli_studio.textsafe import clean_line

    example = 'e.g. [alerts] rules = ["nan", "diverge", "stall:20m"], on-alert = "notify"'
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {clean_line(str(exc))}") from None
    section = document.get("alerts")
    if section is None:
        return ProjectAlerts(path)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: `alerts` must be a table ([alerts]).", hint=example)
    unknown = [key for key in section if key not in _KNOWN_KEYS]
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {clean_line(unknown[0])[:40]!r} in [alerts] "
            f"(known: {', '.join(_KNOWN_KEYS)}).",
            hint=example,
        )
    rules: tuple[str, ...] | None = None
    if "rules" in section:
        value = section["rules"]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{path}: [alerts] rules must be a list of strings.", hint=example)
        try:
            parse_rules(value)
        except UsageError as exc:
            raise ConfigError(f"{path}: {exc.message}", hint=exc.hint) from None
        rules = tuple(value)
    on_alert: str | None = None
    if "on-alert" in section:
        value = section["on-alert"]
        if not isinstance(value, str) or value.strip().lower() not in ACTIONS:
            shown = clean_line(str(value))[:40]
            raise ConfigError(
                f"{path}: [alerts] on-alert is one of {', '.join(ACTIONS)}, not {shown!r}."
            )
        on_alert = value.strip().lower()
    return ProjectAlerts(path, rules, on_alert)


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """What a watch applies: the rules' texts, the action, where they came from."""

    rules: tuple[str, ...]
    action: str
    source: str  # "--alert", the file's path, or "defaults"


def resolve_alerts(
    flags: Sequence[str] | None, on_alert: str | None, project: Path
) -> AlertSettings:
    """Flags override the project file, which overrides the defaults: `--alert`
    given replaces the file's rules (not merged), `--on-alert` its action.
    Everything is checked here, before anything is sent."""
    action = check_action(on_alert) if on_alert is not None else None
    if flags:
        parse_rules(flags)  # usage errors first, exit 2
    project_alerts = load_project_alerts(project)
    if flags:
        rules, source = tuple(flags), "--alert"
    elif project_alerts.rules is not None:
        rules, source = project_alerts.rules, str(project_alerts.path)
    else:
        rules, source = DEFAULT_RULES, "defaults"
    if action is None:
        action = project_alerts.on_alert or DEFAULT_ACTION
    return AlertSettings(rules, action, source)
