"""The demo's run played into the simulator (stdlib only).

`Player` replays a `demo.plan()` in a thread, `speed` times faster than
real, emitting into a `Simulator`: event timestamps are the job's creation
time plus simulated time divided by `speed`, so they agree with the wall
clock (and with the job's createdAt/startedAt) while keeping the run's
shape. Also here: the few jobs `demo --jobs` lists, and `demo --serve`'s.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from arkor_cli_studio.demo import (
    DEMO_JOB_ID,
    DEMO_JOB_NAME,
    OOM_ERROR,
    Planned,
    Scenario,
    job_config,
    plan,
)
from arkor_cli_studio.model import END
from arkor_cli_studio.simulator import Simulator, iso


def add_demo_job(sim: Simulator, scenario: Scenario, created: float) -> str:
    """The demo's job, queued (warming up) at `created` (epoch seconds)."""
    sim.add_job(
        DEMO_JOB_ID,
        name=DEMO_JOB_NAME,
        status="queued",
        created_at=created,
        config=job_config(scenario),
    )
    return DEMO_JOB_ID


class Player:
    """Plays a scenario's plan into the simulator, in a daemon thread."""

    def __init__(self, sim: Simulator, job_id: str, scenario: Scenario, *, created: float) -> None:
        self.sim = sim
        self.job_id = job_id
        self.scenario = scenario
        self.created = created
        self.plan = plan(scenario)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-player", daemon=True)
        self.done = threading.Event()

    def start(self) -> Player:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def moment(self, planned: Planned) -> float:
        """The wall-clock time (epoch seconds) of a planned event."""
        return self.created + planned.at / self.scenario.speed

    def _run(self) -> None:
        try:
            for planned in self.plan:
                due = self.moment(planned)
                delay = due - time.time()
                if delay > 0 and self._stop.wait(delay):
                    return
                if self._stop.is_set():
                    return
                if self.sim.jobs[self.job_id].job.get("status") == "cancelled":
                    return  # cancelled through the API: the cloud stops the run
                if planned.event == END:
                    self.sim.end(self.job_id)
                else:
                    self.sim.emit(self.job_id, planned.event, planned.payload, timestamp=iso(due))
        finally:
            self.done.set()


# --------------------------------------------------------------------------
# `demo --jobs`: a few jobs in every state Studio's list shows


