"""The README's picture of the job summary shows what the summary says now."""

from __future__ import annotations

import html
import importlib.util
import re

from tests.helpers import ROOT


def _script():  # type: ignore[no-untyped-def]
    path = ROOT / "scripts" / "summary_picture.py"
    spec = importlib.util.spec_from_file_location("summary_picture", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _words(svg: str) -> list[str]:
    spans = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return " ".join(html.unescape(span) for span in spans).split()


def test_committed_picture_matches_the_summary() -> None:
    script = _script()
    committed = (ROOT / "docs" / "job-summary.svg").read_text(encoding="utf-8")
    # Words, not bytes (Rich's SVG markup may change); regenerate with
    # `python scripts/summary_picture.py`.
    words = _words(committed)
    assert words == _words(script.render_svg())
    for word in ("smoltalk-chat-qwen2.5-0.5b:", "completed", "0.4430", "Points", "p95"):
        assert word in words, word
    assert "(docs/job-summary.svg)" in (ROOT / "README.md").read_text(encoding="utf-8")
