"""Fences for our own layers (docs/ARCHITECTURE.md), beside the linter's.

ruff enforces the folders (`render/`, `cloud/`, `session/` each have a
ruff.toml banning the layers above them). What ruff cannot say per file or
about private names is checked here, from the source's import statements:
- the state modules (`model`, `watching`, `event_text`, `stats`, `progress`, `jobinfo`)
  import no layer above them (`render/`, `cloud/`, `commands/`, `session/`, `app`);
- no module imports another module's private names (`from x import _y`,
  `x._y`), nor a private module of another package.
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
