"""The same end-to-end scenarios in both modes give the same output.

Each scenario is built twice on fresh servers: once for the cloud API
directly, once behind the fake `arkor dev` (`tests/studio_server.py`, which
checks the Host header and the per-launch token as the real one does). The
CLI runs the same arguments in both; the exit codes and stdout must be
identical, and stdout must hold what the scenario is about (so a scenario
that prints nothing in both modes fails too). Studio mode must also have
gone through Studio's routes only, with the token in the header only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from arkor_cli_studio.simulator import Fault, Simulator
from tests.conftest import ModeArkor
from tests.helpers import STUDIO_TOKEN, TOKEN, Result
from tests.studio_server import FakeStudio

FAST = {"ARKOR_STUDIO_RETRY_SCALE": "0.01"}
MODES = ("cloud", "studio")
Scenario = Callable[[Simulator], None]


def at(seconds: int) -> str:
    return f"2026-03-01T12:{seconds // 60:02d}:{seconds % 60:02d}Z"


@dataclass
class Run:
    result: Result
    arkor: ModeArkor

    @property
    def studio(self) -> FakeStudio:
        assert self.arkor.studio is not None
        return self.arkor.studio


class TwoModes:
    """Runs one scenario + command line in each mode, each on its own servers."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.count = 0

    def run(
        self,
        scenario: Scenario,
        *args: str,
        subprocess: bool = False,
        prepare: Callable[[ModeArkor], None] = lambda arkor: None,
        **env: str,
    ) -> dict[str, Run]:
        runs: dict[str, Run] = {}
        for mode in MODES:
            self.count += 1
            tmp = self.tmp / f"{mode}-{self.count}"
            with Simulator(token=TOKEN, org="acme", project="demo", ping_interval=0.5) as sim:
                scenario(sim)
                if mode == "cloud":
                    arkor = ModeArkor(tmp, sim, None)
                    prepare(arkor)
                    result = arkor.run(*args, **env) if subprocess else arkor.cli(*args, **env)
                else:
                    with FakeStudio(sim) as studio:
                        arkor = ModeArkor(tmp, sim, studio)
                        prepare(arkor)
                        result = arkor.run(*args, **env) if subprocess else arkor.cli(*args, **env)
            runs[mode] = Run(result, arkor)
        for run in runs.values():
            assert STUDIO_TOKEN not in run.result.output and TOKEN not in run.result.output
            assert "Traceback" not in run.result.stderr
        studio = runs["studio"]
        assert studio.studio.requests, "Studio mode sent nothing to Studio"
        for request in studio.studio.requests:
            assert request.target.startswith("/api/"), request.target
            assert "studioToken" not in request.target and STUDIO_TOKEN not in request.target
            assert request.headers.get("x-arkor-studio-token") == STUDIO_TOKEN
            assert request.headers.get("host") == f"127.0.0.1:{studio.studio.port}"
            assert "authorization" not in request.headers  # the cloud token stays home
        assert not any(r.path.startswith("/api/") for r in runs["cloud"].arkor.sim.requests), (
            "cloud mode asked a Studio route"
        )
        return runs


@pytest.fixture
def both(tmp_path: Path) -> Iterator[TwoModes]:
    yield TwoModes(tmp_path)


def same(runs: dict[str, Run], *, stdout: Callable[[str], str] = lambda s: s) -> Result:
    """Both modes exited alike and printed the same stdout; the cloud's result."""
    cloud, studio = runs["cloud"].result, runs["studio"].result
    assert cloud.code == studio.code, (cloud, studio)
    assert stdout(cloud.stdout) == stdout(studio.stdout), (cloud.stdout, studio.stdout)
    return cloud


# ---- scenarios ---------------------------------------------------------------------


