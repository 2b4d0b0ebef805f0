"""Fences for our own layers (docs/ARCHITECTURE.md), beside the linter's.

ruff enforces the folders (`render/`, `cloud/`, `session/` each have a
ruff.toml banning the layers above them). What ruff cannot say per file or
about private names is checked here, from the source's import statements:
- the state modules (`model`, `watching`, `event_text`, `stats`, `progress`, `jobinfo`)
  import no layer above them (`render/`, `cloud/`, `commands/`, `session/`, `app`);
- no module imports another module's private names (`from x import _y`,
  `x._y`), nor a private module of another package;
- notes, warnings and errors reach stderr through `output` only (it cleans
  every line and adds the `arkor-studio:` prefix), never by a print of its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "arkor_cli_studio"
STATE_MODULES = ["model", "watching", "event_text", "stats", "progress", "jobinfo"]
ABOVE_STATE = ("render", "cloud", "commands", "session", "app")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, name) for every import in the file (name None: `import m`)."""
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module, alias.name) for alias in node.names]
    return found


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def above_state(found: list[tuple[int, str, str | None]]) -> list[str]:
    """The imports of a layer above the state modules."""
    return [
        f"{line}: {module}"
        for line, module, _ in found
        if module.startswith("arkor_cli_studio.") and module.split(".")[1] in ABOVE_STATE
    ]


def private_imports(here: str, found: list[tuple[int, str, str | None]]) -> list[str]:
    """Imports, in module `here`, of another module's private names, or of a
    private module of a package `here` is not part of."""
    bad = []
    for line, module, name in found:
        if not module.startswith("arkor_cli_studio"):
            continue
        parts = module.split(".")
        if name is not None:
            if (PACKAGE.parent / Path(*parts) / f"{name}.py").exists():
                parts.append(name)  # `from package import _module`
            elif is_private(name):
                bad.append(f"{line}: {module}.{name}")
        for depth in range(1, len(parts)):
            owner = ".".join(parts[:depth])
            if is_private(parts[depth]) and not here.startswith(owner + "."):
                bad.append(f"{line}: {'.'.join(parts)} (private to {owner})")
    return bad


@pytest.mark.parametrize("name", STATE_MODULES)
def test_state_modules_import_no_layer_above_them(name: str):
    assert above_state(imports(PACKAGE / f"{name}.py")) == []


def test_no_module_imports_another_modules_private_names():
    bad = {
        str(path.relative_to(PACKAGE)): found
        for path in sources()
        if (found := private_imports(module_name(path), imports(path)))
    }
    assert bad == {}


def test_the_fences_catch_what_they_are_for(tmp_path: Path):
    """The checks, on imports that break them (a fence that never fires proves nothing)."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from arkor_cli_studio.render.watch import watch_frame\n"
        "import arkor_cli_studio.cloud.client\n"
        "from arkor_cli_studio.model import _loads_object, number\n"
        "from arkor_cli_studio.commands import _train_watch\n"
        "from arkor_cli_studio.commands._train_watch import TrainWatch\n"
    )
    found = imports(bad)
    assert above_state(found) == [
        "1: arkor_cli_studio.render.watch",
        "2: arkor_cli_studio.cloud.client",
        "4: arkor_cli_studio.commands",
        "5: arkor_cli_studio.commands._train_watch",
    ]
    outside = private_imports("arkor_cli_studio.watching", found)
    assert outside == [
        "3: arkor_cli_studio.model._loads_object",
        "4: arkor_cli_studio.commands._train_watch (private to arkor_cli_studio.commands)",
        "5: arkor_cli_studio.commands._train_watch (private to arkor_cli_studio.commands)",
    ]
    assert private_imports("arkor_cli_studio.commands.train", found) == outside[:1]


# ---- our own words on stderr go through output.py --------------------------

#: Where stderr is written directly: output.py (the one place), the
#: simulator (a test server, not the CLI).
STDERR_OWNERS = ("output.py", "simulator.py")


def _is_sys_stderr(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "stderr"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    )


def _prefixed_by_hand(node: ast.AST) -> bool:
    first = node.values[0] if isinstance(node, ast.JoinedStr) and node.values else node
    return (
        isinstance(first, ast.Constant)
        and isinstance(first.value, str)
        and first.value.startswith("arkor-studio")
    )


def stderr_writes(source: str) -> list[str]:
    """Lines that write a note, warning or error to stderr other than through
    `output` (which cleans every line and adds the prefix): `print(...,
    file=sys.stderr)`, `sys.stderr.write(...)`, `typer.echo(..., err=True)`, a
    console on stderr (`make_console(stderr=True)`, `console(stderr=True)`),
    and a line printed or written with a hand-made `arkor-studio` prefix.

    (A sink's own output stream, `PlainSink(out=sys.stderr)` for
    `train --watch`, is that sink's output, not a note: passing the stream
    is not writing to it.)"""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        keywords = {k.arg: k.value for k in node.keywords}
        if name == "print" and _is_sys_stderr(keywords.get("file", ast.Constant(None))):
            bad.append(f"{node.lineno}: print(..., file=sys.stderr)")
        elif name == "write" and isinstance(func, ast.Attribute) and _is_sys_stderr(func.value):
            bad.append(f"{node.lineno}: sys.stderr.write(...)")
        elif name in ("echo", "secho") and "err" in keywords:
            bad.append(f"{node.lineno}: typer.{name}(..., err=...)")
        elif name in ("make_console", "console") and "stderr" in keywords:
            bad.append(f"{node.lineno}: {name}(stderr=...)")
        elif name in ("print", "write") and node.args and _prefixed_by_hand(node.args[0]):
            bad.append(f"{node.lineno}: {name}('arkor-studio...') by hand")
    return sorted(bad, key=lambda found: int(found.split(":")[0]))


def test_notes_warnings_and_errors_reach_stderr_through_output_only():
    bad = {
        str(path.relative_to(PACKAGE)): found
        for path in sources()
        if path.name not in STDERR_OWNERS
        and (found := stderr_writes(path.read_text(encoding="utf-8")))
    }
    assert bad == {}


def test_the_stderr_fence_catches_what_it_is_for():
    source = """
import sys, typer
print("job failed", file=sys.stderr)
sys.stderr.write(prompt)
typer.echo("no", err=True)
make_console(stderr=True).print(view)
print(f"arkor-studio: {text}", file=stream)
sink = PlainSink(out=sys.stderr)
print("a line of the command's own output")
sys.stderr.flush()
"""
    assert stderr_writes(source) == [
        "3: print(..., file=sys.stderr)",
        "4: sys.stderr.write(...)",
        "5: typer.echo(..., err=...)",
        "6: make_console(stderr=...)",
        "7: print('arkor-studio...') by hand",
    ]


def test_the_one_private_import_of_a_library_is_still_needed():
    """`cloud/reader.py` imports `SSEDecoder` from httpx-sse's private
    `_decoders` because httpx-sse does not export it (docs/ARCHITECTURE.md).
    When a release does, this fails: import it from `httpx_sse` instead."""
    import httpx_sse

    assert "SSEDecoder" not in httpx_sse.__all__
    assert not hasattr(httpx_sse, "SSEDecoder")
    source = (PACKAGE / "cloud" / "reader.py").read_text()
    assert "from httpx_sse._decoders import SSEDecoder\n" in source
    others = [
        str(path.relative_to(PACKAGE))
        for path in sources()
        if "httpx_sse._" in path.read_text() and path.name != "reader.py"
    ]
    assert others == []
