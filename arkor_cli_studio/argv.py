"""The command line as typed, made into what the root app parses: spellings
Typer has no way to declare (`--studio URL`, `--notify [MODE]`), `help
[COMMAND]`, and the root's options written after the command."""

from __future__ import annotations

import re
from collections.abc import Collection


def rewrite(args: list[str], commands: Collection[str]) -> list[str]:
    """All of it, in order; `commands`: the subcommands' names."""
    return notify_alias(global_options_first(studio_value_alias(args), commands), commands)


_HOST_PORT = re.compile(r"^[\w.\[\]:-]+:\d+/?$")


def studio_value_alias(args: list[str]) -> list[str]:
    """Accept the `--studio URL` and `--studio=URL` spellings as `--studio-url URL`.

    Typer has no option with an optional value (its `flag_value` is
    deprecated and ignored), and one would be ambiguous before a command
    name anyway. So `--studio` is a flag, and a URL right after it (it has
    `://`, or is `host:port`; a command name never is) is read as
    `--studio-url`'s value. Everything else is left to Typer.
    """
    out: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            out.extend(args[index:])
            break
        if arg.startswith("--studio="):
            out.append("--studio-url=" + arg.removeprefix("--studio="))
        elif (
            arg == "--studio"
            and index + 1 < len(args)
            and ("://" in args[index + 1] or _HOST_PORT.match(args[index + 1]))
        ):
            out.extend(["--studio-url", args[index + 1]])
            index += 1
        else:
            out.append(arg)
        index += 1
    return out


#: The root's options, as they may also be written after the command
#: (`jobs -C dir`, `watch id --no-color`): (takes a value).
_GLOBAL_OPTIONS = {
    "-C": True,
    "--project": True,
    "--api-url": True,
    "--studio-url": True,
    "--studio": False,
    "--no-studio": False,
    "--no-color": False,
}


def global_options_first(args: list[str], commands: Collection[str]) -> list[str]:
    """`help [COMMAND]` is `[COMMAND] --help`; the root's options written after
    the command move in front of it (no command has options of those names).
    Nothing after `--` is touched."""
    if args[:1] == ["help"]:
        return [*args[1:2], "--help"] if len(args) > 1 else ["--help"]
    command = next((i for i, arg in enumerate(args) if arg in commands), None)
    if command is None:
        return args
    before, after = list(args[: command + 1]), args[command + 1 :]
    moved: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(after):
        arg = after[index]
        if arg == "--":
            rest.extend(after[index:])
            break
        name, _, inline = arg.partition("=")
        takes = _GLOBAL_OPTIONS.get(name)
        if takes is None:
            rest.append(arg)
        elif takes and not inline and index + 1 < len(after):
            moved.extend([arg, after[index + 1]])
            index += 1
        else:
            moved.append(arg)
        index += 1
    if not moved:
        return args
    return [*before[:command], *moved, before[command], *rest]


def notify_alias(args: list[str], commands: Collection[str]) -> list[str]:
    """`watch`/`demo`: `--notify [MODE]` and `--no-notify` (termnotify.notify_value_alias)."""
    if "--notify" not in args and "--no-notify" not in args:
        return args
    for index, arg in enumerate(args):
        if arg in commands:
            if arg not in ("watch", "demo"):
                return args
            from arkor_cli_studio.termnotify import notify_value_alias

            return args[: index + 1] + notify_value_alias(args[index + 1 :])
    return args
