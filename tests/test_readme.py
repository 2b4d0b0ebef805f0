"""README.md is assembled from docs/readme/ and its commands are real."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import ROOT


def test_readme_is_built_from_its_sections() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_readme.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    demo = text.index("<!-- demo-command -->")
    tests = text.index("<!-- test-command -->")
    first_section = text.index("\n## ")
    assert demo < tests < first_section
    assert "arkor-studio demo" in text[demo:tests]
    assert "python -m pytest" in text[tests:first_section]


def test_every_local_link_exists() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#:]+)\)", text)
    assert targets
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert missing == []


def test_tables_have_no_stray_pipes() -> None:
    """A `|` inside a table cell must be escaped, or the row gains a column."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    fenced = False
    widths: list[int] = []
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or not line.startswith("|"):
            widths = []
            continue
        cells = len(re.findall(r"(?<!\\)\|", line))
        if widths:
            assert cells == widths[0], line
        widths.append(cells)
