"""Deterministic demo runs for the CI-surface tests: the demo's plan as the
events a stream delivers, at fixed times, fed through the pure reporters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from arkor_cli_studio.demo import DEMO_JOB_ID, DEMO_JOB_NAME, Scenario, job_config, plan
from arkor_cli_studio.model import END, Event, Job, parse_job
from arkor_cli_studio.watching import JobView

CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@dataclass
class DemoRun:
    scenario: Scenario
    queued: Job
    final: Job
    events: list[Event]

    @property
    def ended_at(self) -> datetime:
        return self.final.completed_at or CREATED


def demo_run(scenario: Scenario) -> DemoRun:
    """The demo's events at real speed (speed 1) from CREATED."""
    planned = plan(scenario)
    events = []
    started = None
    for index, item in enumerate(planned, 1):
        when = CREATED + timedelta(seconds=item.at)
        if item.event == END:
            events.append(Event(END, str(index), {}))
            continue
        if started is None:
            started = when
        data = {"type": item.event, "jobId": DEMO_JOB_ID, "timestamp": iso(when), **item.payload}
        events.append(Event(item.event, str(index), data))
    end = CREATED + timedelta(seconds=planned[-1].at)
    common = {"id": DEMO_JOB_ID, "name": DEMO_JOB_NAME, "config": job_config(scenario)}
    queued = parse_job({**common, "status": "queued", "createdAt": iso(CREATED)})
    final = parse_job(
        {
            **common,
            "status": "failed" if scenario.fail else "completed",
            "createdAt": iso(CREATED),
            "startedAt": iso(started or CREATED),
            "completedAt": iso(end),
            "error": None,
        }
    )
    assert queued is not None and final is not None
    return DemoRun(scenario, queued, final, events)


def new_view(run: DemoRun) -> JobView:
    return JobView(DEMO_JOB_ID, run.queued)
