from __future__ import annotations

import json
import time

from arkor_cli_studio.simulator import Fault
from tests.helpers import TOKEN

CONFIG = {
    "model": "unsloth/gemma-3-270m-it",
    "datasetSource": {"type": "huggingface", "name": "acme/faq", "split": "train"},
    "maxSteps": 300,
    "learningRate": 0.0002,
    "batchSize": 8,
    "loraR": 16,
    "loraAlpha": 32,
    "newKnob": "on",
}


def _strict(text: str):  # type: ignore[no-untyped-def]
    def reject(constant: str) -> None:
        raise AssertionError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=reject)


def _row(out: str, label: str) -> str:
    return next((ln for ln in out.splitlines() if f" {label} " in ln), "")


def test_show_is_the_sidebar_plus_configuration(arkor):
    arkor.sim.add_job(
        "job-1",
        name="faq-bot",
        status="completed",
        created_at="2026-03-01T10:00:00Z",
        startedAt="2026-03-01T10:01:00Z",
        completedAt="2026-03-01T10:09:30Z",
        config=CONFIG,
    )
    result = arkor.cli("show", "job-1")
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "faq-bot" in out
    for label, value in [
        ("Status", "completed"),
        ("Duration", "8m30s"),
        ("Created", "2026-03-01 10:00:00"),
        ("Started", "2026-03-01 10:01:00"),
        ("Completed", "2026-03-01 10:09:30"),
        ("Base model", "unsloth/gemma-3-270m-it"),
        ("Dataset", "acme/faq (train)"),
        ("Artifacts", "N/A"),  # no events anywhere: the count is unknown
        ("Job ID", "job-1"),
        ("Max steps", "300"),
        ("Learning rate", "0.0002"),
        ("Batch size", "8"),
        ("LoRA rank (r)", "16"),
        ("LoRA alpha", "32"),
        ("New knob", "on"),  # unknown keys: a label of their words
    ]:
        assert value in _row(out, label), (label, out)
    assert "Training configuration" in out and "Error" not in out
    # the detail, with scope and credentials; it has no events: the stream is replayed
    assert [(r.method, r.path) for r in arkor.sim.requests] == [
        ("GET", "/v1/jobs/job-1"),
        ("GET", "/v1/jobs/job-1/events/stream"),
    ]
    assert arkor.sim.requests[0].query == {"orgSlug": "acme", "projectSlug": "demo"}
    assert TOKEN not in result.output


def test_show_completed_job_counts_its_artifacts_from_the_replayed_stream(arkor):
    # The cloud's detail carries no events: like Studio mode (and `artifacts`),
    # the history is replayed for the Artifacts row.
    arkor.sim.add_job("done", name="faq-bot", status="running", config=CONFIG)
    arkor.sim.emit("done", "training.started", {})
    for step in range(1, 50):
        arkor.sim.emit("done", "training.log", {"step": step, "loss": 1.0 / step})
    arkor.sim.emit("done", "checkpoint.saved", {"step": 25, "artifacts": ["ckpt/25"]})
    arkor.sim.emit("done", "training.completed", {"artifacts": ["a", {"pathname": "b"}]})
    arkor.sim.end("done")
    result = arkor.cli("show", "done")
    assert result.code == 0, result.stderr
    assert "2" in _row(result.stdout, "Artifacts"), result.stdout
    assert result.stderr == ""
    assert len(arkor.sim.stream_requests("done")) == 1
    # --json is the detail alone: no replay
    assert arkor.cli("show", "--json", "done").code == 0
    assert len(arkor.sim.stream_requests("done")) == 1


def test_show_completed_job_whose_stream_never_ends_stops_when_caught_up(arkor):
    # No `end` frame and a keep-alive ping: the replay's caught-up rule ends it.
    arkor.sim.ping_interval = 0.2
    arkor.sim.add_job("open", status="running")
    arkor.sim.emit("open", "training.started", {})
    arkor.sim.emit("open", "training.completed", {"artifacts": ["a", "b", "c"]})
    started = time.monotonic()
    result = arkor.cli("show", "open")
    assert result.code == 0, result.stderr
    assert "3" in _row(result.stdout, "Artifacts"), result.stdout
    assert time.monotonic() - started < 5  # the rule's bound, not the stream's


def test_show_notes_a_failed_replay_and_still_shows_the_job(arkor):
    arkor.sim.add_job("gone", status="completed", config=CONFIG)
    arkor.sim.add_fault("stream:gone", Fault(status=500, body='{"error":"db down"}'), times=5)
    result = arkor.cli("show", "gone")
    assert result.code == 0
    assert "N/A" in _row(result.stdout, "Artifacts")
    assert "could not replay the event stream of gone" in result.stderr
    assert "Traceback" not in result.stderr


