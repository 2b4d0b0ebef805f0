"""One module per subcommand: parse -> call -> render. Each has `register(app)`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer.core

from arkor_cli_studio.errors import BrokenPipe, Interrupted

F = TypeVar("F", bound=Callable[..., Any])


#: The text width of an example in --help at 80 columns: Click indents the
#: epilog by 2, `examples()` by 2 more.
EXAMPLE_WIDTH = 76
_COMMENT = "  # "


def examples(*lines: str) -> str:
    """A help epilog of example command lines, kept verbatim (no rewrapping).

    A line is a command, optionally followed by `  # comment`. The comments
    line up in one column, within EXAMPLE_WIDTH; where that cannot be (the
    longest commands give way first), a comment goes on a line of its own
    above its command. A newline
    in a command continues it (write it after `|` or `&&`, or end the line
    with a backslash), shown indented: every line fits 80 columns.
    """
    pairs: list[tuple[str, str]] = []
    for line in lines:
        command, _, comment = line.partition(_COMMENT)
        pairs.append((command.rstrip(), comment.strip()))

    def one_line(command: str) -> bool:
        return "\n" not in command

    inline = {i for i, (command, comment) in enumerate(pairs) if comment and one_line(command)}
    while inline:  # the longest commands give way until the rest fit
        column = max(len(pairs[i][0]) for i in inline) + 2
        if all(column + 2 + len(pairs[i][1]) <= EXAMPLE_WIDTH for i in inline):
            break
        inline.remove(max(inline, key=lambda i: len(pairs[i][0])))
    column = max((len(pairs[i][0]) for i in inline), default=0) + 2
    out: list[str] = []
    for i, (command, comment) in enumerate(pairs):
        first, *rest = command.split("\n")
        if comment and i not in inline:
            out.append(f"# {comment}")
        out.append(f"{first.ljust(column)}# {comment}" if i in inline else first)
        out.extend(f"    {more.strip()}" for more in rest)
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in out)


class Command(typer.core.TyperCommand):
    """Every subcommand's class (`app.command(cls=Command)`).

    Typer (since fastapi/typer#1863) writes a required argument in the usage
    line as `{JOB_ID}`, metavar or not (`TyperArgument.make_metavar(usage=True)`
    braces any required one whose metavar does not start with `[`). Click's
    usage convention, and ours, is the bare `JOB_ID`: the usage pieces (also
    those of a usage error) lose the braces here.
    """

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [_unbraced(piece) for piece in super().collect_usage_pieces(ctx)]


class CommandApp(typer.Typer):
    """The app a command module's `register()` adds its command to: a
    `Command` unless it asks for another class."""

    def command(self, name: str | None = None, *, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or Command, **kwargs)


def _unbraced(piece: str) -> str:
    if piece.startswith("{") and piece.endswith("}") and "{" not in piece[1:-1]:
        return piece[1:-1]
    return piece


def boundary(fn: F) -> F:
    """Ctrl-C and a closed stdout become our own errors (exit 130 / 141).

    Typer would turn KeyboardInterrupt into "Aborted!" and exit 1.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:
            raise Interrupted() from None
        except BrokenPipeError:
            raise BrokenPipe() from None

    return wrapper  # type: ignore[return-value]
