"""`arkor-studio stats` end to end against the loopback simulator, and its cards."""

from __future__ import annotations

import gc
import io
import json
import math
import time

import numpy as np
import pytest
from rich.console import Console

from arkor_cli_studio.model import event_record, parse_event
from arkor_cli_studio.render.stats import stats_panel, stats_view
from arkor_cli_studio.simulator import Fault
from arkor_cli_studio.stats import EMPTY, summarize
from tests.helpers import TOKEN, run_inprocess, run_subprocess
from tests.test_stats import STANDARD_T_95

KEY_ORDER = ["count", "mean", "ci95HalfWidth", "stddev", "variance", "p90", "p95"]


def expected(values: list[float]) -> dict[str, object]:
    """numpy's answer for one series, in the `--json` shape."""
    if not values:
        return {key: (0 if key == "count" else None) for key in KEY_ORDER}
    data = np.array(values)
    n = len(data)
    std = float(np.std(data, ddof=1)) if n > 1 else 0.0
    t = STANDARD_T_95[n - 1] if 1 < n <= 31 else 1.96
    return {
        "count": n,
        "mean": float(np.mean(data)),
        "ci95HalfWidth": t * std / math.sqrt(n),
        "stddev": std,
        "variance": std * std if n == 1 else float(np.var(data, ddof=1)),
        "p90": float(np.percentile(data, 90)),
        "p95": float(np.percentile(data, 95)),
    }


def assert_series(got: dict[str, object], values: list[float]) -> None:
    want = expected(values)
    assert list(got) == KEY_ORDER
    for key in KEY_ORDER:
        if want[key] is None or key == "count":
            assert got[key] == want[key], key
        else:
            assert math.isclose(got[key], want[key], rel_tol=1e-9), key  # type: ignore[arg-type]


def run_job(sim, job_id: str, *, n: int = 60, eval_every: int = 10, seed: int = 0, **job):
    """A training run with awkward frames mixed in; returns the chart's values."""
    rng = np.random.default_rng(seed)
    sim.add_job(job_id, status="queued", **job)
    sim.emit(job_id, "training.started", {})
    loss: list[float] = []
    evals: list[float] = []
    for step in range(1, n + 1):
        value = float(2.0 * math.exp(-step / 30) + rng.normal(0, 0.05))
        payload: dict[str, object] = {"step": step, "loss": value, "evalLoss": None}
        loss.append(value)
        if step % eval_every == 0:
            payload["evalLoss"] = value + 0.1
            evals.append(value + 0.1)
        sim.emit(job_id, "training.log", payload)
        if step == 5:
            # eval-only frame: counts for eval
            sim.emit(job_id, "training.log", {"step": step, "evalLoss": 1.5})
            evals.append(1.5)
            # neither field numeric: counts for neither
            sim.emit(job_id, "training.log", {"step": step, "loss": None, "evalLoss": None})
            # non-finite numbers are absent (JSON overflow, NaN)
            sim.emit(
                job_id,
                "training.log",
                raw_data=f'{{"type":"training.log","jobId":"{job_id}","step":5,'
                '"loss":1e309,"evalLoss":NaN}',
            )
            sim.emit(job_id, "training.log", raw_data="not json")  # skipped
            sim.emit(job_id, "checkpoint.saved", {"step": 5, "loss": 99.0})  # not a log
    return loss, evals


def finish(sim, job_id: str) -> None:
    sim.emit(job_id, "training.completed", {"artifacts": [{"pathname": "a"}]})
    sim.end(job_id)


def ndjson_of(sim, job_id: str) -> str:
    """What `watch --json` writes for this job: one event_record() per event."""
    lines = []
    for frame in sim.jobs[job_id].frames:
        event = parse_event(frame.event, frame.id, frame.data)
        if event is not None:
            lines.append(json.dumps(event_record(event)))
    return "\n".join(lines) + "\n"


def stats_json(result) -> dict:
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


# --------------------------------------------------------------------------
# Sources


def test_finished_job_from_the_stream(arkor):
    loss, evals = run_job(arkor.sim, "job-1")
    finish(arkor.sim, "job-1")
    body = stats_json(arkor.cli("stats", "job-1", "--json"))
    assert_series(body["loss"], loss)
    assert_series(body["evalLoss"], evals)
    assert (body["complete"], body["source"], body["jobId"]) == (True, "stream", "job-1")
    assert [r.path for r in arkor.sim.requests] == [
        "/v1/jobs/job-1",
        "/v1/jobs/job-1/events/stream",
    ]
    text = arkor.cli("stats", "job-1")
    assert text.code == 0
    assert "Training loss" in text.stdout and "Eval loss" in text.stdout
    assert "So far" not in text.output and "completed" in text.stdout
    assert TOKEN not in text.output + json.dumps(body)


