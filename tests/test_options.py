"""Options that several commands share are declared once (commands/_options.py,
commands/_alerts.py) and read the same everywhere."""

from __future__ import annotations

import ast
from pathlib import Path

from arkor_cli_studio.app import COMMANDS, _build_command

COMMANDS_DIR = Path(__file__).resolve().parent.parent / "arkor_cli_studio" / "commands"
#: Where shared options are declared.
HOMES = ("_options.py", "_alerts.py")

#: Names whose help may differ by command, and why.
PER_COMMAND_HELP = {
    "--json": "the help is the shape of that command's JSON (json_flag(shape))",
    "--plain": "compare's plain tables; watch's (and demo's) plain lines",
    "--notify": "train's on/off switch; watch's (and demo's) notification mode",
    "--file": "stats reads NDJSON from it; train runs it as the entry file",
}


def declared_names(source: str) -> set[str]:
    """The option names (and argument metavars) of every typer.Option/Argument
    call in `source`, and of every `json_flag(...)` (which is `--json`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "typer"):
            continue
        if node.func.attr == "Option":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    names.update(part for part in arg.value.split("/") if part.startswith("-"))
        elif node.func.attr == "Argument":
            for keyword in node.keywords:
                if keyword.arg == "metavar" and isinstance(keyword.value, ast.Constant):
                    names.add(str(keyword.value.value))
    return names


def shared_names() -> set[str]:
    return set().union(*(declared_names((COMMANDS_DIR / home).read_text()) for home in HOMES))


def copies(source: str, shared: set[str]) -> set[str]:
    return declared_names(source) & shared


def test_no_command_declares_its_own_copy_of_a_shared_option():
    shared = shared_names()
    assert {"--json", "--plain", "--notify", "--advanced", "--last", "--max-retries"} <= shared
    assert {"JOB_ID", "--ci", "--summary-file", "--accessible", "--alert"} <= shared
    found = {
        path.name: sorted(copies(path.read_text(), shared))
        for path in sorted(COMMANDS_DIR.glob("*.py"))
        if path.name not in HOMES
    }
    assert {name: names for name, names in found.items() if names} == {}


def test_the_copy_check_fires():
    """The check above, on a command that re-declares `--json` and `JOB_ID`:
    a fence that stopped firing would fail here."""
    source = """
import typer
def cmd(
    job_id: Annotated[str, typer.Argument(metavar="JOB_ID", help="Mine.")],
    as_json: Annotated[bool, typer.Option("--json", help="Mine.")] = False,
    fine: Annotated[bool, typer.Option("--only-here", help="Mine.")] = False,
): ...
"""
    assert copies(source, shared_names()) == {"--json", "JOB_ID"}


def helps() -> dict[str, dict[str, str]]:
    """Option name -> command -> its help."""
    found: dict[str, dict[str, str]] = {}
    for name in COMMANDS:
        for param in _build_command(name).params:
            key = (
                param.opts[0]
                if param.opts and param.opts[0].startswith("-")
                else param.human_readable_name
            )
            found.setdefault(key, {})[name] = getattr(param, "help", None) or ""
    return found


def test_a_shared_option_has_one_help_text_in_every_command():
    differing = {
        key: by_command
        for key, by_command in helps().items()
        if len(set(by_command.values())) > 1 and key not in PER_COMMAND_HELP
    }
    assert differing == {}


def test_every_option_of_several_commands_is_a_shared_one():
    shared = shared_names()
    several = {key for key, by_command in helps().items() if len(by_command) > 1}
    assert several - shared - {"--file"} == set()
    users = helps()
    assert {"artifacts", "cancel", "show", "watch"} <= set(users["JOB_ID"])
    assert {"watch", "wait"} <= set(users["--max-retries"])
    assert {"watch", "demo"} <= set(users["--advanced"])
    assert {"watch", "stats"} <= set(users["--last"])
