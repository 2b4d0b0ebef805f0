from __future__ import annotations

import json

import pytest

from arkor_cli_studio.simulator import Fault


def _finished_job(sim, job_id: str = "job-1", *, detail_events: bool) -> None:  # type: ignore[no-untyped-def]
    sim.add_job(job_id, name="faq-bot", status="running", detail_events=detail_events)
    sim.emit(job_id, "training.started", {})
    sim.emit(job_id, "training.log", {"step": 10, "loss": 1.5})
    sim.emit(
        job_id,
        "checkpoint.saved",
        {"step": 100, "artifacts": [{"pathname": "ckpt/100/adapter.safetensors", "size": 42}]},
    )
    sim.emit(job_id, "checkpoint.saved", {"step": 200, "artifacts": ["s3://bucket/ckpt/200"]})
    sim.emit(job_id, "checkpoint.saved", {"step": 250})  # no artifacts: nothing to list
    sim.emit(
        job_id,
        "training.completed",
        {"artifacts": [{"url": "https://cdn/x/final", "pathname": "final/adapter", "bytes": 7}]},
    )
    sim.end(job_id)


EXPECTED = [
    {
        "kind": "checkpoint",
        "step": 100,
        "artifact": {"pathname": "ckpt/100/adapter.safetensors", "size": 42},
    },
    {"kind": "checkpoint", "step": 200, "artifact": "s3://bucket/ckpt/200"},
    {
        "kind": "final",
        "step": None,
        "artifact": {"url": "https://cdn/x/final", "pathname": "final/adapter", "bytes": 7},
    },
]


@pytest.mark.parametrize("detail_events", [True, False], ids=["detail", "stream"])
def test_json_lists_final_and_checkpoints_from_either_history(arkor, detail_events):
    _finished_job(arkor.sim, detail_events=detail_events)
    result = arkor.cli("artifacts", "--json", "job-1")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == EXPECTED
    assert result.stderr == ""
    streamed = arkor.sim.stream_requests("job-1")
    assert (len(streamed) > 0) is (not detail_events)


@pytest.mark.parametrize("detail_events", [True, False], ids=["detail", "stream"])
def test_table_puts_the_path_first_then_the_rest(arkor, detail_events):
    _finished_job(arkor.sim, detail_events=detail_events)
    result = arkor.cli("artifacts", "job-1")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Kind", "Step", "Path", "/", "URL", "Details"]
    assert lines[1].split() == ["checkpoint", "100", "ckpt/100/adapter.safetensors", "size=42"]
    assert lines[2].split() == ["checkpoint", "200", "s3://bucket/ckpt/200", "-"]
    # pathname wins over url as the location; url joins the details
    assert lines[3].split() == ["final", "-", "final/adapter", "url=https://cdn/x/final", "bytes=7"]
    assert len(lines) == 4


def test_running_job_lists_checkpoints_so_far_and_says_so(arkor):
    arkor.sim.add_job("job-1", status="running")
    arkor.sim.emit("job-1", "training.started", {})
    arkor.sim.emit("job-1", "checkpoint.saved", {"step": 50, "artifacts": [{"path": "c/50"}]})
    result = arkor.cli("artifacts", "--json", "job-1")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"kind": "checkpoint", "step": 50, "artifact": {"path": "c/50"}}
    ]
    assert "job-1 is running, not finished" in result.stderr
    assert "checkpoints so far" in result.stderr


def test_running_job_from_detail_events_says_so_too(arkor):
    arkor.sim.add_job("job-1", status="queued", detail_events=True)
    result = arkor.cli("artifacts", "job-1")
    assert (result.code, result.stdout.strip()) == (0, "No artifacts yet.")
    assert "is queued, not finished" in result.stderr
    assert arkor.sim.stream_requests() == []


def test_no_artifacts_and_failed_job(arkor):
    arkor.sim.add_job("job-1", status="running")
    arkor.sim.emit("job-1", "training.completed", {})
    arkor.sim.end("job-1")
    result = arkor.cli("artifacts", "job-1")
    assert (result.code, result.stdout.strip(), result.stderr) == (0, "No artifacts yet.", "")
    assert json.loads(arkor.cli("artifacts", "--json", "job-1").stdout) == []

    arkor.sim.add_job("job-2", status="running")
    arkor.sim.emit("job-2", "checkpoint.saved", {"step": 5, "artifacts": ["c5"]})
    arkor.sim.emit("job-2", "training.failed", {"error": "OOM"})
    arkor.sim.end("job-2")
    result = arkor.cli("artifacts", "job-2")
    assert result.code == 0 and "c5" in result.stdout
    assert "job-2 failed: it has no final adapter" in result.stderr


