"""The committed pictures show what the renderers draw now (from the demo's data)."""

from __future__ import annotations

import html
import importlib.util
import re

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


def test_committed_jobs_svg_matches_the_renderer():
    script = _script()
    assert set(script.PICTURES) >= {"jobs"}
    committed = (ROOT / "docs" / "jobs.svg").read_text(encoding="utf-8")
    fresh = script.render_svg(*script.PICTURES["jobs"])
    # Compare the words, not the bytes: Rich's SVG markup may change between
    # versions; the picture's content must not drift from the renderer.
    assert _svg_text(committed) == _svg_text(fresh)
    words = _svg_text(committed)
    for status in ("Warming", "running", "completed", "failed", "cancelled"):
        assert status in words


def test_demo_events_for_the_watch_pictures():
    script = _script()
    mid = script.demo_events(until_step=70)
    assert mid[0].name == "training.started"
    assert mid[-1].name == "training.log" and mid[-1].step == 70
    whole = script.demo_events()
    assert [e.name for e in whole[-2:]] == ["training.completed", "end"]
    stamps = [e.timestamp for e in whole[:-1]]
    assert stamps == sorted(stamps) and stamps[-1] <= script.NOW