def test_running_job_is_read_until_caught_up_and_says_so_far(arkor):
    loss, evals = run_job(arkor.sim, "live", n=40)
    started = time.monotonic()
    body = stats_json(arkor.cli("stats", "live", "--json"))
    assert time.monotonic() - started < 5  # caught up at the first ping, not at a timeout
    assert body["complete"] is False
    assert_series(body["loss"], loss)
    assert_series(body["evalLoss"], evals)
    text = arkor.cli("stats", "live")
    assert "So far: the run has not finished" in text.stdout
    assert "Job live · running · from the event stream" in text.stdout


def test_job_whose_detail_carries_events_needs_no_stream(arkor):
    loss, evals = run_job(arkor.sim, "hist", detail_events=True)
    finish(arkor.sim, "hist")
    body = stats_json(arkor.cli("stats", "hist", "--json"))
    assert body["source"] == "detail" and body["complete"] is True
    assert_series(body["loss"], loss)
    assert_series(body["evalLoss"], evals)
    assert arkor.sim.stream_requests("hist") == []


def test_all_sources_agree(arkor, tmp_path):
    run_job(arkor.sim, "a", n=80, seed=3)
    finish(arkor.sim, "a")
    run_job(arkor.sim, "b", n=80, seed=3, detail_events=True)  # same values, other id
    finish(arkor.sim, "b")
    path = tmp_path / "run.ndjson"
    text = ndjson_of(arkor.sim, "a")
    path.write_text(text)

    stream = stats_json(arkor.cli("stats", "a", "--json"))
    detail = stats_json(arkor.cli("stats", "b", "--json"))
    from_file = stats_json(arkor.cli("stats", "--file", str(path), "--json"))
    from_stdin = stats_json(arkor.cli("stats", "--file", "-", "--json", stdin=text))
    piped = run_subprocess(
        arkor.args(("stats", "--file", "-", "--json")), arkor.env, stdin=text
    )  # a real stdin (bytes)
    for body in (detail, from_file, from_stdin, stats_json(piped)):
        assert body["loss"] == stream["loss"]
        assert body["evalLoss"] == stream["evalLoss"]
        assert body["complete"] is True
    assert (from_file["source"], from_file["jobId"]) == ("file", "a")
    assert stream["loss"]["count"] == 80 and stream["evalLoss"]["count"] == 9


def test_last_n_is_studios_chart_window(arkor):
    loss, evals = run_job(arkor.sim, "j", n=50)
    finish(arkor.sim, "j")
    body = stats_json(arkor.cli("stats", "j", "--json", "--last", "3"))
    assert (body["last"], body["window"]) == (3, "chart")
    # The last 3 chart frames are steps 48, 49, 50: one eval value among them
    # (not the eval series' own last 3, which reach back to step 30).
    assert_series(body["loss"], loss[-3:])
    assert_series(body["evalLoss"], evals[-1:])
    assert stats_json(arkor.cli("stats", "j", "--json"))["window"] == "run"
    text = arkor.cli("stats", "j", "--last", "2000").stdout
    assert "Training loss · last 2,000 points" in text and "Eval loss · last 2,000" in text
    assert "Studio's chart points" in text
    assert "Training loss · whole run" in arkor.cli("stats", "j").stdout
    assert arkor.cli("stats", "j", "--last", "0").code == 2


def test_empty_job_and_eval_only(arkor):
    arkor.sim.add_job("nothing", status="running")
    arkor.sim.emit("nothing", "training.started", {})
    arkor.sim.emit("nothing", "training.log", {"step": 1, "loss": None})
    finish(arkor.sim, "nothing")
    body = stats_json(arkor.cli("stats", "nothing", "--json"))
    assert_series(body["loss"], [])
    assert_series(body["evalLoss"], [])
    text = arkor.cli("stats", "nothing").stdout
    assert "No training loss points yet." in text and "No eval points yet." in text

    arkor.sim.add_job("evals", status="running")
    arkor.sim.emit("evals", "training.log", {"step": 10, "evalLoss": 0.4})
    finish(arkor.sim, "evals")
    body = stats_json(arkor.cli("stats", "evals", "--json"))
    assert body["loss"]["count"] == 0 and body["loss"]["mean"] is None
    assert body["evalLoss"] == {**expected([0.4]), "ci95HalfWidth": 0.0, "variance": 0.0}


