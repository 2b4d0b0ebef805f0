"""`--studio`: every command through a running `arkor dev` (here: a fake one
in front of the simulator), with its per-launch token."""

from __future__ import annotations

import json
import threading
import time

import pytest

from arkor_cli_studio.argv import studio_value_alias
from arkor_cli_studio.cloud.events import StreamOptions, follow_events
from arkor_cli_studio.cloud.history import load_history
from arkor_cli_studio.cloud.studio import StudioBackend
from arkor_cli_studio.config import DEFAULT_STUDIO_URL
from arkor_cli_studio.errors import (
    ApiError,
    AuthError,
    ConfigError,
    NotFoundError,
    UnreachableError,
    UnsupportedError,
    UsageError,
)
from arkor_cli_studio.model import Event
from arkor_cli_studio.simulator import Fault
from arkor_cli_studio.studio_config import StudioToken, check_studio_url, resolve_studio_url
from arkor_cli_studio.studio_run import Manifest
from tests.conftest import ModeArkor
from tests.helpers import STUDIO_TOKEN, TOKEN, run_inprocess
from tests.studio_server import FakeStudio, TrainScript

OLD = time.time() - 3600  # well past the 90-second Warming-up window


def add_jobs(sim):
    sim.add_job("job-b", name="second", status="running", created_at=OLD - 60)
    sim.add_job("job-a", name="first [b]x[/b]", status="completed", created_at=OLD - 600)
    sim.add_job("job-c", name="third", status="failed", created_at=OLD - 900, extra="kept")


def studio_backend(studio: FakeStudio, **kwargs) -> StudioBackend:
    token = StudioToken(kwargs.pop("token", studio.token), kwargs.pop("source", "test"))
    return StudioBackend(studio.url, token=token, read_timeout=5, **kwargs)


def assert_token_stayed_in_headers(studio: FakeStudio, *outputs: str) -> None:
    assert studio.requests, "the fake Studio saw no request"
    for request in studio.requests:
        assert STUDIO_TOKEN not in request.target and "studioToken" not in request.target
        assert request.headers.get("x-arkor-studio-token") == STUDIO_TOKEN
        assert "authorization" not in request.headers  # the cloud token stays home
    for request in studio.sim.requests:
        assert STUDIO_TOKEN not in json.dumps(request.query) + request.path
    for text in outputs:
        assert STUDIO_TOKEN not in text and TOKEN not in text


# ---- the same output in both modes ------------------------------------------


def test_jobs_table_and_json_in_each_mode(mode_arkor: ModeArkor):
    add_jobs(mode_arkor.sim)
    table = mode_arkor.cli("--no-color", "jobs")
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["Status", "Name", "Duration", "Created", "ID"]
    assert ["job-b" in lines[1], "job-a" in lines[2], "job-c" in lines[3]] == [True] * 3
    assert "first [b]x[/b]" in lines[2]
    data = json.loads(mode_arkor.cli("jobs", "--json").stdout)
    assert [j["id"] for j in data] == ["job-b", "job-a", "job-c"]
    assert data[2]["extra"] == "kept" and data[0]["displayStatus"] == "running"
    if mode_arkor.studio is not None:
        assert [r.target for r in mode_arkor.studio.requests] == ["/api/jobs"] * 2
        assert_token_stayed_in_headers(mode_arkor.studio, table.output)
    else:
        assert mode_arkor.sim.requests[-1].path == "/v1/jobs"


def test_jobs_output_is_identical_through_studio(arkor, studio):
    add_jobs(arkor.sim)
    arkor.sim.add_job("job-q", status="queued", created_at=OLD)
    via = ["--studio-url", studio.url]
    (arkor.home / ".arkor" / "studio-token").write_text(studio.token)
    for args in (("--no-color", "jobs"), ("jobs", "--json"), ("jobs", "-s", "failed", "--json")):
        cloud, through_studio = arkor.cli(*args), arkor.cli(*via, *args)
        assert cloud.code == through_studio.code == 0, through_studio.stderr
        assert cloud.stdout == through_studio.stdout and cloud.stdout.strip()
    assert len(studio.requests) == 3