# Long on purpose: a data table: the demo project's other jobs.
def seed_jobs(sim: Simulator, now: float) -> list[str]:
    """Five jobs, newest first: warming up, running, completed, failed, cancelled."""
    minute, hour = 60.0, 3600.0

    def hf(name: str, subset: str | None = None, split: str = "train") -> dict[str, Any]:
        source: dict[str, Any] = {"type": "huggingface", "name": name, "split": split}
        if subset:
            source["subset"] = subset
        return source

    def config(model: str, dataset: dict[str, Any], steps: int) -> dict[str, Any]:
        return {
            "model": model,
            "datasetSource": dataset,
            "maxSteps": steps,
            "learningRate": 2e-4,
            "numTrainEpochs": 1,
            "batchSize": 4,
            "loraR": 16,
            "loraAlpha": 32,
        }

    jobs: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = [
        (
            "cm9x2m1d80007demo4k2hq9bn",
            "support-triage-llama3.2-1b",
            "queued",
            config(
                "meta-llama/Llama-3.2-1B-Instruct",
                hf("bitext/Bitext-customer-support-llm-chatbot-training-dataset"),
                300,
            ),
            {"createdAt": iso(now - 20)},
        ),
        (
            DEMO_JOB_ID,
            DEMO_JOB_NAME,
            "running",
            job_config(Scenario()),
            {"createdAt": iso(now - 9 * minute), "startedAt": iso(now - 8 * minute)},
        ),
        (
            "cm9wzt5e10003demo7y6pd2cx",
            "gsm8k-reasoning-qwen2.5-1.5b",
            "completed",
            config("Qwen/Qwen2.5-1.5B-Instruct", hf("openai/gsm8k", "main"), 500),
            {
                "createdAt": iso(now - 2 * hour - 14 * minute),
                "startedAt": iso(now - 2 * hour - 13 * minute),
                "completedAt": iso(now - 2 * hour - 2 * minute),
            },
        ),
        (
            "cm9wq8h3v0002demo1m5rk7fj",
            "sql-assistant-llama3.2-3b",
            "failed",
            config("meta-llama/Llama-3.2-3B-Instruct", hf("b-mc2/sql-create-context"), 800),
            {
                "createdAt": iso(now - 5 * hour - 40 * minute),
                "startedAt": iso(now - 5 * hour - 39 * minute),
                "completedAt": iso(now - 5 * hour - 31 * minute),
                "error": OOM_ERROR,
            },
        ),
        (
            "cm9v4c0n20001demo9e8ws3ul",
            "haiku-writer-smollm2-360m",
            "cancelled",
            config(
                "HuggingFaceTB/SmolLM2-360M-Instruct",
                {"type": "blob", "url": "https://datasets.example.com/haiku-4k.jsonl"},
                200,
            ),
            {
                "createdAt": iso(now - 26 * hour),
                "startedAt": iso(now - 26 * hour + 50),
                "completedAt": iso(now - 25 * hour - 52 * minute),
            },
        ),
    ]
    for job_id, name, status, cfg, times in jobs:
        created = times.pop("createdAt")
        sim.add_job(job_id, name=name, status=status, created_at=created, config=cfg, **times)
    return [job[0] for job in jobs]


# --------------------------------------------------------------------------
# `demo --serve`: several jobs to try every command on


@dataclass(frozen=True)
class Served:
    """What `demo --serve` put in the simulator, for the lines it prints."""

    sweep: list[str]  # completed runs with their whole history (compare, stats)
    live: list[str]  # runs played live (watch, wait, the board, cancel)
    players: list[Player]


def replay_history(sim: Simulator, job_id: str, scenario: Scenario, created: float) -> None:
    """Every event of `scenario` at once, stamped as if it ran from `created`."""
    for planned in plan(scenario):
        if planned.event == END:
            sim.end(job_id)
        else:
            moment = created + planned.at / scenario.speed
            sim.emit(job_id, planned.event, planned.payload, timestamp=iso(moment))


def seed_serve(sim: Simulator, now: float, *, speed: float = 2.0) -> Served:
    """A maxSteps sweep that finished an hour ago (three runs with their
    histories), and three runs played live from now: one that completes,
    one that runs out of GPU memory, one still queued for a GPU."""
    sweep = []
    for steps, seed in ((80, 11), (120, 12), (160, 13)):
        scenario = Scenario(steps=steps, seed=seed, speed=1.0)
        created = now - 3600 - plan(scenario)[-1].at
        job_id = f"sweep-{steps}"
        sim.add_job(
            job_id,
            name=f"{DEMO_JOB_NAME}-steps{steps}",
            status="queued",
            created_at=created,
            config=job_config(scenario),
        )
        replay_history(sim, job_id, scenario, created)
        sweep.append(job_id)
    players = []
    live = []
    for job_id, scenario, delay in (
        ("live-ok", Scenario(steps=200, seed=21, speed=speed), 0.0),
        ("live-oom", Scenario(steps=200, seed=22, speed=speed, fail=True), 0.0),
        ("live-queued", Scenario(steps=120, seed=23, speed=speed, warmup=240.0), 0.0),
    ):
        created = now + delay
        sim.add_job(
            job_id,
            name=f"{DEMO_JOB_NAME}-{job_id}",
            status="queued",
            created_at=created,
            config=job_config(scenario),
        )
        players.append(Player(sim, job_id, scenario, created=created))
        live.append(job_id)
    return Served(sweep, live, players)