def run_scenario(
    job_id: str = "j1",
    *,
    steps: int = 12,
    end: str = "completed",
    name: str = "faq-bot",
    detail_events: bool = True,
) -> Scenario:
    """A run with checkpoints, eval losses and awkward frames; it ends as `end`
    (`completed`, `failed`, `cancelled`, or `running`: still going)."""

    def build(sim: Simulator) -> None:
        sim.add_job(
            job_id,
            name=name,
            status="queued",
            created_at="2026-03-01T11:59:00Z",
            config={"model": "unsloth/gemma-3-270m-it", "maxSteps": steps},
            # Where the cloud's detail carries the events, Studio replays the stream.
            detail_events=detail_events,
        )
        sim.emit(job_id, "training.started", {"metadata": {"gpu": "A100"}}, timestamp=at(0))
        for step in range(1, steps + 1):
            payload: dict[str, object] = {"step": step, "loss": round(2.0 / step, 4)}
            if step % 4 == 0:
                payload["evalLoss"] = round(2.5 / step, 4)
            sim.emit(job_id, "training.log", payload, timestamp=at(2 * step))
            if step % 5 == 0:
                sim.emit(
                    job_id,
                    "checkpoint.saved",
                    {"step": step, "artifacts": [{"pathname": f"ckpt/{step}/adapter"}]},
                    timestamp=at(2 * step + 1),
                )
        sim.emit(job_id, "brand.new.event", {"x": 1})  # unknown: skipped in both modes
        sim.emit(job_id, "training.log", raw_data="{not json")  # malformed: skipped
        if end == "completed":
            sim.emit(
                job_id,
                "training.completed",
                {"artifacts": [{"pathname": "final/adapter", "bytes": 7}, "s3://b/final"]},
                timestamp=at(59),
            )
            sim.end(job_id)
        elif end == "failed":
            sim.emit(
                job_id, "training.failed", {"error": "CUDA OOM", "step": steps}, timestamp=at(59)
            )
            sim.end(job_id)
        elif end == "cancelled":
            sim.cancel(job_id)  # the stream just ends: no terminal event
            sim.update_job(job_id, completedAt=at(59))  # not the clock: both modes alike

    return build


def several_jobs(sim: Simulator) -> None:
    sim.add_job("job-b", name="second", status="running", created_at="2026-03-01T11:00:00Z")
    sim.add_job(
        "job-a", name="first [b]x[/b]", status="completed", created_at="2026-02-27T09:00:00Z"
    )
    sim.add_job(
        "job-c", name="third \x1b[31mred", status="failed", created_at="2026-02-01T00:00:00Z"
    )
    sim.add_job(
        "job-q", name="waiting", status="queued", created_at="2026-01-01T00:00:00Z", extra=1
    )


# ---- jobs ----------------------------------------------------------------------------


def test_jobs_table(both: TwoModes):
    out = same(both.run(several_jobs, "--no-color", "jobs")).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["Status", "Name", "Duration", "Created", "ID"]
    assert [line.split()[-1] for line in lines[1:]] == ["job-b", "job-a", "job-c", "job-q"]
    assert "first [b]x[/b]" in out and "\x1b" not in out


def test_jobs_json_and_filters(both: TwoModes):
    out = same(both.run(several_jobs, "jobs", "--json")).stdout
    data = json.loads(out)
    assert [job["id"] for job in data] == ["job-b", "job-a", "job-c", "job-q"]
    assert data[3]["extra"] == 1
    out = same(both.run(several_jobs, "jobs", "--json", "-s", "failed", "--limit", "1")).stdout
    assert [job["id"] for job in json.loads(out)] == ["job-c"]


def no_state(arkor: ModeArkor) -> None:
    """A project that has never trained: no .arkor/state.json (Studio reads its own)."""
    if arkor.studio is None:
        arkor.state_file.unlink()
    else:
        arkor.studio.has_state = False