def test_studio_mode_needs_neither_credentials_nor_state(studio_arkor: ModeArkor):
    add_jobs(studio_arkor.sim)
    studio_arkor.credentials_file.unlink()
    studio_arkor.state_file.unlink()
    result = studio_arkor.cli("jobs", "--json")
    assert result.code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 3
    # And Studio's own "no state" answer reads as no jobs, as in the browser.
    studio_arkor.studio.has_state = False
    assert studio_arkor.cli("jobs").stdout.strip() == "No jobs yet."


def test_api_errors_pass_through_studio(mode_arkor: ModeArkor):
    mode_arkor.sim.add_fault("jobs", Fault(status=500, body=json.dumps({"error": "db is down"})))
    result = mode_arkor.cli("jobs")
    assert result.code == 1 and "db is down" in result.stderr


# ---- the event stream, resumed --------------------------------------------------


def emit_run(sim, job_id: str, steps: int = 6) -> None:
    sim.add_job(job_id, status="queued", created_at=OLD)
    sim.emit(job_id, "training.started", {})
    for step in range(1, steps + 1):
        sim.emit(job_id, "training.log", {"step": step, "loss": 2.0 / step})
    sim.emit(job_id, "training.completed", {"artifacts": [{"pathname": "a.safetensors"}]})
    sim.end(job_id)


def test_event_stream_resumes_with_last_event_id_in_each_mode(mode_arkor: ModeArkor):
    emit_run(mode_arkor.sim, "j1")
    mode_arkor.sim.add_fault("stream:j1", Fault(drop_after=3))
    mode_arkor.sim.add_fault("stream:j1", Fault(drop_after=2, mid_frame=True))
    backend = mode_arkor.backend()
    with backend:
        items = list(
            follow_events(backend, "j1", StreamOptions(max_retries=3, sleep=lambda _: None))
        )
    events = [item for item in items if isinstance(item, Event)]
    assert [e.id for e in events] == [str(i) for i in range(1, 10)]  # each exactly once
    assert events[-1].name == "end"
    upstream = [r.headers.get("last-event-id") for r in mode_arkor.sim.stream_requests("j1")]
    assert upstream == [None, "3", "5"]
    if mode_arkor.studio is not None:
        sent = [r for r in mode_arkor.studio.requests if r.target.endswith("/events")]
        assert [r.target for r in sent] == ["/api/jobs/j1/events"] * 3
        assert [r.headers.get("last-event-id") for r in sent] == [None, "3", "5"]
        assert_token_stayed_in_headers(mode_arkor.studio)


def test_history_replays_the_stream_in_each_mode(mode_arkor: ModeArkor):
    emit_run(mode_arkor.sim, "j2", steps=4)
    with mode_arkor.backend() as backend:
        history = load_history(backend, "j2")
    assert history.job is not None and history.job.status == "completed"
    assert [e.name for e in history.events].count("training.log") == 4
    assert history.complete and history.source == "stream"
    with mode_arkor.backend() as backend, pytest.raises(NotFoundError, match="No job nope"):
        load_history(backend, "nope")


def test_stream_of_unknown_job_through_studio_is_not_found(studio):
    with studio_backend(studio) as backend, pytest.raises(NotFoundError):
        list(follow_events(backend, "ghost", StreamOptions(max_retries=2, sleep=lambda _: None)))


# ---- the token ------------------------------------------------------------------


def test_wrong_token_from_env_or_file_names_its_source(studio_arkor: ModeArkor):
    """A token that Studio's page does not show is never sent: exit 5 before any
    /api request (the page is the proof; see tests/test_studio_discovery.py)."""
    result = studio_arkor.cli("jobs", ARKOR_STUDIO_TOKEN="stale-token-from-yesterday")
    assert result.code == 5
    assert "is not the Studio whose token is in ARKOR_STUDIO_TOKEN" in result.stderr
    assert "stale-token" not in result.output and "Traceback" not in result.stderr

    studio_arkor.studio_token_file.write_text("  stale-file-token\n")
    result = studio_arkor.cli("jobs")
    assert result.code == 5 and str(studio_arkor.studio_token_file) in result.stderr
    assert "stale-file-token" not in result.output
    assert studio_arkor.studio.requests == []  # no /api request carried a stale token


