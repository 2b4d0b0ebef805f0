"""`watch` polls its one job, not the project's jobs list (issue 22, item 1)."""

from __future__ import annotations

import threading
import time

import pytest

from arkor_cli_studio.session import engine
from arkor_cli_studio.simulator import Fault


@pytest.fixture
def fast_poll(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(engine, "POLL_INTERVAL", 0.05)


def running_job(sim, job_id: str = "j", *, others: int = 50, polls: int = 0) -> None:  # type: ignore[no-untyped-def]
    """A running job among `others`; it completes once the server has been
    asked about it `polls` times (by its detail route or the list), however
    slowly a loaded machine runs the watch (a fixed 0.8 s once saw 1 poll)."""
    for i in range(others):  # a project with many jobs
        sim.add_job(f"other-{i}", status="completed")
    sim.add_job(job_id, status="queued")
    sim.emit(job_id, "training.started", {})
    sim.emit(job_id, "training.log", {"step": 1, "loss": 0.5})

    def finish() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            asked = paths(sim)
            if asked.count(f"/v1/jobs/{job_id}") + asked.count("/v1/jobs") >= polls:
                break
            time.sleep(0.01)
        sim.emit(job_id, "training.completed", {"artifacts": []})
        sim.end(job_id)

    threading.Thread(target=finish, daemon=True).start()


def paths(sim) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.path for r in sim.requests if not r.path.endswith("/events/stream")]


def test_each_poll_asks_for_the_one_job_not_the_list(arkor, fast_poll):  # type: ignore[no-untyped-def]
    running_job(arkor.sim, polls=4)
    result = arkor.cli("watch", "j", "--plain", "--no-notify")
    assert result.code == 0, result.stderr
    asked = paths(arkor.sim)
    assert asked.count("/v1/jobs/j") >= 4  # the first poll, then one every 50 ms
    assert "/v1/jobs" not in asked  # no list request, at any poll


def test_without_a_detail_route_the_list_is_polled(arkor, fast_poll):  # type: ignore[no-untyped-def]
    arkor.sim.add_fault("detail:j", Fault(status=404, body='{"error":"Not Found"}'))
    running_job(arkor.sim, polls=4)
    result = arkor.cli("watch", "j", "--plain", "--no-notify")
    assert result.code == 0, result.stderr
    asked = paths(arkor.sim)
    assert asked.count("/v1/jobs/j") == 1  # asked once, then never again
    assert asked.count("/v1/jobs") >= 3
    assert "completed" in result.stdout


def test_the_list_fallback_parses_only_the_job_asked_for(arkor, monkeypatch):  # type: ignore[no-untyped-def]
    from arkor_cli_studio.cloud import client

    running_job(arkor.sim, others=300)
    parsed: list[object] = []
    parse_job = client.parse_jobs

    def counting(body):  # type: ignore[no-untyped-def]
        jobs = parse_job(body)
        parsed.extend(jobs)
        return jobs

    monkeypatch.setattr(client, "parse_jobs", counting)
    with arkor_backend(arkor) as backend:
        job = backend.find_job("j")
    assert job is not None and job.id == "j" and len(parsed) == 1


def test_studio_mode_polls_what_studio_offers(studio_arkor):  # type: ignore[no-untyped-def]
    running_job(studio_arkor.sim)
    backend = studio_arkor.backend()
    try:
        job = backend.poll_job("j")
        job = backend.poll_job("j")
    finally:
        backend.close()
    assert job is not None and job.id == "j"
    assert "/v1/jobs/j" not in paths(studio_arkor.sim)  # Studio has no detail route


def arkor_backend(arkor):  # type: ignore[no-untyped-def]
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.config import Settings
    from tests.helpers import patched_environ

    with patched_environ(arkor.env):
        return connect(Settings(project=arkor.project, env=dict(arkor.env)))