def test_jobs_when_the_project_has_none(both: TwoModes):
    assert same(both.run(lambda sim: None, "jobs")).stdout == "No jobs yet.\n"
    assert same(both.run(lambda sim: None, "jobs", "--json")).stdout == "[]\n"
    # Studio knows its own project has no jobs yet; the cloud mode, without a
    # state file, says which file it looked for and how to point at a project.
    runs = both.run(run_scenario(), "jobs", prepare=no_state)
    cloud, studio = runs["cloud"].result, runs["studio"].result
    assert (studio.code, studio.stdout) == (0, "No jobs yet.\n")
    assert (cloud.code, cloud.stdout) == (0, "")
    assert "No .arkor/state.json in " in cloud.stderr and "-C DIR" in cloud.stderr
    for command in ("watch", "stats", "artifacts", "show"):
        runs = both.run(run_scenario(), command, "j1", prepare=no_state, **FAST)
        result = same(runs)
        assert result.code == 1 and result.stdout == "", command
        assert "No job j1 in " in runs["studio"].result.stderr, command
        assert "No job j1. No .arkor/state.json in " in runs["cloud"].result.stderr, command


# ---- watch ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "code", "last"),
    [
        ("completed", 0, "Job faq-bot completed in 59s · 12 steps"),
        ("failed", 1, "Job faq-bot failed in 59s · 12 steps"),
        ("cancelled", 3, "Job faq-bot cancelled in 59s · 12 steps"),
    ],
)
def test_watch_plain_and_its_exit_status(both: TwoModes, end: str, code: int, last: str):
    result = same(both.run(run_scenario(end=end), "watch", "j1", "--plain"))
    assert result.code == code, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Watching faq-bot (j1), {end}"
    assert lines[1].startswith("2026-03-01 12:00:00  training.started")
    assert lines[-1].startswith(last), lines[-1]
    assert sum("  training.log  " in line for line in lines) == 12
    assert sum("  progress  " in line for line in lines) >= 2
    if end == "failed":
        assert "training.failed     CUDA OOM" in result.stdout


@pytest.mark.parametrize(("end", "code"), [("completed", 0), ("failed", 1), ("cancelled", 3)])
def test_watch_json_is_the_same_history(both: TwoModes, end: str, code: int):
    result = same(both.run(run_scenario(end=end), "watch", "j1", "--json"))
    assert result.code == code
    records = [json.loads(line) for line in result.stdout.splitlines()]
    summary = records.pop()  # the last line: the summary record
    assert summary["event"] == "summary" and summary["exitCode"] == code
    assert summary["outcome"] == end
    assert records[0]["event"] == "training.started"
    assert [r["id"] for r in records] == sorted((r["id"] for r in records), key=int)
    assert sum(r["event"] == "training.log" for r in records) == 12
    assert records[-1]["event"] == "end"
    terminal = [
        r["event"]
        for r in records
        if r["event"].startswith("training.")
        and r["event"] not in ("training.started", "training.log")
    ]
    assert terminal == ([] if end == "cancelled" else [f"training.{end}"])


STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?=  stream )", re.MULTILINE)


def with_drops(sim: Simulator) -> None:
    run_scenario(steps=20)(sim)
    sim.add_fault("stream:j1", Fault(drop_after=4))
    sim.add_fault("stream:j1", Fault(drop_after=3, mid_frame=True))
    sim.add_fault("stream:j1", Fault(status=503))
    sim.add_fault("stream:j1", Fault(close_after=5))


@pytest.mark.parametrize("form", ["--json", "--plain"])
def test_watch_resumes_after_dropped_connections(both: TwoModes, form: str):
    runs = both.run(with_drops, "watch", "j1", form, **FAST)
    # The notices carry the wall-clock time of the drop: the rest is the same.
    result = same(runs, stdout=lambda out: STAMP.sub("<now>", out))
    assert result.code == 0, result.output
    if form == "--json":
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert records.pop()["event"] == "summary"
        ids = [record["id"] for record in records]
        # Each frame once, in order; 26 and 27 (unknown, malformed) are skipped.
        assert ids == [str(i) for i in range(1, 30) if i not in (26, 27)]
        notices = result.stderr
    else:
        notices = result.stdout
    assert notices.count("stream interrupted") == 4
    assert notices.count("stream resumed") == 3  # the 503 came before any frame
    for mode in MODES:
        sent = [r.headers.get("last-event-id") for r in runs[mode].arkor.sim.stream_requests("j1")]
        assert sent == [None, "4", "7", "7", "12"], (mode, sent)
    studio_streams = [
        r for r in runs["studio"].studio.requests if r.target == "/api/jobs/j1/events"
    ]
    assert [r.headers.get("last-event-id") for r in studio_streams] == [None, "4", "7", "7", "12"]


