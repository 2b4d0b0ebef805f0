"""The committed pictures show what the renderers draw now (from the demo's data)."""

from __future__ import annotations

import html
import importlib.util
import re

import pytest

from tests.helpers import ROOT


def _script():  # type: ignore[no-untyped-def]
    path = ROOT / "scripts" / "screenshots.py"
    spec = importlib.util.spec_from_file_location("screenshots", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _svg_text(svg: str) -> list[str]:
    """The words of an SVG exported by Rich (one <text> per styled span)."""
    spans = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return " ".join(html.unescape(span) for span in spans).split()


# What each picture must show, beyond matching the renderer.
EXPECTED = {
    "jobs": ["Warming", "running", "completed", "failed", "cancelled"],
    "watch-running": ["running", "58%", "70/120", "ETA", "Eval", "step=70"],
    "watch-80x24": ["running", "58%", "70/120", "ETA", "Eval", "step=70"],
    "watch-completed": ["completed", "100%", "120/120", "4", "training.completed"],
    "watch-advanced": ["Advanced", "[a]", "Points", "90", "8", "So", "far:", "step=90"],
    "watch-alert": ["ALERT", "eval_rises:3", "step", ">", "Eval"],
    "stats": ["Training", "Eval", "Points", "120", "12", "p95", "completed"],
    "board": ["Jobs", "▶", "70", "/120", "q", "quit", "running"],
    "compare": ["Comparing", "sweep-80", "sweep-160", "lowest", "maxSteps", "Points", "160"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_committed_svg_matches_the_renderer(name: str) -> None:
    script = _script()
    assert set(script.PICTURES) == set(EXPECTED)
    committed = (ROOT / "docs" / f"{name}.svg").read_text(encoding="utf-8")
    fresh = script.render_svg(*script.PICTURES[name])
    # Compare the words, not the bytes: Rich's SVG markup may change between
    # versions; the picture's content must not drift from the renderer.
    # (Regenerate with `python scripts/screenshots.py`.)
    assert _svg_text(committed) == _svg_text(fresh)
    words = _svg_text(committed)
    for word in EXPECTED[name]:
        assert word in words, word


def test_readme_shows_every_picture() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in EXPECTED:
        assert f"](docs/{name}.svg)" in readme, name


def test_demo_events_for_the_watch_pictures():
    script = _script()
    mid = script.demo_events(until_step=70)
    assert mid[0].name == "training.started"
    assert mid[-1].name == "training.log" and mid[-1].step == 70
    whole = script.demo_events()
    assert [e.name for e in whole[-2:]] == ["training.completed", "end"]
    stamps = [e.timestamp for e in whole[:-1]]
    assert stamps == sorted(stamps) and stamps[-1] <= script.NOW
