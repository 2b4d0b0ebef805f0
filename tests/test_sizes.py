"""Issue 18's size limits, so that drift fails CI: no module in
arkor_cli_studio/ over MODULE_LINES lines and no function over
FUNCTION_LINES lines, unless it is allowed below with its reason; an
allowed function also carries a `# Long on purpose: ...` comment right
above its `def` (or its decorators), and an allowed module one at its top
level, for the reader of the code.

An allowance that is no longer needed fails too: the lists stay true.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "arkor_cli_studio"
MODULE_LINES = 400
FUNCTION_LINES = 60
MARK = "# Long on purpose:"
#: A reason that says the split waits for another piece of work (then the
#: code carries no comment yet: its owner is changing it).
PENDING = "waits for"

#: Modules over MODULE_LINES, and why (path relative to arkor_cli_studio/).
LONG_MODULES: dict[str, str] = {
    "cloud/client.py": "the cloud Backend, one class a server (its plumbing is cloud/http.py)",
    "cloud/events.py": "the retry loop and one connection's reader: one protocol's two halves",
    "model.py": "the events, the job and its times: the bottom layer's one vocabulary",
}

#: Functions over FUNCTION_LINES, and why ("path::qualified.name").
LONG_FUNCTIONS: dict[str, str] = {
    "app.py::root": "a Typer callback: mostly the global options' declarations",
    "cloud/events.py::follow_event_batches": "the retry loop, every outcome in one place",
    "cloud/events.py::_connection": "the per-event hot loop of every watch",
    "commands/compare.py::compare": "a Typer command: mostly its parameter declarations",
    "commands/demo.py::demo": "a Typer command: mostly its parameter declarations",
    "commands/jobs.py::jobs": "a Typer command: mostly its parameter declarations",
    "commands/stats.py::stats": "a Typer command: mostly its parameter declarations",
    "commands/train.py::train": "a Typer command: mostly its parameter declarations",
    "commands/wait.py::wait": "a Typer command: mostly its parameter declarations",
    "commands/watch.py::watch": "a Typer command: mostly its parameter declarations",
    "demo.py::plan": "a data table: each scenario's events, in order",
    "demo_play.py::seed_jobs": "a data table: the demo project's other jobs",
    "render/joblist.py::object_rows": "the hot path of `jobs` over 50,000 objects, inlined",
    "render/watch.py::watch_frame": "the frame's row budget, in priority order, read top to bottom",
    "session/live.py::LiveSink.run": "one loop: wait, coalesce, draw; its timing reads as one",
}


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _functions(tree: ast.AST) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(qualified name, node) of every function, methods as `Class.method`."""
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((prefix + child.name, child))
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def _length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    return (node.end_lineno or node.lineno) - node.lineno + 1


def _marked(source: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A `# Long on purpose:` comment just above the def or its decorators."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    above = first - 2  # the line above, 0-based
    while above >= 0 and source[above].strip().startswith("#"):
        if source[above].strip().startswith(MARK):
            return True
        above -= 1
    return False


def module_marked(source: list[str]) -> bool:
    """A `# Long on purpose:` comment at the module's top level."""
    return any(line.startswith(MARK) for line in source)


def measure(package: Path) -> tuple[dict[str, int], dict[str, tuple[int, bool]]]:
    """Modules over the limit -> lines; functions over it -> (lines, marked)."""
    modules: dict[str, int] = {}
    functions: dict[str, tuple[int, bool]] = {}
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix()
        text = path.read_text(encoding="utf-8")
        if _lines(path) > MODULE_LINES:
            modules[name] = _lines(path)
        source = text.splitlines()
        for qualname, node in _functions(ast.parse(text)):
            if _length(node) > FUNCTION_LINES:
                functions[f"{name}::{qualname}"] = (_length(node), _marked(source, node))
    return modules, functions


def test_no_module_is_over_the_limit_without_a_reason():
    modules, _ = measure(PACKAGE)
    assert sorted(set(modules) - set(LONG_MODULES)) == [], modules
    assert sorted(set(LONG_MODULES) - set(modules)) == [], "no longer long: drop from the list"
    unmarked = sorted(
        name
        for name in modules
        if not LONG_MODULES[name].startswith(PENDING)
        and not module_marked((PACKAGE / name).read_text(encoding="utf-8").splitlines())
    )
    assert unmarked == [], f"say why at the module's top level: {MARK} ..."


def test_no_function_is_over_the_limit_without_a_reason():
    _, functions = measure(PACKAGE)
    assert sorted(set(functions) - set(LONG_FUNCTIONS)) == [], functions
    assert sorted(set(LONG_FUNCTIONS) - set(functions)) == [], "no longer long: drop from the list"
    unmarked = sorted(
        name
        for name, (_, marked) in functions.items()
        if not marked and not LONG_FUNCTIONS[name].startswith(PENDING)
    )
    assert unmarked == [], f"say why above the def: {MARK} ..."


def test_the_limits_catch_what_they_are_for(tmp_path: Path):
    package = tmp_path / "pkg"
    package.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES))
    method = "\n".join("    " + line for line in body.splitlines())
    text = (
        f"def plain():\n{body}\n\n\n"
        f"class K:\n    {MARK} a table\n    @staticmethod\n    def table():\n{method}\n\n"
        f"    def short(self):\n        return 1\n" + "\n" * MODULE_LINES
    )
    (package / "long.py").write_text(text)
    (package / "short.py").write_text("def f():\n    return 1\n")
    modules, functions = measure(package)
    assert modules == {"long.py": len(text.splitlines())}
    assert not module_marked(text.splitlines())  # (the method's mark is indented)
    assert module_marked([f"{MARK} a table", "x = 1"])
    assert functions == {
        "long.py::plain": (FUNCTION_LINES + 1, False),
        "long.py::K.table": (FUNCTION_LINES + 1, True),
    }
