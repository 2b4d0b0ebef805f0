"""The jobs table (issue 16 items 8-9, issue 15's jobs-list parts): names
never wrapped, IDs never cut, columns that give way on a narrow terminal,
--search, Duration, relative Created, "No matches", the --follow board."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from arkor_cli_studio.model import parse_jobs
from arkor_cli_studio.render.joblist import _local_text, job_rows, object_rows, relative_time
from arkor_cli_studio.render.jobs import jobs_board
from arkor_cli_studio.render.jobtable import fit, table_lines

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
LONG = "sft-gemma-3-270m-it-ultrachat-200k-lr2e-4-warmup-cosine-epochs-3-seed-1234"
LONG_ID = "cm9x2m1d80007demo4k2hq9bn"


def iso(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z")


def lines_of(items: list[object], width: int | None) -> list[str]:
    rows = object_rows(items, NOW)
    layout, widths = fit(rows, width)
    return table_lines(rows, layout, widths)


# ---- pure: rows and their fitting ---------------------------------------------------

TRICKY: list[object] = [
    {"id": "a", "name": "plain", "status": "running", "createdAt": iso(200), "startedAt": iso(150)},
    {
        "id": "b",
        "name": "done",
        "status": "completed",
        "createdAt": iso(9000),
        "startedAt": iso(8900),
        "completedAt": iso(8000),
    },
    {
        "id": "c",
        "name": "no end",
        "status": "failed",
        "createdAt": iso(9000),
        "startedAt": iso(8900),
    },
    {"id": "d", "name": "young", "status": "queued", "createdAt": iso(30)},
    {"id": "e", "name": "old", "status": "queued", "createdAt": iso(300)},
    {"id": 7, "name": 3.5, "status": None, "createdAt": "  2026-03-01T11:00:00z "},
    {"id": "", "name": "no id"},
    "junk",
    {
        "id": "f",
        "name": "bad\x1b[31mname\nx",
        "status": "running",
        "createdAt": "garbage",
        "startedAt": "2026-03-01T11:59:00+05:30",
        "completedAt": "nope",
    },
    {
        "id": "g",
        "name": "名前の長いジョブ",
        "status": "cancelled",
        "createdAt": "2026-03-01T11:00:00",
        "startedAt": iso(100),
        "completedAt": iso(200),
    },
    {
        "id": "h",
        "name": "edge",
        "status": "completed",
        "createdAt": "9999-12-31T23:59:59-05:00",
        "startedAt": "0001-01-01T00:00:00Z",
        "completedAt": "0001-01-01T00:00:01+01:00",
    },
    {
        "id": "i",
        "name": "future",
        "status": "running",
        "createdAt": iso(-400),
        "startedAt": iso(-5),
    },
]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kathmandu"])
def test_one_pass_rows_equal_the_rows_of_parsed_jobs(zone, monkeypatch):
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        expected = job_rows(parse_jobs({"jobs": TRICKY}), NOW)
        assert object_rows(TRICKY, NOW) == expected
        assert [row.id for row in expected] == ["a", "b", "c", "d", "e", "7", "f", "g", "h", "i"]
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Europe/Dublin"]
)
def test_local_text_is_astimezone_across_offset_changes(zone, monkeypatch):
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        start = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
        for step in range(0, 2 * 366 * 86_400, 1_799):  # every ~30 min for two years
            seconds = start + step
            when = datetime.fromtimestamp(seconds, UTC).astimezone()
            assert _local_text(seconds) == when.strftime("%Y-%m-%d %H:%M:%S"), seconds
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()


def test_duration_ticks_only_for_running_jobs():
    rows = {row.id: row for row in object_rows(TRICKY, NOW)}
    later = {row.id: row for row in object_rows(TRICKY, NOW + timedelta(seconds=61))}
    assert rows["a"].duration == "2m30s" and later["a"].duration == "3m31s"  # running: ticks
    assert rows["b"].duration == later["b"].duration == "15m00s"  # startedAt -> completedAt
    assert rows["c"].duration == "N/A"  # failed without completedAt: Studio does not tick
    assert rows["d"].duration == rows["e"].duration == "N/A"  # not started
    assert rows["d"].status == "Warming up GPU" and rows["e"].status == "queued"


def test_relative_created_as_studio_counts():
    cases = {0: "now", 30: "30 s ago", 50: "1 min ago", 180: "3 min ago", 2700: "1 h ago",
             3 * 3600: "3 h ago", 86_400: "1 d ago", 40 * 86_400: "1 mo ago",
             400 * 86_400: "1 y ago", -300: "in 5 min"}  # fmt: skip
    for ago, text in cases.items():
        assert relative_time(NOW - timedelta(seconds=ago), NOW) == text, ago
    assert relative_time(None, NOW) == "N/A"


def test_piped_one_line_per_job_at_its_natural_width():
    items = [
        {"id": LONG_ID, "name": LONG, "status": "running", "createdAt": iso(180),
         "startedAt": iso(120)},
        {"id": "job-2", "name": "short", "status": "completed", "createdAt": iso(7200)},
    ]  # fmt: skip
    lines = lines_of(items, None)
    assert len(lines) == 3
    assert lines[0].split() == ["Status", "Name", "Duration", "Created", "ID"]
    assert LONG in lines[1] and lines[1].endswith(LONG_ID)
    assert "3 min ago  2026-03-01 11:57:00" in lines[1]  # relative beside absolute
    assert lines[2].split()[-1] == "job-2"
    assert lines[1].index(LONG_ID) == lines[2].index("job-2")  # columns line up


@pytest.mark.parametrize("width", [100, 80, 60, 50, 40, 30])
def test_narrow_terminal_drops_columns_never_cuts_the_id(width):
    items = [
        {"id": LONG_ID, "name": LONG, "status": "running", "createdAt": iso(180),
         "startedAt": iso(120)},
        {"id": "job-2", "name": "名前の長いジョブ名前の長いジョブ", "status": "completed",
         "createdAt": iso(7200)},
    ]  # fmt: skip
    lines = lines_of(items, width)
    assert lines[1].endswith(LONG_ID) and lines[2].endswith("job-2")
    from arkor_cli_studio.render.jobtable import cells

    if width >= 40:
        assert all(cells(line) <= width for line in lines), lines
    header = lines[0].split()
    if width <= 80:
        assert "…" in lines[1]  # the name is shortened, with an ellipsis
        assert "2026-03-01" not in lines[1]  # Created's absolute time went first
    if width <= 50:
        assert header == ["Status", "Name", "ID"] or header == ["Name", "ID"]


def test_terminal_table_has_colours_but_the_same_columns():
    from arkor_cli_studio.render.jobs import STATUS_STYLES, ansi_paint

    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    rows = object_rows(TRICKY, NOW)
    layout, widths = fit(rows, 200)
    painted = table_lines(rows, layout, widths, ansi_paint(console), STATUS_STYLES)
    plain = table_lines(rows, layout, widths)
    strip = re.compile(r"\x1b\[[0-9;]*m")
    assert [strip.sub("", line) for line in painted] == plain
    assert "\x1b[" in painted[1]


def test_board_draws_only_what_fits_with_the_counts():
    items = [
        {"id": f"job-{i:05d}", "name": f"run {i}", "status": ["running", "completed"][i % 2],
         "createdAt": iso(60 * i), "startedAt": iso(60 * i - 5)}
        for i in range(20_000)
    ]  # fmt: skip
    jobs = parse_jobs({"jobs": items})
    console = Console(file=io.StringIO(), record=True, width=120, color_system=None)
    console.print(jobs_board(jobs, NOW, 120, 40, footer="Updated 0s ago"))
    lines = console.export_text().rstrip("\n").split("\n")
    assert len(lines) == 39
    assert lines[-1] == "Updated 0s ago"
    assert lines[-2] == "… 19,964 more  ·  20,000 jobs: 10,000 running · 10,000 completed"
    assert lines[1].split()[-1] == "job-00000" and lines[-3].split()[-1] == "job-00035"


# ---- end to end: the command ----------------------------------------------------------


def add(sim, job_id, name, status, **kwargs):  # type: ignore[no-untyped-def]
    sim.add_job(job_id, name=name, status=status, **kwargs)


def test_search_by_name_or_id_and_no_matches(arkor):
    sim = arkor.sim
    add(sim, "job-alpha", "Gemma SFT", "running")
    add(sim, "job-beta", "llama dpo", "completed")
    add(sim, "xyz-gemma", "other", "failed")
    out = arkor.cli("jobs", "--search", "GEMMA").stdout
    assert [line.split()[-1] for line in out.splitlines()[1:]] == ["job-alpha", "xyz-gemma"]
    data = json.loads(arkor.cli("jobs", "--json", "-q", "beta").stdout)
    assert [job["id"] for job in data] == ["job-beta"]
    both = arkor.cli("jobs", "--search", "gemma", "--status", "failed").stdout
    assert [line.split()[-1] for line in both.splitlines()[1:]] == ["xyz-gemma"]
    none = arkor.cli("jobs", "--search", "nothing-like-it")
    assert (none.code, none.stdout) == (0, "No matches.\n")
    status = arkor.cli("jobs", "--status", "cancelled")
    assert (status.code, status.stdout) == (0, "No matches.\n")


def test_no_jobs_yet_is_not_no_matches(arkor):
    assert arkor.cli("jobs", "--status", "running").stdout == "No jobs yet.\n"


def test_watch_outside_a_project_names_the_missing_state_file(arkor):
    arkor.state_file.unlink()
    result = arkor.cli("watch", "j1", "--plain")
    assert result.code == 1
    assert f"No .arkor/state.json in {arkor.project}" in result.stderr
    assert "-C DIR" in result.stderr


def test_piped_jobs_grep_finds_a_long_name(arkor):
    add(arkor.sim, LONG_ID, LONG, "running")
    result = arkor.run("jobs", COLUMNS="80")
    matching = [line for line in result.stdout.splitlines() if LONG in line]
    assert len(matching) == 1 and matching[0].endswith(LONG_ID)


@pytest.mark.parametrize("columns", [50, 40])
def test_narrow_terminal_keeps_the_id_whole(arkor, columns):
    add(arkor.sim, LONG_ID, LONG, "running")
    run = arkor.pty("--no-color", "jobs", columns=columns, rows=20)
    assert run.wait(timeout=30) == 0
    lines = [line.rstrip() for line in run.text.replace("\r", "").splitlines() if line.strip()]
    row = next(line for line in lines if "sft-gemma" in line)
    assert row.endswith(LONG_ID) and "…" in row, lines
    assert len(row) <= columns


def test_follow_board_on_a_terminal_is_bounded_and_stops_on_ctrl_c(arkor):
    for i in range(300):
        add(arkor.sim, f"job-{i:04d}", f"run {i}", "running" if i < 3 else "completed")
    run = arkor.pty("--no-color", "jobs", "--follow", "--no-keys", columns=100, rows=20)
    assert run.read_until(lambda out: b"more" in out and b"Ctrl-C" in out)
    run.signal(signal.SIGINT)
    assert run.wait(timeout=20) == 130
    from tests.test_watch import last_frame

    frame = last_frame(run.output).rstrip("\n").split("\n")
    assert len(frame) <= 19, frame  # the final frame is the screen's, not 300 rows
    assert any("… 284 more  ·  300 jobs: 3 running · 297 completed" in line for line in frame)
    assert "Traceback" not in run.text
    assert os.environ.get("TZ") == "UTC"
