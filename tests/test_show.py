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
        ("Artifacts", "N/A"),  # no detail events: the count is unknown
        ("Job ID", "job-1"),
        ("Max steps", "300"),
        ("Learning rate", "0.0002"),
        ("Batch size", "8"),
        ("LoRA r", "16"),
        ("LoRA alpha", "32"),
        ("newKnob", "on"),  # unknown keys as they are
    ]:
        line = next((ln for ln in out.splitlines() if f" {label} " in ln), "")
        assert value in line, (label, out)
    assert "Training configuration" in out and "Error" not in out
    # exactly one request: the detail, with scope and credentials
    assert [(r.method, r.path) for r in arkor.sim.requests] == [("GET", "/v1/jobs/job-1")]
    assert arkor.sim.requests[0].query == {"orgSlug": "acme", "projectSlug": "demo"}
    assert TOKEN not in result.output


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