def test_wrong_token_on_the_event_stream_is_exit_4_not_a_retry(studio):
    emit_run(studio.sim, "j1")
    with studio_backend(studio, token="nope", source="ARKOR_STUDIO_TOKEN") as backend:
        with pytest.raises(AuthError) as caught:
            list(
                follow_events(backend, "j1", StreamOptions(max_retries=None, sleep=lambda _: None))
            )
    assert "ARKOR_STUDIO_TOKEN" in (caught.value.hint or "")
    assert len(studio.requests) == 1


def test_missing_or_empty_token(studio_arkor: ModeArkor):
    studio_arkor.studio_token_file.unlink()
    result = studio_arkor.cli("jobs")
    assert result.code == 4
    assert f"No Studio token at {studio_arkor.studio_token_file}" in result.stderr
    assert "`arkor dev` writes it every time it starts" in result.stderr
    assert studio_arkor.studio.requests == []
    studio_arkor.studio_token_file.write_text(" \n")
    assert "is empty" in studio_arkor.cli("jobs").stderr
    result = studio_arkor.cli("jobs", ARKOR_STUDIO_TOKEN="")
    assert result.code == 4 and "ARKOR_STUDIO_TOKEN is set but empty" in result.stderr
    # The environment wins over the file.
    result = studio_arkor.cli("jobs", ARKOR_STUDIO_TOKEN=studio_arkor.studio.token)
    assert result.code == 0, result.stderr


# ---- where Studio is ---------------------------------------------------------------


def test_studio_not_running_is_exit_5(arkor):
    arkor.home.joinpath(".arkor", "studio-token").write_text(STUDIO_TOKEN)
    result = arkor.cli("--studio-url", "http://127.0.0.1:1", "jobs")
    assert result.code == 5
    assert "Studio is not running at http://127.0.0.1:1." in result.stderr
    assert "`arkor dev`" in result.stderr and "drop --studio" in result.stderr
    result = arkor.cli("jobs", ARKOR_STUDIO_URL="http://localhost:1")
    assert result.code == 5 and "Studio is not running at http://localhost:1" in result.stderr
    assert "unset ARKOR_STUDIO_URL" in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "http://0.0.0.0:{port}",  # reaches this machine on Linux, but is not loopback-only
        "http://127.1:{port}",
        "http://127.0.0.2:{port}",
        "http://[::1]:{port}",
        "http://studio-user@127.0.0.1:{port}",
        "http://127.0.0.1:{port}@127.0.0.1:{port}",
        "https://127.0.0.1:{port}",
        "ftp://127.0.0.1:{port}",
        "127.0.0.1:{port}",
        "http://127.0.0.1.nip.io:{port}",
        "http://example.com",
        "http://127.0.0.1:{port}/api?studioToken=x",
        # Look-alikes, user info, brackets, trailing dots, odd ports:
        "http://127.0.0.1.evil.com:{port}",
        "http://localhost.evil.com:{port}",
        "http://evil.com#@127.0.0.1:{port}",
        "http://127.0.0.1@evil.com",
        "http://127.0.0.1:{port}@evil.com",
        "http://127.0.0.1:{port}\\@evil.com",
        "http://127.0.0.1:{port}\\.evil.com",
        "http://localhost%2eevil.com:{port}",
        "http://[127.0.0.1]:{port}",
        "http://[::1",
        "http://[::ffff:127.0.0.1]:{port}",
        "http://localhost.:{port}",
        "http://127.0.0.1.:{port}",
        "http://127.0.0.01:{port}",
        "http://2130706433:{port}",
        "http://0x7f.1:{port}",
        "http://localhost:0",
        "http://localhost:{port}:{port}",
        "http://localhost:+{port}",
        "http://localhost:99999",
        "HTTPS://LOCALHOST:{port}",
        "http://:{port}",
        "http://127.0.0.1:{port}/#x",
    ],
)
def test_non_loopback_urls_are_refused_before_anything_is_sent(arkor, studio, url):
    url = url.format(port=studio.port)
    arkor.home.joinpath(".arkor", "studio-token").write_text(studio.token)
    for result in (
        arkor.cli("--studio-url", url, "jobs"),
        arkor.cli("jobs", ARKOR_STUDIO_URL=url),
    ):
        assert result.code == 2, (url, result.output)
        assert result.stderr.startswith("arkor-studio: ") and "Traceback" not in result.stderr
    assert studio.requests == [] and arkor.sim.requests == []


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("http://LOCALHOST:{port}", "localhost:{port}"),  # Studio's guard wants lower case
        ("HTTP://127.0.0.1:{port}/", "127.0.0.1:{port}"),
        ("http://LocalHost:{port}//", "localhost:{port}"),
        ("http://127.0.0.1:0{port}", "127.0.0.1:{port}"),
    ],
)
def test_loopback_spellings_are_normalised_to_what_studio_accepts(arkor, studio, given, used):
    arkor.home.joinpath(".arkor", "studio-token").write_text(studio.token)
    result = arkor.cli("--studio-url", given.format(port=studio.port), "jobs", "--json")
    assert result.code == 0, result.stderr
    assert [r.headers["host"] for r in studio.requests] == [used.format(port=studio.port)]