# --------------------------------------------------------------------------
# --file details and errors


def test_file_bad_lines_are_skipped_and_counted(arkor, tmp_path):
    run_job(arkor.sim, "f", n=20)
    finish(arkor.sim, "f")
    good = ndjson_of(arkor.sim, "f").splitlines()
    lines = [
        good[0],
        "not json",
        "",
        "[1, 2]",
        '{"no": "event"}',
        '{"event": "training.future", "data": {"loss": 5}}',  # unknown: quiet
        *good[1:],
    ]
    path = tmp_path / "run.ndjson"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'\xff\xfe{"event"\n')
    result = arkor.cli("stats", "--file", str(path), "--json")
    assert result.code == 0
    assert "skipped 4 lines" in result.stderr and "line 2" in result.stderr
    assert stats_json(result)["loss"]["count"] == 20


def test_file_errors_are_usage_errors(arkor, tmp_path):
    missing = arkor.cli("stats", "--file", str(tmp_path / "nope.ndjson"))
    assert missing.code == 2 and "No such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    directory = arkor.cli("stats", "--file", str(tmp_path))
    assert directory.code == 2 and "directory" in directory.stderr
    junk = tmp_path / "junk.csv"
    junk.write_text("step,loss\n1,0.5\n")
    result = arkor.cli("stats", "--file", str(junk))
    assert result.code == 2 and "holds no event records" in result.stderr
    empty = tmp_path / "empty.ndjson"
    empty.write_text("")
    result = arkor.cli("stats", "--file", str(empty), "--json")
    assert stats_json(result)["complete"] is False
    nothing = arkor.cli("stats")
    assert nothing.code == 2 and "--file" in nothing.stderr


def test_file_needs_no_project(arkor, tmp_path):
    """Issue 18.10: `-C /nonexistent stats --file x` reads the file (exit 0), or
    says what is wrong with the file; the missing project is not its business."""
    run_job(arkor.sim, "f", n=5)
    finish(arkor.sim, "f")
    path = tmp_path / "run.ndjson"
    path.write_text(ndjson_of(arkor.sim, "f"))
    nowhere = ("-C", str(tmp_path / "nonexistent"))
    env = {**arkor.env, "HOME": str(tmp_path / "no-home")}  # no credentials either
    result = run_inprocess([*nowhere, "stats", "--file", str(path), "--json"], env)
    assert result.code == 0, result.stderr
    assert stats_json(result)["loss"]["count"] == 5
    text = run_inprocess([*nowhere, "--no-color", "stats", "--file", str(path)], env)
    assert text.code == 0 and "Training loss · whole run" in text.stdout
    assert "\x1b[" not in text.stdout
    missing = run_inprocess([*nowhere, "stats", "--file", str(tmp_path / "nope.ndjson")], env)
    assert missing.code == 2 and "Can't read --file" in missing.stderr
    assert "Project directory" not in missing.stderr
    # without --file the project is still checked
    api = run_inprocess([*nowhere, "stats", "f"], env)
    assert api.code == 2 and "Project directory" in api.stderr


def test_file_with_several_jobs_asks_which(arkor, tmp_path):
    for job_id, seed in (("x", 1), ("y", 2)):
        run_job(arkor.sim, job_id, n=10, seed=seed)
    finish(arkor.sim, "y")
    path = tmp_path / "both.ndjson"
    path.write_text(ndjson_of(arkor.sim, "x") + ndjson_of(arkor.sim, "y"))
    result = arkor.cli("stats", "--file", str(path))
    assert result.code == 2 and "2 jobs (x, y)" in result.stderr
    x = stats_json(arkor.cli("stats", "x", "--file", str(path), "--json"))
    y = stats_json(arkor.cli("stats", "y", "--file", str(path), "--json"))
    assert arkor.sim.requests == []  # --file never touches the network
    assert x["loss"] == stats_json(arkor.cli("stats", "x", "--json"))["loss"]
    assert y["loss"] == stats_json(arkor.cli("stats", "y", "--json"))["loss"]
    # y's `end` names no job: it belongs to y (the job before it), not to x
    assert (x["complete"], y["complete"], y["jobId"]) == (False, True, "y")
    other = arkor.cli("stats", "z", "--file", str(path))
    assert other.code == 2 and "no events of job z" in other.stderr


