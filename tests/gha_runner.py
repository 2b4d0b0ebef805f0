"""How the GitHub Actions runner reads a log line: a port of its command
parser (`ActionCommand.TryParseV2`, then the legacy `TryParse`), to check
that only our own commands are read from what we print."""

from __future__ import annotations

from dataclasses import dataclass

REGISTERED = frozenset(
    {
        "add-mask", "add-matcher", "add-path", "debug", "echo", "endgroup", "error", "group",
        "notice", "remove-matcher", "save-state", "set-env", "set-output", "stop-commands",
        "warning",
    }
)  # fmt: skip

_DATA = (("\r", "%0D"), ("\n", "%0A"), ("%", "%25"))
_PROPERTY = (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25"))
_LEGACY = ((";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D"), ("%", "%25"))


@dataclass
class Command:
    name: str
    properties: dict[str, str]
    data: str


def _unescape(text: str, mappings: tuple[tuple[str, str], ...]) -> str:
    for token, replacement in mappings:
        text = text.replace(replacement, token)
    return text


def parse_v2(line: str) -> Command | None:
    message = line.lstrip()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    name, _, props = info.partition(" ")
    if name not in REGISTERED:
        return None
    properties = {}
    for item in props.strip().split(","):
        key, sep, value = item.partition("=")
        if item and sep and key and value:
            properties[key] = _unescape(value, _PROPERTY)
    return Command(name, properties, _unescape(message[end + 2 :], _DATA))


def parse_legacy(line: str) -> Command | None:
    start = line.find("##[")
    if start < 0:
        return None
    close = line.find("]", start)
    if close < 0:
        return None
    info = line[start + 3 : close]
    name, _, props = info.partition(" ")
    if name not in REGISTERED:
        return None
    properties = {}
    for item in props.split(";"):
        key, sep, value = item.partition("=")
        if item and sep and key and value:
            properties[key] = _unescape(value, _LEGACY)
    return Command(name, properties, _unescape(line[close + 1 :], _LEGACY))


def parse(line: str) -> Command | None:
    """What the runner makes of one line: a command, or None (plain text)."""
    return parse_v2(line) or parse_legacy(line)