def test_watch_unknown_job(both: TwoModes):
    result = same(both.run(run_scenario(), "watch", "nope", "--plain", **FAST))
    assert result.code == 1 and result.stdout == ""
    assert "No job nope" in result.stderr


def test_watch_in_a_subprocess(both: TwoModes):
    result = same(both.run(run_scenario(end="failed"), "watch", "j1", "--json", subprocess=True))
    assert result.code == 1 and result.stdout.count("\n") > 12


# ---- stats ---------------------------------------------------------------------------


# Where the cloud's job detail carries the events, `stats` reads them there and
# says so (`source: detail`, "from the job's history"); Studio has no detail
# route and always replays the stream. The numbers are the same either way.
def from_stream(out: str) -> str:
    return out.replace("from the job's history", "from the event stream").replace(
        '"source": "detail"', '"source": "stream"'
    )


@pytest.mark.parametrize("detail", [False, True], ids=["stream", "detail"])
def test_stats_text(both: TwoModes, detail: bool):
    runs = both.run(run_scenario(detail_events=detail), "--no-color", "stats", "j1")
    out = same(runs, stdout=from_stream if detail else lambda s: s).stdout
    origin = "the job's history" if detail else "the event stream"
    assert f"Job j1 · completed · from {origin}" in out
    assert "Training loss" in out and "Eval loss" in out
    assert "from the event stream" in runs["studio"].result.stdout


@pytest.mark.parametrize("detail", [False, True], ids=["stream", "detail"])
def test_stats_json(both: TwoModes, detail: bool):
    runs = both.run(run_scenario(detail_events=detail), "stats", "j1", "--json")
    body = json.loads(same(runs, stdout=from_stream if detail else lambda s: s).stdout)
    assert body["loss"]["count"] == 12 and body["evalLoss"]["count"] == 3
    assert body["complete"] is True
    assert body["source"] == ("detail" if detail else "stream")
    assert json.loads(runs["studio"].result.stdout)["source"] == "stream"
    scenario = run_scenario(detail_events=detail)
    out = same(
        both.run(scenario, "stats", "j1", "--json", "--last", "4"), stdout=from_stream
    ).stdout
    assert json.loads(out)["loss"]["count"] == 4


def test_stats_of_a_job_still_running(both: TwoModes):
    scenario = run_scenario(end="running", detail_events=False)
    body = json.loads(same(both.run(scenario, "stats", "j1", "--json")).stdout)
    assert body["complete"] is False and body["loss"]["count"] == 12


# ---- artifacts -----------------------------------------------------------------------


def test_artifacts_table(both: TwoModes):
    result = same(both.run(run_scenario(), "--no-color", "artifacts", "j1"))
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["Kind", "Step", "Path"]
    assert [line.split()[0] for line in lines[1:]] == ["checkpoint", "checkpoint", "final", "final"]
    assert "ckpt/10/adapter" in result.stdout and "s3://b/final" in result.stdout


def test_artifacts_json(both: TwoModes):
    result = same(both.run(run_scenario(), "artifacts", "j1", "--json"))
    found = json.loads(result.stdout)
    assert [(a["kind"], a["step"]) for a in found] == [
        ("checkpoint", 5),
        ("checkpoint", 10),
        ("final", None),
        ("final", None),
    ]


