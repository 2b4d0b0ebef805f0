from __future__ import annotations

import json
import os
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