def test_api_errors(arkor):
    result = arkor.cli("stats", "ghost")
    assert result.code == 1 and "No job ghost" in result.stderr
    arkor.sim.add_job("j", status="completed")
    arkor.sim.add_fault("detail:j", Fault(status=401, body=json.dumps({"error": "expired"})))
    result = arkor.cli("stats", "j")
    assert result.code == 4 and "expired" in result.stderr
    assert arkor.cli("stats", "..").code == 2


def test_help_has_examples(arkor):
    result = arkor.cli("stats", "--help")
    assert result.code == 0 and "Examples:" in result.stdout and "--file" in result.stdout


# --------------------------------------------------------------------------
# The cards (snapshots at fixed widths)


def render(renderable, width: int = 100) -> str:
    console = Console(
        file=io.StringIO(), record=True, width=width, color_system=None, force_terminal=False
    )
    console.print(renderable)
    return console.export_text()


@pytest.fixture
def sample():
    rng = np.random.default_rng(42)
    return summarize(rng.normal(1.3, 0.25, 1234).tolist()), summarize([0.52, 0.47, 0.61])


def test_cards_side_by_side(sample, snapshot):
    loss, eval_loss = sample
    assert render(stats_view(loss, eval_loss, so_far=False, title="Job j1 · completed")) == snapshot


def test_cards_so_far_with_empty_eval_and_last(sample, snapshot):
    out = render(stats_view(sample[0], EMPTY, so_far=True, last=2000))
    assert "No eval points yet." in out and "So far" in out
    assert out == snapshot


def test_cards_stack_when_narrow_and_nothing_yet(snapshot):
    out = render(stats_view(EMPTY, EMPTY, so_far=True), width=50)
    assert out.index("Training loss") < out.index("Eval loss")
    assert out == snapshot


def test_panel_for_watch_and_tiny_values(snapshot):
    tiny = summarize([1e-5, 3e-5, 2e-5])
    one = summarize([0.5])
    assert render(stats_panel(tiny, one, so_far=False, expand=False), width=90) == snapshot


def test_title_is_data_not_markup():
    out = render(stats_view(EMPTY, EMPTY, so_far=False, title="[bold]x[/] \x1b[31mred\x07"))
    assert "[bold]x[/] red" in out and "\x1b" not in out


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "-"),
        (math.nan, "-"),
        (math.inf, "overflow"),
        (0.0, "0"),
        (1.29264, "1.2926"),
        (0.2470, "0.2470"),
        (0.005025, "0.005025"),  # a small variance keeps its digits
        (5e-5, "5.000e-05"),
        (2e6, "2.000e+06"),
        (-0.5, "-0.5000"),
    ],
)
def test_format_value(value, text):
    from arkor_cli_studio.render.stats import format_value

    assert format_value(value) == text


def test_command_output_snapshot(arkor, snapshot):
    arkor.sim.add_job("job-9", status="running")
    for step, (loss, eval_loss) in enumerate(
        [(2.0, None), (1.5, None), (1.25, 1.4), (1.1, None), (0.95, 1.2), (0.9, None)], 1
    ):
        arkor.sim.emit("job-9", "training.log", {"step": step, "loss": loss, "evalLoss": eval_loss})
    finish(arkor.sim, "job-9")
    result = arkor.cli("stats", "job-9", COLUMNS="100")
    assert result.code == 0 and result.stderr == ""
    assert result.stdout == snapshot


def test_a_lagging_detail_does_not_win_over_the_streams_end(arkor):
    run_job(arkor.sim, "lag", n=5)
    finish(arkor.sim, "lag")
    arkor.sim.update_job("lag", status="running")  # the detail is behind the stream
    text = arkor.cli("stats", "lag")
    assert "Job lag · completed · from the event stream" in text.stdout
    assert "So far" not in text.stdout


# --------------------------------------------------------------------------
# Memory: `stats JOB_ID` folds the events as they arrive (issue 22, item 2)


def live_events() -> int:
    """How many `model.Event` objects are alive in this process right now."""
    from arkor_cli_studio.model import Event

    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is Event)