def test_odd_entries_do_not_break_the_listing(arkor):
    arkor.sim.add_job("job-1", status="running", detail_events=True)
    arkor.sim.emit(
        "job-1",
        "training.completed",
        {"artifacts": [42, None, ["x"], {"size": 1}, {"uri": "gs://b/o", "meta": {"a": [1]}}]},
    )
    data = json.loads(arkor.cli("artifacts", "--json", "job-1").stdout)
    assert [d["artifact"] for d in data] == [
        42,
        ["x"],
        {"size": 1},
        {"uri": "gs://b/o", "meta": {"a": [1]}},
    ]
    out = arkor.cli("artifacts", "job-1").stdout
    assert "value=42" in out and 'value=["x"]' in out and 'meta={"a":[1]}' in out
    assert "gs://b/o" in out


def test_hostile_artifact_text_is_literal(arkor):
    arkor.sim.add_job("job-1", status="running", detail_events=True)
    arkor.sim.emit(
        "job-1",
        "training.completed",
        {
            "artifacts": [
                {"pathname": "[red]a[/]\x1b]8;;http://evil\x07b\x1b[2J", "n\x1b[1m": "\x9b5mv"},
                "\x1b[31m[bold]s",
            ]
        },
    )
    result = arkor.run("artifacts", "job-1")
    assert result.code == 0
    assert "[red]a[/]b" in result.stdout and "[bold]s" in result.stdout
    for bad in ("\x1b", "\x9b", "\x07"):
        assert bad not in result.stdout


def test_errors(arkor):
    result = arkor.cli("artifacts", "nope")
    assert result.code == 1 and "No job nope in acme/demo" in result.stderr
    assert arkor.sim.stream_requests() == []

    arkor.sim.add_job("job-1", status="running")
    arkor.sim.add_fault("detail:job-1", Fault(status=401, body='{"error":"token expired"}'))
    result = arkor.cli("artifacts", "job-1")
    assert result.code == 4 and "token expired" in result.stderr

    arkor.sim.add_fault("stream:job-1", Fault(status=401, body='{"error":"stream says no"}'))
    result = arkor.cli("artifacts", "--json", "job-1")
    assert (result.code, result.stdout) == (4, "") and "stream says no" in result.stderr

    assert arkor.cli("artifacts", "a\x00b").code == 2


def test_id_with_reserved_characters(arkor):
    odd = "a/b c?d#e"
    _finished_job(arkor.sim, odd, detail_events=False)
    result = arkor.cli("artifacts", "--json", odd)
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == EXPECTED
    paths = {r.path for r in arkor.sim.requests}
    assert paths == {"/v1/jobs/a%2Fb%20c%3Fd%23e", "/v1/jobs/a%2Fb%20c%3Fd%23e/events/stream"}


def test_help_has_examples(arkor):
    result = arkor.cli("artifacts", "--help")
    assert result.code == 0 and "Examples:" in result.stdout


def test_artifacts_of_a_long_stream_keep_only_the_artifacts(arkor, monkeypatch):
    """Issue 22, item 2: the events are folded as they arrive, not held."""
    from arkor_cli_studio import jobinfo
    from tests.test_stats_command import live_events

    arkor.sim.add_job("long", status="queued")
    arkor.sim.emit("long", "training.started", {})
    for step in range(1, 3001):
        arkor.sim.emit("long", "training.log", {"step": step, "loss": 1.0 / step})
        if step % 1000 == 0:
            arkor.sim.emit(
                "long", "checkpoint.saved", {"step": step, "artifacts": [{"pathname": f"c{step}"}]}
            )
    arkor.sim.emit("long", "training.completed", {"artifacts": [{"pathname": "final"}]})
    arkor.sim.end("long")
    alive: list[int] = []
    collect = jobinfo.collect_artifacts

    def watching_collect(events):  # type: ignore[no-untyped-def]
        def watched():  # type: ignore[no-untyped-def]
            for event in events:
                if event.name == "training.completed":
                    alive.append(live_events())
                yield event

        return collect(watched())

    monkeypatch.setattr(jobinfo, "collect_artifacts", watching_collect)
    result = arkor.cli("artifacts", "long", "--json")
    assert result.code == 0, result.stderr
    assert [a["artifact"]["pathname"] for a in json.loads(result.stdout)] == [
        "c1000",
        "c2000",
        "c3000",
        "final",
    ]
    assert alive and alive[0] < 300, alive
