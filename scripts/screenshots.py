#!/usr/bin/env python3
"""Export the README's pictures as SVG, with Rich, from the demo's data.

Each picture is one function returning a Rich renderable, built from the
same simulated jobs and scenario the `demo` command plays, at a fixed clock
and time zone so the files only change when the rendering does.

    python scripts/screenshots.py            # all pictures, into docs/
    python scripts/screenshots.py jobs       # just one
    python scripts/screenshots.py --check    # exit 1 if a committed SVG drifted

To add a picture: write a function `(…) -> RenderableType` below and add it
to PICTURES. The watch pictures are `render.watch.watch_frame` of a
`JobView` fed the demo's events, exactly what `watch` draws at that moment.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arkor_cli_studio.demo import Planned, Scenario, plan  # noqa: E402
from arkor_cli_studio.model import Event, Job, parse_job  # noqa: E402
from arkor_cli_studio.simulator import Simulator  # noqa: E402
from rich.console import Console, RenderableType  # noqa: E402

DOCS = ROOT / "docs"
WIDTH = 100
HEIGHT = 44  # the watch pictures' terminal height
# The pictures' clock: a fixed moment, shown in UTC.
NOW = datetime(2026, 5, 4, 14, 30, 0, tzinfo=UTC)


# ---- the demo's data, without a server ------------------------------------


def demo_jobs(now: datetime = NOW) -> list[Job]:
    """The jobs `demo --jobs` lists, as the client parses them."""
    from arkor_cli_studio.demo_play import seed_jobs

    with Simulator() as sim:  # only its job table is used
        seed_jobs(sim, now.timestamp())
        jobs = [parse_job(dict(sim.jobs[job_id].job)) for job_id in sim.order]
    return [job for job in jobs if job is not None]


def demo_events(
    until_step: int | None = None, *, fail: bool = False, scenario: Scenario | None = None
) -> list[Event]:
    """The demo run's events (as `cloud.events` would yield them), optionally
    cut after the first `training.log` of `until_step` (a mid-run picture);
    `scenario`: another run than the demo's own (`demo --scenario`)."""
    scenario = scenario or Scenario(fail=fail)
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


def last_time(events: list[Event]) -> datetime:
    """The time of the last event that has one (`end` has none)."""
    return next(e.timestamp for e in reversed(events) if e.timestamp is not None)


def demo_job(events: list[Event], status: str) -> Job:
    """The demo job as the jobs poll returns it, consistent with `events`."""
    from arkor_cli_studio.demo import DEMO_JOB_ID, DEMO_JOB_NAME, job_config
    from arkor_cli_studio.simulator import iso

    first = events[0].timestamp
    started = next((e.timestamp for e in events if e.name == "training.started"), None)
    finished = last_time(events) if status in ("completed", "failed") else None
    created = first.timestamp() - 40 if first is not None else NOW.timestamp()
    obj: dict[str, object] = {
        "id": DEMO_JOB_ID,
        "name": DEMO_JOB_NAME,
        "status": status,
        "config": job_config(Scenario()),
        "createdAt": iso(created),
    }
    if started is not None:
        obj["startedAt"] = iso(started.timestamp())
    if finished is not None:
        obj["completedAt"] = iso(finished.timestamp())
    job = parse_job(obj)
    assert job is not None
    return job


