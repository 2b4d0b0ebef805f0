#!/usr/bin/env python3
"""Export the README's pictures as SVG, with Rich, from the demo's data.

Each picture is one function returning a Rich renderable, built from the
same simulated jobs and scenario the `demo` command plays, at a fixed clock
and time zone so the files only change when the rendering does.

    python scripts/screenshots.py            # all pictures, into docs/
    python scripts/screenshots.py jobs       # just one
    python scripts/screenshots.py --check    # exit 1 if a committed SVG drifted

To add a picture: write a function `(…) -> RenderableType` below and add it
to PICTURES. `watch_running`, `watch_completed` and `stats` are stubs with
what they need, ready for when `render.watch` / `render.stats` exist.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arkor_cli_studio.demo import Planned, Scenario, plan  # noqa: E402
from arkor_cli_studio.model import Event, Job, parse_job  # noqa: E402
from arkor_cli_studio.simulator import Simulator  # noqa: E402
from rich.console import Console, RenderableType  # noqa: E402

DOCS = ROOT / "docs"
WIDTH = 100
# The pictures' clock: a fixed moment, shown in UTC.
NOW = datetime(2026, 5, 4, 14, 30, 0, tzinfo=UTC)


# ---- the demo's data, without a server ------------------------------------


def demo_jobs(now: datetime = NOW) -> list[Job]:
    """The jobs `demo --jobs` lists, as the client parses them."""
    from arkor_cli_studio.demo import seed_jobs

    with Simulator() as sim:  # only its job table is used
        seed_jobs(sim, now.timestamp())
        jobs = [parse_job(dict(sim.jobs[job_id].job)) for job_id in sim.order]
    return [job for job in jobs if job is not None]


def demo_events(until_step: int | None = None, *, fail: bool = False) -> list[Event]:
    """The demo run's events (as `cloud.events` would yield them), optionally
    cut after the first `training.log` of `until_step` (a mid-run picture)."""
    scenario = Scenario(fail=fail)
    created = NOW.timestamp() - (plan(scenario)[-1].at / scenario.speed)
    events: list[Event] = []
    for index, planned in enumerate(plan(scenario), start=1):
        events.append(_event(planned, index, created, scenario))
        if planned.event == "training.log" and planned.payload.get("step") == until_step:
            break
    return events


def _event(planned: Planned, index: int, created: float, scenario: Scenario) -> Event:
    from arkor_cli_studio.simulator import iso

    data = {
        "type": planned.event,
        "jobId": "demo",
        "timestamp": iso(created + planned.at / scenario.speed),
        **planned.payload,
    }
    return Event(planned.event, str(index), data if planned.event != "end" else {})


# ---- the pictures ------------------------------------------------------------


def jobs_picture() -> RenderableType:
    """`arkor-studio jobs`: one job in each state Studio's list shows."""
    from arkor_cli_studio.render.jobs import jobs_view

    return jobs_view(demo_jobs(), NOW, UTC)


def watch_running_picture() -> RenderableType:
    """`arkor-studio watch <id>` mid-run (TODO(lead): once render.watch exists).

    Feed `demo_events(until_step=70)` into the watch state
    (`watching.JobView.apply`) for the running demo job, then return the
    watch renderer's frame for that state at NOW.
    """
    raise NotImplementedError("needs render.watch (on the watch branch)")


def watch_completed_picture() -> RenderableType:
    """`arkor-studio watch <id>` after `training.completed` (TODO(lead)).

    As above with `demo_events()` (the whole run), job status completed.
    """
    raise NotImplementedError("needs render.watch (on the watch branch)")


def stats_picture() -> RenderableType:
    """`arkor-studio stats <id>` for the completed demo run (TODO(lead)).

    Losses from `demo_events()`: `e.loss` / `e.eval_loss` of the
    `training.log` events, through `stats` and its renderer.
    """
    raise NotImplementedError("needs render.stats (on the stats branch)")


# name -> (picture, terminal title). Add watch-running, watch-completed and
# stats here when their functions above are filled in.
PICTURES: dict[str, tuple[Callable[[], RenderableType], str]] = {
    "jobs": (jobs_picture, "arkor-studio jobs"),
}


def render_svg(picture: Callable[[], RenderableType], title: str) -> str:
    console = Console(
        file=io.StringIO(),
        record=True,
        width=WIDTH,
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
        highlight=False,
        markup=False,
        emoji=False,
    )
    console.print(picture())
    return console.export_svg(title=title)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    names = [arg for arg in argv if not arg.startswith("-")] or list(PICTURES)
    unknown = [name for name in names if name not in PICTURES]
    if unknown:
        print(f"unknown picture(s): {', '.join(unknown)}; known: {', '.join(PICTURES)}")
        return 2
    drifted = []
    for name in names:
        picture, title = PICTURES[name]
        svg = render_svg(picture, title)
        path = DOCS / f"{name}.svg"
        if path.exists() and path.read_text(encoding="utf-8") == svg:
            continue
        drifted.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(svg, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if check and drifted:
        for path in drifted:
            print(f"drifted: {path.relative_to(ROOT)} (run python scripts/screenshots.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