@pytest.mark.parametrize(("end", "note"), [("running", "not finished"), ("failed", "no final")])
def test_artifacts_of_unfinished_runs(both: TwoModes, end: str, note: str):
    runs = both.run(run_scenario(end=end), "artifacts", "j1", "--json")
    result = same(runs)
    assert [a["kind"] for a in json.loads(result.stdout)] == ["checkpoint", "checkpoint"]
    assert note in runs["cloud"].result.stderr and note in runs["studio"].result.stderr


# ---- show ----------------------------------------------------------------------------


def test_show_completed_job(both: TwoModes):
    runs = both.run(run_scenario(), "--no-color", "show", "j1")
    out = same(runs).stdout
    artifacts = next(line for line in out.splitlines() if " Artifacts " in line)
    assert "2" in artifacts  # cloud: from the detail's events; Studio: the stream replayed
    assert "unsloth/gemma-3-270m-it" in out and "Max steps" in out
    assert [r.target for r in runs["studio"].studio.requests] == [
        "/api/jobs",
        "/api/jobs/j1/events",
    ]


def failed_without_error_field(sim: Simulator) -> None:
    run_scenario(end="failed")(sim)
    sim.update_job("j1", error=None)  # only the training.failed event says why


def test_show_failed_job_error(both: TwoModes):
    out = same(both.run(failed_without_error_field, "--no-color", "show", "j1")).stdout
    assert "Error" in out and "CUDA OOM" in out


DURATION = re.compile(r"Duration +\S+")


def test_show_running_job_is_one_request(both: TwoModes):
    runs = both.run(run_scenario(end="running"), "--no-color", "show", "j1")
    # A running job's Duration ticks with the clock: the rest is the same.
    out = same(runs, stdout=lambda out: DURATION.sub("Duration <ticking>", out)).stdout
    assert DURATION.search(out)
    assert "running" in out
    assert [r.target for r in runs["studio"].studio.requests] == ["/api/jobs"]


def test_show_json(both: TwoModes):
    runs = both.run(run_scenario(), "show", "j1", "--json")
    out = same(runs).stdout
    assert [r.target for r in runs["studio"].studio.requests] == ["/api/jobs"]  # no replay
    job = json.loads(out)
    assert job["id"] == "j1" and job["status"] == "completed"


def test_show_and_artifacts_and_stats_of_an_unknown_job(both: TwoModes):
    for command in ("show", "artifacts", "stats"):
        result = same(both.run(run_scenario(), command, "nope", **FAST))
        assert result.code == 1 and result.stdout == ""
        assert "No job nope" in result.stderr


# ---- what only one mode can show ------------------------------------------------------


def test_live_view_in_each_mode(mode_arkor: ModeArkor):
    run_scenario(steps=30)(mode_arkor.sim)
    run = mode_arkor.pty("watch", "j1", "--no-notify", columns=100, rows=30)
    code = run.wait(timeout=30)
    out = run.text
    assert code == 0, out[-2000:]
    assert "faq-bot" in out and "Training loss" in out and "training.completed" in out
    assert STUDIO_TOKEN not in out and "Traceback" not in out
    if mode_arkor.studio is not None:
        assert {r.target for r in mode_arkor.studio.requests} == {
            "/api/jobs",
            "/api/jobs/j1/events",
        }


def test_show_through_studio_when_the_replay_fails(studio_arkor: ModeArkor):
    run_scenario()(studio_arkor.sim)
    studio_arkor.sim.add_fault("stream:j1", Fault(status=410))
    result = studio_arkor.cli("--no-color", "show", "j1")
    assert result.code == 0, result.stderr
    artifacts = next(line for line in result.stdout.splitlines() if " Artifacts " in line)
    assert artifacts.split() == ["│", "Artifacts", "N/A", "│"]  # unknown, not guessed
    assert result.stderr.startswith(
        "arkor-studio: could not replay the event stream of j1 for the Artifacts count:"
    )
