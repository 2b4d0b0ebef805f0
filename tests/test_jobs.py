from __future__ import annotations

import json
import time

from arkor_cli_studio.simulator import Fault
from tests.helpers import TOKEN


def test_rows_in_server_order_with_headers_and_scope(arkor):
    arkor.sim.add_job("job-b", name="second", status="running", created_at=time.time() - 600)
    arkor.sim.add_job("job-a", name="first", status="completed", created_at=time.time() - 900)
    result = arkor.cli("jobs")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Status", "Name", "Duration", "Created", "ID"]
    assert "job-b" in lines[1] and "running" in lines[1]
    assert "job-a" in lines[2] and "completed" in lines[2]
    request = arkor.sim.requests[-1]
    assert request.path == "/v1/jobs"
    assert request.query == {"orgSlug": "acme", "projectSlug": "demo"}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-arkor-client"].startswith("arkor/")  # as every arkor client
    assert request.headers["user-agent"].startswith("arkor-studio/")
    assert TOKEN not in result.output


def test_no_jobs_and_no_state(arkor):
    assert arkor.cli("jobs").stdout.strip() == "No jobs yet."
    arkor.state_file.unlink()
    result = arkor.cli("jobs")
    assert (result.code, result.stdout) == (0, "")
    assert result.stderr == (
        f"arkor-studio: No .arkor/state.json in {arkor.project}: not an arkor project, or no "
        "job was started from it yet. Run from your project's directory, or point at it "
        "with -C DIR.\n"
    )
    assert (
        arkor.sim.requests[-1:] != [] and len(arkor.sim.requests) == 1
    )  # no request without state


def test_warming_up_on_both_sides_of_90_seconds(arkor):
    arkor.sim.add_job("young", status="queued", created_at=time.time() - 30)
    arkor.sim.add_job("old", status="queued", created_at=time.time() - 120)
    out = arkor.cli("jobs").stdout
    young = next(line for line in out.splitlines() if "young" in line)
    old = next(line for line in out.splitlines() if " old" in line)
    assert "Warming up GPU" in young
    assert "queued" in old and "Warming" not in old


def test_json_is_the_api_objects_plus_display_status(arkor):
    arkor.sim.add_job("j1", name="n", status="queued", created_at=time.time() - 5, extra="kept")
    result = arkor.cli("jobs", "--json")
    data = json.loads(result.stdout)
    assert data[0]["id"] == "j1" and data[0]["extra"] == "kept"
    assert data[0]["displayStatus"] == "Warming up GPU"


def test_status_filter_and_limit(arkor):
    for i, status in enumerate(["running", "failed", "running", "completed"]):
        arkor.sim.add_job(f"j{i}", status=status)
    data = json.loads(arkor.cli("jobs", "--json", "--status", "running").stdout)
    assert [j["id"] for j in data] == ["j0", "j2"]
    data = json.loads(
        arkor.cli("jobs", "--json", "-s", "running", "-s", "failed", "-n", "2").stdout
    )
    assert [j["id"] for j in data] == ["j0", "j1"]
    bad = arkor.cli("jobs", "--status", "nope")
    assert bad.code == 2


def test_markup_and_escapes_in_names_are_literal(arkor):
    arkor.sim.add_job("evil", name="[bold red]boom[/] \x1b]0;pwned\x07\x1b[31mred\x9b2J")
    result = arkor.run("--no-color", "jobs")
    assert result.code == 0
    assert "[bold red]boom[/]" in result.stdout
    assert (
        "\x1b" not in result.stdout and "\x9b" not in result.stdout and "\x07" not in result.stdout
    )


def test_error_paths_and_exit_codes(arkor):
    arkor.sim.add_fault("jobs", Fault(status=500, body=json.dumps({"error": "db is down"})))
    result = arkor.cli("jobs")
    assert result.code == 1 and "db is down" in result.stderr and "Traceback" not in result.stderr

    arkor.sim.add_fault("jobs", Fault(status=401, body=json.dumps({"error": "token expired"})))
    result = arkor.cli("jobs")
    assert result.code == 4 and "token expired" in result.stderr and "arkor login" in result.stderr

    arkor.sim.add_fault("jobs", Fault(status=403, body=json.dumps({"error": "forbidden"})))
    assert arkor.cli("jobs").code == 4

    result = arkor.cli("jobs", ARKOR_CLOUD_API_URL="http://127.0.0.1:1")
    assert result.code == 5
    assert "Can't reach the Arkor cloud API at http://127.0.0.1:1" in result.stderr


def test_missing_and_broken_credentials(arkor):
    arkor.credentials_file.unlink()
    result = arkor.cli("jobs")
    assert result.code == 4
    assert str(arkor.credentials_file) in result.stderr and "arkor login" in result.stderr
    arkor.credentials_file.write_text("{not json")
    result = arkor.cli("jobs")
    assert result.code == 4 and "not valid JSON" in result.stderr
    arkor.credentials_file.write_text("")
    assert "empty" in arkor.cli("jobs").stderr
    arkor.credentials_file.unlink()
    arkor.credentials_file.mkdir()
    assert "directory" in arkor.cli("jobs").stderr


def test_oauth_token_and_api_url_precedence(arkor):
    arkor.write_credentials(
        {
            "mode": "oauth",
            "accessToken": TOKEN,
            "refreshToken": "r",
            "expiresAt": 0,
            "arkorCloudApiUrl": "http://127.0.0.1:1",
        }
    )
    # env beats the credentials' URL
    result = arkor.cli("jobs", ARKOR_CLOUD_API_URL=arkor.sim.url + "/")
    assert result.code == 0, result.stderr
    # --api-url beats env
    result = arkor.cli("--api-url", arkor.sim.url, "jobs", ARKOR_CLOUD_API_URL="http://127.0.0.1:1")
    assert result.code == 0, result.stderr
    # set-but-empty env is honoured (as arkor does): a clear error, not the fallback
    result = arkor.cli("jobs", ARKOR_CLOUD_API_URL="")
    assert result.code == 4 and "empty" in result.stderr


def test_bad_project_dir_is_usage_error(arkor, tmp_path):
    result = arkor.cli("-C", str(tmp_path / "missing"), "jobs")
    assert result.code == 2 and "does not exist" in result.stderr


def test_version_and_help(arkor):
    assert arkor.cli("--version").stdout.startswith("arkor-studio ")
    result = arkor.cli("jobs", "--help")
    assert result.code == 0 and "Examples:" in result.stdout


def test_json_stays_valid_with_overflowing_numbers(arkor):
    arkor.sim.add_job("j1", config={"learningRate": 1e309})
    data = json.loads(arkor.cli("jobs", "--json").stdout)  # strict: no Infinity
    assert data[0]["config"]["learningRate"] is None


def test_demo_ignores_a_studio_url_in_the_environment(arkor):
    result = arkor.run("demo", "--jobs", ARKOR_STUDIO_URL="http://127.0.0.1:4000")
    assert result.code == 0, result.stderr