def test_refused_urls_never_repeat_a_token_or_password(arkor):
    token = "studio-SECRET-in-a-pasted-url"
    for url in (
        f"http://127.0.0.1:4000/?studioToken={token}",
        f"http://127.0.0.1:4000/api/jobs/j1/events?studioToken={token}",
        f"127.0.0.1:4000/?studioToken={token}",
        f"https://127.0.0.1:4000/?studioToken={token}",
        f"http://u:{token}@127.0.0.1:4000",
        f"http://[127.0.0.1]:4000/?studioToken={token}",
        f"http://127.0.0.1:4000#{token}",
    ):
        result = arkor.cli("--studio-url", url, "jobs")
        assert result.code == 2, (url, result.output)
        assert token not in result.output and "SECRET" not in result.output, result.output
    assert arkor.sim.requests == []


def test_studio_url_forms_and_precedence(arkor, studio):
    add_jobs(arkor.sim)
    arkor.home.joinpath(".arkor", "studio-token").write_text(studio.token)
    env = {"ARKOR_STUDIO_URL": studio.url}
    forms = [
        (["--studio-url", studio.url, "jobs"], {}),
        ([f"--studio-url={studio.url}", "jobs"], {}),
        (["--studio", "jobs"], env),  # the flag with the URL from the environment
        (["jobs"], env),  # the environment alone
        (["--studio", "--studio-url", f"http://localhost:{studio.port}/", "jobs"], {}),
        # The spellings of an optional value: `--studio URL`, `--studio=URL`.
        (["--studio", studio.url, "jobs"], {}),
        ([f"--studio={studio.url}", "jobs"], {}),
        (["-C", str(arkor.project), "--studio", studio.url, "jobs"], {}),
    ]
    for args, extra in forms:
        before = len(studio.requests)
        result = arkor.cli(*args, "--json", **extra)
        assert result.code == 0, (args, result.stderr)
        assert len(json.loads(result.stdout)) == 3 and len(studio.requests) == before + 1
    hosts = [r.headers["host"] for r in studio.requests]
    assert hosts.count(f"localhost:{studio.port}") == 1  # as given, so Studio's guard passes
    # --no-studio wins over the environment: straight to the cloud.
    before = len(studio.requests)
    result = arkor.cli("--no-studio", "jobs", "--json", **env)
    assert result.code == 0 and len(studio.requests) == before
    # Contradictions are usage errors.
    assert arkor.cli("--studio", "--api-url", arkor.sim.url, "jobs").code == 2
    assert arkor.cli("--no-studio", "--studio-url", studio.url, "jobs").code == 2