def test_stats_of_a_long_stream_does_not_hold_its_events(arkor, monkeypatch):
    from arkor_cli_studio.stats import ChartSeries

    n = 3000
    loss, _ = run_job(arkor.sim, "long", n=n)
    finish(arkor.sim, "long")
    alive: list[int] = []
    feed = ChartSeries.feed

    def watching_feed(self, event):  # type: ignore[no-untyped-def]
        if event.name == "training.completed":  # the last event: everything went by
            alive.append(live_events())
        return feed(self, event)

    monkeypatch.setattr(ChartSeries, "feed", watching_feed)
    body = stats_json(arkor.cli("stats", "long", "--json"))
    assert body["loss"]["count"] == len(loss) and body["complete"] is True
    # Holding the run's events would leave > 3,000 alive here; a read's batch is all.
    assert alive and alive[0] < 300, alive


# --------------------------------------------------------------------------
# --file is linear in the events, whatever the number of jobs (issue 22, item 5)


class CountingId(str):
    """A job id that counts the equality checks made against it."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        CountingId.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_picking_a_job_out_of_many_does_not_search_a_list(tmp_path):
    from arkor_cli_studio.commands.stats import series_of_job
    from arkor_cli_studio.model import Event

    jobs = 2000
    events = [
        Event("training.log", str(i), {"jobId": CountingId(f"job-{i % jobs}"), "loss": 1.0})
        for i in range(4 * jobs)
    ]
    CountingId.compared = 0
    picked = series_of_job(events, "job-7")
    assert (picked.target, picked.seen, len(picked.others)) == ("job-7", True, jobs - 1)
    assert len(picked.series.loss) == 4
    # A list of the other jobs searched per event: ~16 million comparisons.
    # An ordered set: a few per event.
    assert CountingId.compared < 5 * len(events), CountingId.compared


def test_file_of_many_jobs_end_to_end(arkor, tmp_path):
    lines = [
        json.dumps(
            {"event": "training.log", "id": str(i), "data": {"jobId": f"j{i % 500}", "loss": i}}
        )
        for i in range(5000)
    ]
    path = tmp_path / "many.ndjson"
    path.write_text("\n".join(lines) + "\n")
    body = stats_json(arkor.cli("stats", "j3", "--file", str(path), "--json"))
    assert body["loss"]["count"] == 10 and body["jobId"] == "j3"
    result = arkor.cli("stats", "--file", str(path))
    assert result.code == 2 and "500 jobs (j0, j1, j2, j3, j4)" in result.stderr


# --------------------------------------------------------------------------
# Losses near the largest float (issue 17, item 7)


def huge_job(sim, job_id: str, losses: list[float]) -> None:
    sim.add_job(job_id, status="queued")
    sim.emit(job_id, "training.started", {})
    for step, value in enumerate(losses, 1):
        sim.emit(job_id, "training.log", {"step": step, "loss": value})
    finish(sim, job_id)


def test_two_losses_of_1_7e308_are_a_card_not_a_crash(arkor):
    huge_job(arkor.sim, "huge", [1.7e308, 1.7e308])
    body = stats_json(arkor.cli("stats", "huge", "--json"))
    assert body["loss"] == {
        "count": 2,
        "mean": 1.7e308,
        "ci95HalfWidth": 0.0,
        "stddev": 0.0,
        "variance": 0.0,
        "p90": 1.7e308,
        "p95": 1.7e308,
    }
    cards = arkor.cli("stats", "huge")
    assert cards.code == 0 and "1.700e+308" in cards.stdout, cards.stderr
    # watch --advanced prints the same cards at the end and exits by the
    # job's outcome (completed: 0), not 1 for an "intermediate overflow"
    watched = arkor.cli("watch", "huge", "--plain", "--advanced")
    assert watched.code == 0, watched.stderr
    assert "1.700e+308" in watched.stdout and "overflow" not in watched.stdout


def test_a_variance_past_the_largest_float_reads_overflow(arkor):
    huge_job(arkor.sim, "wide", [1.7e308, -1.7e308])
    body = stats_json(arkor.cli("stats", "wide", "--json"))
    assert body["loss"]["mean"] == 0.0 and body["loss"]["variance"] is None
    cards = arkor.cli("stats", "wide")
    assert cards.code == 0 and "overflow" in cards.stdout
    watched = arkor.run("watch", "wide", "--plain", "--advanced")
    assert watched.code == 0 and "overflow" in watched.stdout, watched.stderr