def watch_picture(
    events: list[Event],
    status: str,
    now: datetime,
    *,
    advanced: bool = False,
    alert: tuple[str, bool] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> RenderableType:
    """`watch_frame` of a `JobView` fed `events`; with `advanced`, the panel
    from the same statistics `watch --advanced` feeds on the stream thread,
    and the `[a]` toggle shown as on a terminal; `alert`: the alert banner
    (its line, and whether it still holds)."""
    from arkor_cli_studio.render.advanced import Advanced
    from arkor_cli_studio.render.watch import watch_frame
    from arkor_cli_studio.stats import LiveStats
    from arkor_cli_studio.watching import JobView

    job = demo_job(events, status)
    view = JobView(job.id, job)
    stats = LiveStats() if advanced else None
    if stats is not None:
        view.loss_observers.append(stats.observe)
    for event in events:
        view.apply(event)
    if alert is not None:
        view.apply_alert(*alert)
    if stats is None:
        return watch_frame(view, now, width, height, UTC)
    loss, eval_loss = stats.summaries(fresh=True)
    panel = Advanced(loss, eval_loss, so_far=status not in ("completed", "failed"))
    return watch_frame(view, now, width, height, UTC, advanced=panel, toggle=True)


def watch_running_picture() -> RenderableType:
    """`arkor-studio watch <id>` mid-run: step 70 of 120, a second later."""
    events = demo_events(until_step=70)
    return watch_picture(events, "running", last_time(events) + timedelta(seconds=1))


def watch_small_picture() -> RenderableType:
    """`arkor-studio watch <id>` mid-run on an 80x24 terminal, the size most people have."""
    events = demo_events(until_step=70)
    return watch_picture(
        events, "running", last_time(events) + timedelta(seconds=1), width=80, height=24
    )


def watch_completed_picture() -> RenderableType:
    """`arkor-studio watch <id>` after `training.completed` and `end`."""
    events = demo_events()
    return watch_picture(events, "completed", last_time(events) + timedelta(seconds=1))


def watch_advanced_picture() -> RenderableType:
    """`arkor-studio watch <id> --advanced` mid-run: the Advanced panel live."""
    events = demo_events(until_step=90)
    return watch_picture(events, "running", last_time(events) + timedelta(seconds=1), advanced=True)


def watch_alert_picture() -> RenderableType:
    """`arkor-studio watch <id> --alert eval_rises:3` on a run that overfits
    (`demo --scenario overfit`): the frame a second after the alert fired,
    from the rules `watch` runs on the stream thread."""
    from arkor_cli_studio.alerts import AlertWatch

    scenario = Scenario(kind="overfit")
    rules = AlertWatch.from_texts(scenario.alert_rules())
    events: list[Event] = []
    for event in demo_events(scenario=scenario):
        events.append(event)
        if rules.observe(event):
            break
    fired, holding = rules.latest
    assert fired is not None, "the overfit scenario fires eval_rises:3"
    now = last_time(events) + timedelta(seconds=1)
    return watch_picture(events, "running", now, alert=(fired.line(), holding))


def stats_picture() -> RenderableType:
    """`arkor-studio stats <id>` for the completed demo run: the same series,
    summaries and renderer as the command."""
    from arkor_cli_studio.demo import DEMO_JOB_ID
    from arkor_cli_studio.render.stats import stats_view
    from arkor_cli_studio.stats import series_from_events

    loss, eval_loss = series_from_events(demo_events()).summaries(None)
    title = f"Job {DEMO_JOB_ID} · completed · from the event stream"
    return stats_view(loss, eval_loss, so_far=False, title=title)


def sweep_runs() -> list[object]:
    """Three demo runs of a maxSteps sweep (80, 120, 160 steps), as
    `compare` builds them from their histories."""
    from dataclasses import replace

    from arkor_cli_studio.compare import Run
    from arkor_cli_studio.demo import DEMO_JOB_NAME, job_config
    from arkor_cli_studio.model import Job

    runs = []
    for steps, seed in ((80, 11), (120, 12), (160, 13)):
        scenario = replace(Scenario(), steps=steps, seed=seed)
        created = NOW.timestamp() - (plan(scenario)[-1].at / scenario.speed)
        events = [_event(p, i, created, scenario) for i, p in enumerate(plan(scenario), 1)]
        job = Job(
            f"sweep-{steps}", f"{DEMO_JOB_NAME}-{steps}", "completed", config=job_config(scenario)
        )
        runs.append(Run(job, True).feed_all(events))
    return runs


def compare_picture() -> RenderableType:
    """`arkor-studio compare` of the three sweep runs: the renderer `compare` uses."""
    from arkor_cli_studio.render.compare import compare_view

    return compare_view(sweep_runs(), "loss", WIDTH)  # type: ignore[arg-type]


def board_picture() -> RenderableType:
    """`arkor-studio jobs --follow` on a terminal: the board, the second job
    selected, the running job's progress and loss from its stream."""
    from arkor_cli_studio.board import Board
    from arkor_cli_studio.render.board import board_view

    board = Board()
    board.update(demo_jobs())
    events = demo_events(until_step=70)
    for job in board.jobs:
        if job.status == "running":
            live = board.live_for(job.id)
            live.total = 120
            for event in events:
                if event.name == "training.log" and event.step is not None:
                    live.step = event.step
                    if event.loss is not None:
                        live.losses.append(event.loss)
    board.key("down", NOW)
    return board_view(board, NOW, WIDTH, 14)


# name -> (picture, terminal title)
#: name -> (picture, title[, width]): docs/<name>.svg
PICTURES: dict[
    str, tuple[Callable[[], RenderableType], str] | tuple[Callable[[], RenderableType], str, int]
] = {
    "jobs": (jobs_picture, "arkor-studio jobs"),
    "watch-80x24": (watch_small_picture, "arkor-studio watch cm9x2k7q40001demo8r3tv5wz", 80),
    "watch-running": (watch_running_picture, "arkor-studio watch cm9x2k7q40001demo8r3tv5wz"),
    "watch-completed": (watch_completed_picture, "arkor-studio watch cm9x2k7q40001demo8r3tv5wz"),
    "watch-advanced": (
        watch_advanced_picture,
        "arkor-studio watch cm9x2k7q40001demo8r3tv5wz --advanced",
    ),
    "watch-alert": (
        watch_alert_picture,
        "arkor-studio watch cm9x2k7q40001demo8r3tv5wz --alert eval_rises:3",
    ),
    "stats": (stats_picture, "arkor-studio stats cm9x2k7q40001demo8r3tv5wz"),
    "board": (board_picture, "arkor-studio jobs --follow"),
    "compare": (compare_picture, "arkor-studio compare sweep-80 sweep-120 sweep-160"),
}


def render_svg(picture: Callable[[], RenderableType], title: str, width: int = WIDTH) -> str:
    console = Console(
        file=io.StringIO(),
        record=True,
        width=width,
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
        svg = render_svg(*PICTURES[name])
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