def test_studio_value_alias_only_rewrites_a_url_after_studio():
    assert studio_value_alias(["--studio", "jobs"]) == ["--studio", "jobs"]
    assert studio_value_alias(["--studio", "http://x:1", "jobs"]) == [
        "--studio-url",
        "http://x:1",
        "jobs",
    ]
    assert studio_value_alias(["--studio", "localhost:4000", "jobs"])[:2] == [
        "--studio-url",
        "localhost:4000",
    ]
    assert studio_value_alias(["--studio=http://x", "jobs"]) == ["--studio-url=http://x", "jobs"]
    assert studio_value_alias(["--studio"]) == ["--studio"]
    assert studio_value_alias(["--", "--studio", "http://x"]) == ["--", "--studio", "http://x"]
    assert studio_value_alias(["--studio-url", "http://x"]) == ["--studio-url", "http://x"]


def test_studio_without_scheme_gets_a_hint(arkor):
    result = arkor.cli("--studio", "127.0.0.1:4000", "jobs")
    assert result.code == 2 and "hint: Write the scheme too: http://127.0.0.1:4000" in result.stderr


def test_resolve_and_check_studio_url():
    assert resolve_studio_url(None, None, {}) is None
    assert resolve_studio_url(True, None, {}) == (DEFAULT_STUDIO_URL, "--studio")
    assert resolve_studio_url(None, None, {"ARKOR_STUDIO_URL": " "}) is None
    assert resolve_studio_url(False, None, {"ARKOR_STUDIO_URL": "http://x.example"}) is None
    assert resolve_studio_url(None, "http://LOCALHOST:4100/", {}) == (
        "http://localhost:4100",
        "--studio-url",
    )
    assert check_studio_url("http://127.0.0.1", "x") == "http://127.0.0.1"
    with pytest.raises(UsageError, match="studio-url"):
        check_studio_url("http://127.0.0.1:99999", "--studio-url")
    with pytest.raises(UsageError):
        check_studio_url("http://127.0.0.1:4000\n", "x")


# ---- what Studio's API can't do ----------------------------------------------------


def test_cancel_is_unsupported_and_sends_nothing(studio_arkor: ModeArkor):
    sim, studio = studio_arkor.sim, studio_arkor.studio
    sim.add_job("j1", status="running")
    for args in (("cancel", "j1"), ("cancel", "--yes", "j1")):
        result = studio_arkor.cli(*args)
        assert result.code == 2, result.output
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            "arkor-studio: cancel is not available through Studio: its API has no cancel "
            "route, so nothing was sent.",
            "hint: cancel through the cloud API instead: arkor-studio --no-studio cancel j1",
        ]
    # Decided before the token is read: no token file, same answer.
    studio_arkor.studio_token_file.unlink()
    result = studio_arkor.cli("cancel", "-y", "j1")
    assert result.code == 2 and "not available through Studio" in result.stderr
    # Studio mode from the environment: the hint says how to leave it.
    result = run_inprocess(
        ["-C", str(studio_arkor.project), "cancel", "-y", "j1"],
        {**studio_arkor.env, "ARKOR_STUDIO_URL": studio.url},
    )
    assert result.code == 2 and "(ARKOR_STUDIO_URL turned Studio mode on)" in result.stderr
    assert studio.requests == [] and sim.requests == []
    assert sim.jobs["j1"].job["status"] == "running"
    # The backend refuses too, should anything call it.
    with studio_backend(studio) as backend, pytest.raises(UnsupportedError) as caught:
        backend.cancel("j1")
    assert caught.value.exit_code == 2 and studio.requests == []
    # Without --studio the same command cancels through the cloud.
    result = run_inprocess(
        ["-C", str(studio_arkor.project), "cancel", "-y", "j1"],
        {**studio_arkor.env, "ARKOR_STUDIO_URL": studio.url, "ARKOR_STUDIO_TOKEN": "x" * 20},
    )
    assert result.code == 2
    result = run_inprocess(
        ["--no-studio", "-C", str(studio_arkor.project), "cancel", "-y", "j1"],
        {**studio_arkor.env, "ARKOR_STUDIO_URL": studio.url},
    )
    assert result.code == 0, result.output
    assert sim.jobs["j1"].job["status"] == "cancelled" and studio.requests == []


