#!/usr/bin/env python3
"""Export the README's picture of the GitHub Actions job summary, as SVG.

The Markdown is what `watch` appends to `$GITHUB_STEP_SUMMARY` for the
demo's completed run (at fixed times: `tests/ci_runs.py`), drawn by Rich's
Markdown renderer. Where GitHub draws each Mermaid block as a line chart,
the picture draws the same points with asciichartpy (and says so).

    python scripts/summary_picture.py            # writes docs/job-summary.svg
    python scripts/summary_picture.py --check    # exit 1 if the committed SVG drifted
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asciichartpy  # noqa: E402
from arkor_cli_studio.demo import Scenario  # noqa: E402
from arkor_cli_studio.render.summary import summary_markdown  # noqa: E402
from arkor_cli_studio.runfacts import RunFacts, outcome_of  # noqa: E402
from arkor_cli_studio.stats import ChartSeries  # noqa: E402
from rich.console import Console, Group, RenderableType  # noqa: E402
from rich.markdown import Markdown  # noqa: E402
from rich.panel import Panel  # noqa: E402
from rich.text import Text  # noqa: E402
from tests.ci_runs import demo_run, new_view  # noqa: E402

OUT = ROOT / "docs" / "job-summary.svg"
WIDTH = 100
MERMAID = re.compile(r"```mermaid\n(.*?)```\n", re.S)
TITLE = "GitHub Actions job summary ($GITHUB_STEP_SUMMARY) of the demo run"


def summary_text() -> str:
    """The summary Markdown of the demo's completed run."""
    run = demo_run(Scenario())
    view = new_view(run)
    facts, series = RunFacts(), ChartSeries()
    for event in run.events:
        view.apply(event)
        facts.observe(event)
        series.feed(event)
    view.apply_job(run.final)
    outcome = outcome_of(view, view.status, 0, run.ended_at)
    return summary_markdown(outcome, facts, *series.summaries())


def _chart(block: str) -> RenderableType:
    """A Mermaid xychart block drawn as GitHub would: a titled line chart."""
    title = re.search(r'title "([^"]*)"', block)
    values = [float(v) for v in re.search(r"line \[([^\]]*)\]", block).group(1).split(",")]  # type: ignore[union-attr]
    steps = re.search(r'x-axis "step" (\S+) --> (\S+)', block)
    columns = 60  # spread over the same width, however many points (as GitHub does)
    spread = [values[min(len(values) - 1, i * len(values) // columns)] for i in range(columns)]
    plot = asciichartpy.plot(spread, {"height": 8, "format": "{:8.3f}"})
    caption = f"step {steps.group(1)} → {steps.group(2)}" if steps else ""
    return Panel(
        Text.from_ansi(plot),
        title=title.group(1) if title else "",
        subtitle=f"{caption} (Mermaid xychart: GitHub draws it)",
        expand=False,
    )


def renderable(markdown: str) -> RenderableType:
    parts: list[RenderableType] = []
    position = 0
    for match in MERMAID.finditer(markdown):
        parts.append(Markdown(markdown[position : match.start()]))
        parts.append(_chart(match.group(1)))
        position = match.end()
    parts.append(Markdown(markdown[position:]))
    return Group(*parts)


def render_svg() -> str:
    console = Console(file=io.StringIO(), record=True, width=WIDTH, color_system="truecolor")
    console.print(renderable(summary_text()))
    return console.export_svg(title=TITLE)


def main(argv: list[str]) -> int:
    svg = render_svg()
    if "--check" in argv:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == svg
        print("up to date" if same else f"{OUT.name} drifted: run scripts/summary_picture.py")
        return 0 if same else 1
    OUT.write_text(svg, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
