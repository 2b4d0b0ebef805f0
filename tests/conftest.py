from __future__ import annotations

import inspect
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arkor_cli_studio.simulator import Simulator
from tests.helpers import (
    TOKEN,
    PtyRun,
    Result,
    run_inprocess,
    run_subprocess,
    start_pty,
    start_subprocess,
)
from tests.studio_server import FakeStudio

# Deterministic rendering everywhere: UTC unless a test says otherwise.
os.environ["TZ"] = "UTC"
time.tzset()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    # sdk_gate: every request must carry `X-Arkor-Client: arkor/<semver>`, as the cloud's
    # SDK version gate demands (else 426).
    with Simulator(
        token=TOKEN, org="acme", project="demo", ping_interval=0.5, sdk_gate=True
    ) as server:
        yield server


class Arkor:
    """A temporary HOME with arkor credentials, a project with state.json, and
    ways to run the CLI against the simulator."""

    def __init__(self, tmp: Path, sim: Simulator) -> None:
        self.sim = sim
        self.home = tmp / "home"
        self.project = tmp / "project"
        (self.home / ".arkor").mkdir(parents=True)
        (self.project / ".arkor").mkdir(parents=True)
        self.write_credentials(
            {
                "mode": "anon",
                "token": TOKEN,
                "anonymousId": "anon-1",
                "arkorCloudApiUrl": sim.url,
                "orgSlug": "acme",
            }
        )
        self.write_state({"orgSlug": "acme", "projectSlug": "demo", "projectId": "proj-1"})
        self.env: dict[str, str] = {
            "HOME": str(self.home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TZ": "UTC",
            "LANG": "C.UTF-8",
            "ARKOR_STUDIO_CONNECT_TIMEOUT": "5",
            "ARKOR_STUDIO_READ_TIMEOUT": "10",
        }

    @property
    def credentials_file(self) -> Path:
        return self.home / ".arkor" / "credentials.json"

    @property
    def state_file(self) -> Path:
        return self.project / ".arkor" / "state.json"

    def write_credentials(self, data: object) -> None:
        self.credentials_file.write_text(json.dumps(data))

    def write_state(self, data: object) -> None:
        self.state_file.write_text(json.dumps(data))

    def args(self, args: tuple[str, ...]) -> list[str]:
        return ["-C", str(self.project), *args]

    def cli(self, *args: str, stdin: str = "", **env: str) -> Result:
        """In-process: fast; for output and exit codes."""
        return run_inprocess(self.args(args), {**self.env, **env}, stdin=stdin)

    def run(self, *args: str, timeout: float = 60, **env: str) -> Result:
        """A real subprocess: for pipes, signals, exit codes end to end."""
        return run_subprocess(self.args(args), {**self.env, **env}, timeout=timeout)

    def popen(self, *args: str, **env: str):  # type: ignore[no-untyped-def]
        return start_subprocess(self.args(args), {**self.env, **env})

    def pty(self, *args: str, columns: int = 100, rows: int = 40, **env: str) -> PtyRun:
        return start_pty(self.args(args), {**self.env, **env}, columns=columns, rows=rows)


@pytest.fixture
def arkor(tmp_path: Path, sim: Simulator) -> Arkor:
    return Arkor(tmp_path, sim)


# ---- Studio mode (`--studio`): a fake `arkor dev` in front of the simulator ----


@pytest.fixture
def studio(sim: Simulator) -> Iterator[FakeStudio]:
    with FakeStudio(sim) as server:
        yield server


class ModeArkor(Arkor):
    """An `Arkor` that runs every command in one mode: "cloud" (the API
    directly) or "studio" (through the fake `arkor dev`, `--studio-url URL`
    added before the command, its token in ~/.arkor/studio-token)."""

    def __init__(self, tmp: Path, sim: Simulator, studio: FakeStudio | None) -> None:
        super().__init__(tmp, sim)
        self.studio = studio
        self.mode = "studio" if studio is not None else "cloud"
        if studio is not None:
            self.studio_token_file.write_text(studio.token + "\n")

    @property
    def studio_token_file(self) -> Path:
        return self.home / ".arkor" / "studio-token"

    def args(self, args: tuple[str, ...]) -> list[str]:
        if self.studio is None:
            return super().args(args)
        return ["--studio-url", self.studio.url, *super().args(args)]

    def backend(self):  # type: ignore[no-untyped-def]
        """The `Backend` that `connect()` picks for this mode (close it after use)."""
        from arkor_cli_studio.cloud import connect
        from arkor_cli_studio.config import Settings
        from tests.helpers import patched_environ

        with patched_environ(self.env):
            return connect(
                Settings(
                    project=self.project,
                    studio_url=self.studio.url if self.studio else None,
                    env=dict(self.env),
                )
            )


@pytest.fixture
def studio_arkor(tmp_path: Path, sim: Simulator, studio: FakeStudio) -> ModeArkor:
    """Studio mode only (for what has no cloud counterpart: the token, ...)."""
    return ModeArkor(tmp_path, sim, studio)


@pytest.fixture(params=["cloud", "studio"])
def mode_arkor(
    request: pytest.FixtureRequest, tmp_path: Path, sim: Simulator
) -> Iterator[ModeArkor]:
    """The same scenario in both modes, on the same simulator data."""
    if request.param == "cloud":
        yield ModeArkor(tmp_path, sim, None)
    else:
        with FakeStudio(sim) as server:
            yield ModeArkor(tmp_path, sim, server)


# ---- the `slow` marker -----------------------------------------------------------
# A test that starts a process (the CLI as a subprocess, under a pseudo-terminal,
# or the fake `arkor`) is `slow`: `pytest -m "not slow"` is the inner loop (seconds),
# the full suite the gate before landing. Marked by what the test calls, so a new
# test is marked without anyone remembering to.
_STARTS_A_PROCESS = re.compile(
    r"\.(run|popen|pty)\(|\b(run_subprocess|start_subprocess|start_pty|cli_command|Popen|"
    r"subprocess\.(run|Popen|call|check_call|check_output))\b|\bWatched\("
)


# In-process tests that wait on real time (timeouts, pings, polls, big replays):
# each took 0.4 s or more in `pytest --durations=0` on a 2-core machine (the list
# was last brought up to date in session 6: run `pytest -m "not slow" --durations=30`).
SLOW_IN_PROCESS = frozenset(
    {
        "test_alerts.py::test_no_false_alarms_on_50_clean_runs_with_the_default_rules",
        "test_alerts.py::test_plateau_memory_is_bounded_on_a_run_that_always_improves",
        "test_artifacts.py::test_artifacts_of_a_long_stream_keep_only_the_artifacts",
        "test_artifacts.py::test_errors",
        "test_artifacts.py::test_no_artifacts_and_failed_job",
        "test_artifacts.py::test_running_job_lists_checkpoints_so_far_and_says_so",
        "test_cancel.py::test_already_finished_sends_nothing_and_needs_no_terminal",
        "test_cancel.py::test_auth_and_api_errors",
        "test_compare.py::test_running_job_is_so_far",
        "test_compare.py::test_secrets_and_server_text_stay_safe",
        "test_completions.py::test_bash_protocol_completes_options_and_choices",
        "test_completions.py::test_committed_scripts_match_what_the_app_generates_now",
        "test_completions.py::test_zsh_fish_and_powershell_protocols_answer",
        "test_events_stream.py::test_pings_keep_a_quiet_stream_alive",
        "test_fast_paths.py::test_local_stamps_are_astimezone_across_offset_changes",
        "test_fast_paths.py::test_sse_frames_on_random_streams",
        "test_faults.py::test_a_long_pings_only_stream_keeps_one_connection",
        "test_faults.py::test_a_server_that_accepts_but_never_answers",
        "test_faults.py::test_a_slow_answer_is_not_an_empty_history",
        "test_faults.py::test_follow_piped_to_head_on_a_quiet_server_exits_141_at_once",
        "test_faults.py::test_jobs_piped_to_head_exits_141_quietly",
        "test_faults.py::test_watch_retries_a_blackholed_port_then_gives_up",
        "test_github.py::test_a_two_hour_run_has_a_short_visible_log",
        "test_hostile_stream.py::test_a_drip_fed_answer_hits_the_deadline",
        "test_hostile_stream.py::test_a_running_jobs_history_stops_once_caught_up",
        "test_hostile_stream.py::test_a_token_split_across_reads_is_still_cut",
        "test_hostile_stream.py::test_pings_that_stop_mean_a_dead_connection",
        "test_layers.py::test_notes_warnings_and_errors_reach_stderr_through_output_only",
        "test_security.py::test_tokens_never_reach_output_urls_or_notifications",
        "test_show.py::test_show_is_the_sidebar_plus_configuration",
        "test_show.py::test_show_notes_a_failed_replay_and_still_shows_the_job",
        "test_stats.py::test_a_fold_touches_only_the_blocks_its_points_land_in",
        "test_stats_command.py::test_file_with_several_jobs_asks_which",
        "test_stats_command.py::test_last_n_is_studios_chart_window",
        "test_stats_command.py::test_running_job_is_read_until_caught_up_and_says_so_far",
        "test_stats_command.py::test_stats_of_a_long_stream_does_not_hold_its_events",
        "test_studio.py::test_cancel_is_unsupported_and_sends_nothing",
        "test_studio.py::test_jobs_output_is_identical_through_studio",
        "test_studio.py::test_studio_url_forms_and_precedence",
        "test_studio_cards.py::test_chart_window_matches_the_port_directly",
        "test_studio_cards.py::test_last_2000_is_studios_cards_to_1e_12",
        "test_train_outcome.py::test_studio_exit_status_stands_and_no_outcome_line_is_its_code",
        "test_train_outcome.py::test_studio_train_exits_by_the_jobs_outcome",
        "test_train_outcome.py::test_the_notification_tells_the_outcome_through_studio",
        "test_train_studio.py::test_exit_zero_and_killed_by_a_signal",
        "test_train_studio.py::test_label_then_byte_exact_output_and_the_trailers_exit_status",
        "test_train_studio.py::test_watch_through_studio_follows_the_started_job",
        "test_wait.py::test_all_running",
        "test_wait.py::test_fail_fast_cancel_rest_cancels_the_others_once",
        "test_wait.py::test_fail_fast_stops_at_the_first_failure",
        "test_wait.py::test_timeout_does_not_hide_a_failure",
        "test_wait.py::test_timeout_is_exit_7_and_says_which",
        "test_watch_alerts.py::test_demo_alert_flags_replace_the_scenarios_rule",
        "test_watch_newcomer.py::test_warm_up_is_said_and_a_heartbeat_follows",
        "test_webhook.py::test_a_slow_receiver_times_out_quickly",
        "test_webhook.py::test_an_error_status_is_a_short_reason_without_the_url",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "function", None)
        if function is None or item.get_closest_marker("slow"):
            continue
        if item.nodeid.split("[", 1)[0].removeprefix("tests/") in SLOW_IN_PROCESS:
            item.add_marker(pytest.mark.slow)
            continue
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            continue
        if _STARTS_A_PROCESS.search(source):
            item.add_marker(pytest.mark.slow)