def test_get_job_comes_from_the_list_without_events(studio):
    add_jobs(studio.sim)
    with studio_backend(studio) as backend:
        detail = backend.get_job("job-a")
        assert detail.job.name == "first [b]x[/b]" and detail.events is None
        with pytest.raises(NotFoundError, match="Studio at"):
            backend.get_job("nope")
    assert {r.target for r in studio.requests} == {"/api/jobs"}


# ---- Run training: the manifest and `POST /api/train` ----------------------------


def test_manifest_three_answers(studio):
    with studio_backend(studio) as backend:
        assert backend.manifest() == Manifest("trainer", trainer_name="my-trainer")
        studio.manifest = (200, {"trainer": None})
        assert backend.manifest().kind == "no-trainer"
        studio.manifest = (400, {"error": "Build failed: src/arkor/index.ts:3 typo"})
        manifest = backend.manifest()
        assert manifest.kind == "unreadable"
        assert manifest.error == "Build failed: src/arkor/index.ts:3 typo"
    with studio_backend(studio, token="bad") as backend, pytest.raises(AuthError):
        backend.manifest()
    assert [r.target for r in studio.requests] == ["/api/manifest"] * 4


def run_training(backend: StudioBackend, file: str | None = None) -> tuple[bytes, list[bytes], int]:
    with backend.train(file) as run:
        chunks = list(run)
    return b"".join(chunks), chunks, run.exit_code


def test_train_passes_output_through_byte_exact_with_the_exit_status(studio):
    output = [b"Started job j9\n", b"\x1b[32mstep 1\x1b[0m \xff\xfe\r", b"no newline at the end"]
    studio.train = TrainScript(chunks=output, exit=3)
    with studio_backend(studio) as backend:
        got, _, code = run_training(backend)
        assert (got, code) == (b"".join(output), 3)
        studio.train = TrainScript(chunks=[b"ok\n"], exit=0)
        assert run_training(backend, "/abs/project/src/other.ts")[::2] == (b"ok\n", 0)
        studio.train = TrainScript(chunks=[b"killed\n"], exit=None)
        with backend.train() as run:
            assert b"".join(run) == b"killed\n"
        assert run.signalled and run.exit_code == 1
    bodies = [json.loads(r.body) for r in studio.requests]
    assert bodies == [{}, {"file": "/abs/project/src/other.ts"}, {}]
    assert all(r.method == "POST" and r.target == "/api/train" for r in studio.requests)
    assert_token_stayed_in_headers(studio)


def test_train_streams_without_waiting_for_the_end(studio):
    gate = threading.Event()
    studio.train = TrainScript(chunks=[b"first\n", b"second\n"], gate=gate)
    with studio_backend(studio) as backend, backend.train() as run:
        chunks = iter(run)
        first = b""
        while first != b"first":  # arrives while the server still holds back the rest
            first += next(chunks)
            assert b"first".startswith(first)  # its newline could start the trailer: held
        gate.set()
        assert first + b"".join(chunks) == b"first\nsecond\n"
        assert run.exit_code == 0