def test_show_failed_job_has_its_error_and_detail_events_give_the_artifact_count(arkor):
    arkor.sim.add_job("bad", name="oops", status="running", detail_events=True)
    arkor.sim.emit("bad", "training.failed", {"error": "CUDA out of memory\nat step 12"})
    result = arkor.cli("show", "bad")
    assert result.code == 0
    assert "Error" in result.stdout and "CUDA out of memory" in result.stdout
    assert "at step 12" in result.stdout  # line breaks of a traceback are kept
    assert "No training configuration was reported." in result.stdout

    arkor.sim.add_job("good", status="running", detail_events=True)
    arkor.sim.emit("good", "training.completed", {"artifacts": [{"pathname": "a"}, "b", "c"]})
    row = next(ln for ln in arkor.cli("show", "good").stdout.splitlines() if "Artifacts" in ln)
    assert "3" in row


def test_show_warming_up_and_running(arkor):
    arkor.sim.add_job("young", status="queued", created_at=time.time() - 10)
    assert "Warming up GPU" in arkor.cli("show", "young").stdout
    arkor.sim.add_job("old", status="queued", created_at=time.time() - 300)
    out = arkor.cli("show", "old").stdout
    assert "queued" in out and "Warming" not in out


def test_show_json_is_the_job_object_as_returned(arkor):
    job = arkor.sim.add_job(
        "job-1", name="n", status="running", config=CONFIG, brandNew={"x": [1, 2]}
    )
    result = arkor.cli("show", "--json", "job-1")
    assert result.code == 0
    assert _strict(result.stdout) == job


def test_show_json_stays_json_with_non_finite_numbers(arkor):
    arkor.sim.add_job("inf", config={"learningRate": float("inf"), "batchSize": 4})
    data = _strict(arkor.cli("show", "--json", "inf").stdout)
    assert data["config"] == {"learningRate": None, "batchSize": 4}
    out = arkor.cli("show", "inf").stdout
    assert "Batch size" in out and "Learning rate" not in out  # inf counts as not set


def test_unknown_id_and_auth_errors(arkor):
    result = arkor.cli("show", "nope")
    assert (result.code, result.stdout) == (1, "")
    assert "No job nope in acme/demo" in result.stderr and "Traceback" not in result.stderr

    arkor.sim.add_job("job-1")
    arkor.sim.add_fault("detail:job-1", Fault(status=401, body='{"error":"token expired"}'))
    result = arkor.cli("show", "job-1")
    assert result.code == 4 and "token expired" in result.stderr and "arkor login" in result.stderr

    arkor.sim.add_fault("detail:job-1", Fault(status=500, body='{"error":"db down"}'))
    result = arkor.cli("show", "--json", "job-1")
    assert (result.code, result.stdout) == (1, "") and "db down" in result.stderr


def test_no_state_means_no_such_job_without_a_request(arkor):
    arkor.state_file.unlink()
    result = arkor.cli("show", "job-1")
    assert result.code == 1 and "No job job-1. No .arkor/state.json in " in result.stderr
    assert arkor.sim.requests == []


def test_id_with_reserved_characters_is_one_encoded_path_segment(arkor):
    odd = "a/b c?d#e%"
    arkor.sim.add_job(odd, name="odd")
    result = arkor.cli("show", "--json", odd)
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["id"] == odd
    request = arkor.sim.requests[-1]
    assert request.path == "/v1/jobs/a%2Fb%20c%3Fd%23e%25"
    assert request.query == {"orgSlug": "acme", "projectSlug": "demo"}


def test_bad_ids_are_usage_errors_before_any_request(arkor):
    for bad in ("..", ".", "job\x1b[2J", "a\nb", "x" * 600):
        result = arkor.cli("show", bad)
        assert result.code == 2, (bad, result.stderr)
        assert "\x1b" not in result.stderr
    assert arkor.sim.requests == []


def test_hostile_text_is_shown_literally(arkor):
    arkor.sim.add_job(
        "evil",
        name="[bold]x[/] \x1b]0;pwned\x07\x1b[31mred",
        status="failed",
        error="\x1b[2J[red]boom\x9b1m",
        config={"model": "m\x1b[5m", "note\x1b[1m": "[link=x]y"},
    )
    result = arkor.run("show", "evil")
    assert result.code == 0
    assert "[bold]x[/]" in result.stdout and "[red]boom" in result.stdout
    assert "[link=x]y" in result.stdout
    for bad in ("\x1b", "\x9b", "\x07"):
        assert bad not in result.stdout


def test_help_has_examples(arkor):
    result = arkor.cli("show", "--help")
    assert result.code == 0 and "Examples:" in result.stdout and "--json" in result.stdout


def test_panels_share_one_width_at_80_columns_and_wider(arkor):
    arkor.sim.add_job(
        "bad",
        name="faq-bot",
        status="failed",
        error="CUDA out of memory. Tried to allocate 1.95 GiB. Lower batchSize or maxLength.",
        config=CONFIG,
    )
    arkor.sim.add_job("ok", name="a-much-longer-job-name-than-the-rest", config={"maxSteps": 3})
    for columns in (80, 120, 200):
        for job_id in ("bad", "ok"):
            out = arkor.cli("show", job_id, COLUMNS=str(columns)).stdout
            edges = [ln for ln in out.splitlines() if ln[:1] in ("╭", "╰")]
            assert len(edges) == (6 if job_id == "bad" else 4), out
            assert len({len(edge) for edge in edges}) == 1, (columns, out)
            assert all(len(line) <= columns for line in out.splitlines()), out