@pytest.mark.parametrize("pieces", [[1] * 200, [5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [17, 3, 2]])
def test_trailer_split_across_chunks_is_never_output(studio, pieces):
    output = b"line one\nline two without newline"
    studio.train = TrainScript(raw=output + b"\n---\nexit=7\n", pieces=pieces)
    with studio_backend(studio) as backend:
        got, chunks, code = run_training(backend)
    assert (got, code) == (output, 7)
    assert not any(b"---" in chunk or b"exit=" in chunk for chunk in chunks)


def test_train_failed_to_start_is_a_clear_error(studio):
    studio.train = TrainScript(chunks=[b"building...\n"], start_error="spawn node ENOENT")
    with studio_backend(studio) as backend, backend.train() as run:
        got = []
        with pytest.raises(ConfigError) as caught:
            for chunk in run:
                got.append(chunk)
    assert b"".join(got) == b"building...\n"
    assert caught.value.message == "Studio could not start `arkor start`: spawn node ENOENT"
    assert caught.value.exit_code == 4


def test_train_answer_without_trailer_or_refused(studio):
    studio.train = TrainScript(raw=b"Started job j1\npartial", pieces=[4])
    with studio_backend(studio) as backend:
        with backend.train() as run, pytest.raises(UnreachableError, match="without an exit"):
            assert b"".join(run) == b"Started job j1\npartial"
        with pytest.raises(UsageError, match="inside the project directory"):
            backend.train("../outside.ts").__enter__()
    with studio_backend(studio, token="bad") as backend, pytest.raises(AuthError):
        backend.train().__enter__()
    closed = StudioBackend("http://127.0.0.1:1", token=StudioToken("t" * 20, "test"))
    with closed, pytest.raises(UnreachableError, match="Studio is not running"):
        closed.train().__enter__()


# ---- the fake is faithful where it matters -----------------------------------------


def test_fake_studio_checks_host_and_token_like_the_real_one(studio):
    import http.client

    def get(path: str, headers: dict[str, str]) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", studio.port, timeout=5)
        conn.request("GET", path, headers=headers)
        status = conn.getresponse().status
        conn.close()
        return status

    good = {"X-Arkor-Studio-Token": studio.token}
    assert get("/api/manifest", good) == 200
    assert get("/api/manifest", {**good, "Host": "evil.example:4000"}) == 403
    assert get("/api/manifest", {}) == 403
    assert get(f"/api/manifest?studioToken={studio.token}", {}) == 403  # stream only
    studio.sim.add_job("j1")
    studio.sim.end("j1")
    assert get(f"/api/jobs/j1/events?studioToken={studio.token}", {}) == 200


def test_cloud_auth_errors_passed_on_by_studio_are_not_blamed_on_the_token(studio_arkor):
    studio_arkor.sim.add_fault("jobs", Fault(status=401, body=json.dumps({"error": "expired"})))
    result = studio_arkor.cli("jobs")
    assert result.code == 4 and "the cloud API answered: expired" in result.stderr
    assert "arkor login" in result.stderr and "studio-token" not in result.stderr
    studio_arkor.sim.add_fault("stream:j1", Fault(status=401, body=json.dumps({"error": "x"})))
    studio_arkor.sim.add_job("j1")
    with studio_arkor.backend() as backend, pytest.raises(AuthError) as caught:
        list(follow_events(backend, "j1", StreamOptions(sleep=lambda _: None)))
    assert "arkor login" in (caught.value.hint or "")


def test_train_spawn_refused_with_500_is_a_start_error(studio):
    studio.train = TrainScript(refuse=(500, "Failed to spawn training subprocess: EAGAIN"))
    with studio_backend(studio) as backend, pytest.raises(ConfigError, match="EAGAIN"):
        backend.train().__enter__()
    studio.train = TrainScript(refuse=(409, "a run is in flight"))
    with studio_backend(studio) as backend, pytest.raises(ApiError, match="in flight"):
        backend.train().__enter__()


def test_studio_mode_end_to_end_in_a_subprocess(mode_arkor: ModeArkor):
    add_jobs(mode_arkor.sim)
    result = mode_arkor.run("jobs", "--json")
    assert result.code == 0, result.stderr
    assert [j["id"] for j in json.loads(result.stdout)] == ["job-b", "job-a", "job-c"]
    result = mode_arkor.run("jobs", ARKOR_STUDIO_TOKEN="wrong-token-123")
    assert result.code == (5 if mode_arkor.mode == "studio" else 0), result.stderr
    assert "Traceback" not in result.stderr and "wrong-token-123" not in result.output


# ---- the token stays in the header, whatever the command ---------------------------


def test_the_token_is_never_in_a_url_or_any_output(studio_arkor: ModeArkor):
    sim, studio = studio_arkor.sim, studio_arkor.studio
    add_jobs(sim)
    emit_run(sim, "j1")
    sim.emit("j1", "checkpoint.saved", {"step": 3, "artifacts": ["ckpt/3"]})
    wrong = "studio-SECRET-stale-0000"
    runs = [
        *(
            studio_arkor.cli(*args)
            for args in (
                ("jobs",),
                ("jobs", "--json", "-s", "running"),
                ("watch", "j1", "--plain"),
                ("watch", "j1", "--json"),
                ("stats", "j1"),
                ("stats", "j1", "--json"),
                ("artifacts", "j1"),
                ("artifacts", "j1", "--json"),
                ("show", "j1"),
                ("show", "job-a", "--json"),
                ("cancel", "-y", "j1"),
                ("watch", "nope", "--plain"),
                ("show", "nope"),
            )
        ),
        *(
            studio_arkor.cli(*args, ARKOR_STUDIO_TOKEN=wrong)
            for args in (("jobs",), ("watch", "j1"), ("stats", "j1"), ("artifacts", "j1"))
        ),
        # With a traceback on: the token is in no message, local or frame shown.
        studio_arkor.run(
            "watch", "j1", "--plain", ARKOR_STUDIO_TOKEN=wrong, ARKOR_STUDIO_DEBUG="1"
        ),
    ]
    assert [r.code for r in runs] == [0] * 10 + [2, 1, 1] + [5] * 5
    for result in runs:
        for secret in (STUDIO_TOKEN, wrong, TOKEN):
            assert secret not in result.output, result.output
    refused = runs[-2].stderr
    assert f"{studio.url} is not the Studio whose token is in ARKOR_STUDIO_TOKEN" in refused
    # Studio's request log: paths only, the token in the header (only the right one:
    # the stale one never left), never in a query; the cloud token never sent to Studio.
    targets = {r.target for r in studio.requests}
    assert targets == {"/api/jobs", "/api/jobs/j1/events", "/api/jobs/nope/events"}
    for request in studio.requests:
        assert request.headers["x-arkor-studio-token"] == STUDIO_TOKEN
        assert "authorization" not in request.headers
    # And Studio's own requests upstream carry no Studio token either.
    for request in sim.requests:
        assert STUDIO_TOKEN not in json.dumps([request.path, request.query, request.headers])


def test_fake_studio_takes_a_present_header_over_the_query_as_studio_does(studio):
    import http.client

    studio.sim.add_job("j1")
    studio.sim.end("j1")
    conn = http.client.HTTPConnection("127.0.0.1", studio.port, timeout=5)
    conn.request(
        "GET",
        f"/api/jobs/j1/events?studioToken={studio.token}",
        headers={"X-Arkor-Studio-Token": ""},
    )
    assert conn.getresponse().status == 403  # `header ?? query`: an empty header counts
    conn.close()


def test_the_cloud_token_studio_holds_is_cut_from_what_it_passes_on(studio_arkor: ModeArkor):
    """Studio proxies with the user's cloud token (in ~/.arkor/credentials.json,
    TOKEN here): an echo of it, in a name, an event or an error Studio passes
    on, is cut as the Studio token is."""
    sim = studio_arkor.sim
    sim.add_job("j1", name=f"name {TOKEN}", status="running", created_at=OLD)
    sim.emit("j1", "training.log", {"step": 1, "loss": 0.5, "note": TOKEN})
    sim.emit("j1", "training.failed", {"error": f"auth {TOKEN} refused"})
    sim.end("j1")
    runs = [
        studio_arkor.cli(*args)
        for args in (("jobs",), ("jobs", "--json"), ("watch", "j1", "--json"), ("show", "j1"))
    ]
    assert [r.code for r in runs] == [0, 0, 1, 0], [r.output for r in runs]
    for result in runs:
        assert TOKEN not in result.output, result.output
    assert "name [redacted]" in runs[1].stdout
    assert "auth [redacted] refused" in runs[2].stdout
    # Without readable credentials Studio mode still works (it needs none).
    studio_arkor.credentials_file.write_text("{not json")
    assert studio_arkor.cli("jobs", "--json").code == 0
