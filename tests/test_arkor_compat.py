"""Right against arkor's own rules (issue 14 items 2, 4, 6, 7; issue 17 item 11), on the
simulator: the client header and the SDK version gate (426), a stale anonymous
state.json, Deprecation headers, a 404 for a listed job, configuration read as
arkor reads it, and special files as configuration."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from arkor_cli_studio.config import CHECKED_ARKOR_VERSION
from arkor_cli_studio.simulator import Fault
from arkor_cli_studio.upgrade import (
    ClientIdentity,
    detect_package_manager,
    upgrade_command,
    upgrade_required,
)
from tests.helpers import TOKEN
from tests.test_train import needs_node, tp  # noqa: F401  (tp is a fixture)
from tests.test_watch import lifecycle


def install_arkor_package(project: Path, version: str, node: str = ">=22.22.0") -> Path:
    package = project / "node_modules" / "arkor" / "package.json"
    package.parent.mkdir(parents=True, exist_ok=True)
    package.write_text(json.dumps({"name": "arkor", "version": version, "engines": {"node": node}}))
    return package


def client_headers(sim) -> list[tuple[str | None, str | None]]:  # type: ignore[no-untyped-def]
    return [(r.headers.get("x-arkor-client"), r.headers.get("user-agent")) for r in sim.requests]


# ---- item 2: X-Arkor-Client and the 426 ------------------------------------------------


def test_the_header_is_the_projects_arkor_version(arkor):
    install_arkor_package(arkor.project, "0.0.9-beta.2")
    lifecycle(arkor.sim, "j1", steps=1)
    result = arkor.cli("jobs", "--json")
    assert result.code == 0, result.stderr
    assert client_headers(arkor.sim) == [("arkor/0.0.9-beta.2", "arkor-studio/0.1.0")]


@pytest.mark.parametrize("version", [None, "not-a-version", "1.2", "1.2.3 "])
def test_without_a_usable_arkor_the_header_is_the_checked_version(arkor, version):
    if version is not None:
        install_arkor_package(arkor.project, version)
    lifecycle(arkor.sim, "j1", steps=1)
    assert arkor.cli("jobs", "--json").code == 0
    assert client_headers(arkor.sim) == [(f"arkor/{CHECKED_ARKOR_VERSION}", "arkor-studio/0.1.0")]


def test_the_header_goes_with_the_stream_and_studio_too(mode_arkor):
    install_arkor_package(mode_arkor.project, "0.0.4")
    lifecycle(mode_arkor.sim, "j1", steps=2)
    assert mode_arkor.cli("watch", "j1", "--plain").code == 0
    ours = [r for r in mode_arkor.sim.requests]
    if mode_arkor.studio is not None:  # Studio sends its own to the cloud; ours reach Studio
        ours = mode_arkor.studio.requests  # type: ignore[assignment]
    assert ours and all(r.headers.get("x-arkor-client") == "arkor/0.0.4" for r in ours)


def test_426_version_out_of_range_names_arkor_and_the_package_managers_command(arkor):
    package = install_arkor_package(arkor.project, "0.0.2")
    arkor.sim.supported_range = ">=0.0.3"
    lifecycle(arkor.sim, "j1", steps=1)
    result = arkor.cli("jobs", npm_config_user_agent="pnpm/10 node/v22 linux x64")
    assert result.code == 4
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (
        "arkor-studio: Arkor SDK 0.0.2 is no longer supported (supported: >=0.0.3). "
        "Run `pnpm add -g arkor@latest`."
    )
    assert str(package) in result.stderr and "pnpm add arkor@latest" in result.stderr
    assert len(arkor.sim.requests) == 1  # not retried


def test_426_on_the_stream_is_exit_4_not_retried(arkor):
    lifecycle(arkor.sim, "j1", steps=1)
    body = {"error": "sdk_version_unsupported", "currentVersion": "0.0.1", "supportedRange": ">=9"}
    arkor.sim.add_fault("stream:j1", Fault(status=426, body=json.dumps(body)), times=5)
    result = arkor.cli("watch", "j1", "--plain", ARKOR_STUDIO_READ_TIMEOUT="5")
    assert result.code == 4
    assert "Arkor SDK 0.0.1 is no longer supported (supported: >=9)" in result.stderr
    assert len(arkor.sim.stream_requests("j1")) == 1


@pytest.mark.parametrize("reason", ["missing", "malformed"])
def test_426_for_our_header_says_upgrade_arkor_studio(arkor, reason):
    body = {
        "error": "sdk_version_unsupported",
        "currentVersion": "unknown",
        "supportedRange": "*",
        "reason": reason,
    }
    lifecycle(arkor.sim, "j1", steps=1)
    arkor.sim.add_fault("jobs", Fault(status=426, body=json.dumps(body)))
    result = arkor.cli("jobs")
    assert result.code == 4
    assert f"The X-Arkor-Client header was {reason}" in result.stderr
    assert "Upgrade arkor-studio" in result.stderr


@pytest.mark.parametrize("body", ["", "not json", '{"wrong": "shape"}', "42", "null"])
def test_426_with_an_unparseable_body_still_says_what_to_do(arkor, body):
    lifecycle(arkor.sim, "j1", steps=1)
    arkor.sim.add_fault("jobs", Fault(status=426, body=body))
    result = arkor.cli("jobs")
    assert result.code == 4
    assert (
        "Arkor SDK is no longer supported by the cloud API. Run `npm install -g arkor@latest`."
        in result.stderr
    )


def test_the_messages_match_arkors_upgrade_hint_tests():
    """The cases of arkor's core/upgrade-hint.test.ts."""
    env = {"npm_config_user_agent": "pnpm/10 node/v22 linux x64"}
    pnpm = ClientIdentity("1.3.5", None, detect_package_manager(env))
    message = upgrade_required(
        {
            "error": "sdk_version_unsupported",
            "currentVersion": "1.3.5",
            "supportedRange": "^1.4.0 || >=2.1.0",
            "upgrade": "npm install -g arkor@latest",
        },
        pnpm,
    ).message
    assert "1.3.5 is no longer supported" in message and "^1.4.0 || >=2.1.0" in message
    assert "pnpm add -g arkor@latest" in message and "npm install -g" not in message
    for body in (None, "not json", {"wrong": "shape"}, 42):
        generic = upgrade_required(body, pnpm).message
        assert "Arkor SDK is no longer supported" in generic and "pnpm add -g" in generic
    cases = {
        "pnpm/8.15.0 npm/? node/v22 darwin x64": "pnpm",
        "yarn/1.22.19 npm/? node/v22 linux x64": "yarn",
        "bun/1.1.0": "bun",
        "npm/10.5.0 node/v22 linux x64": "npm",
    }
    for agent, manager in cases.items():
        assert detect_package_manager({"npm_config_user_agent": agent}) == manager
    paths = {
        "/home/u/.local/share/pnpm/global/5/.pnpm/arkor@1/node_modules/arkor/dist/bin.mjs": "pnpm",
        "/home/u/.bun/install/global/node_modules/arkor/dist/bin.mjs": "bun",
        "/home/u/.config/yarn/global/node_modules/arkor/dist/bin.mjs": "yarn",
        "/usr/local/lib/node_modules/arkor/dist/bin.mjs": "npm",
        "C:\\Users\\u\\AppData\\Local\\pnpm\\global\\5\\node_modules\\arkor\\dist\\bin.mjs": "pnpm",
    }
    for path, manager in paths.items():
        assert detect_package_manager({}, None, Path(path)) == manager
    assert detect_package_manager({"npm_config_user_agent": "deno/1.40"}) == "npm"
    assert upgrade_command("yarn") == "yarn global add arkor@latest"
    assert upgrade_command("bun") == "bun add -g arkor@latest"


def test_the_projects_lock_file_tells_the_package_manager(tmp_path):
    (tmp_path / "yarn.lock").write_text("")
    assert detect_package_manager({}, tmp_path) == "yarn"


# ---- item 4: a stale anonymous state.json ------------------------------------------------


def test_a_stale_anonymous_scope_shows_no_jobs_and_says_why(arkor):
    lifecycle(arkor.sim, "j1", steps=1)
    creds = json.loads(arkor.credentials_file.read_text())
    arkor.write_credentials({**creds, "orgSlug": "acme-new-anon"})  # a new anonymous identity
    result = arkor.cli("jobs", "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == []
    notes = [line for line in result.stderr.splitlines() if line.startswith("arkor-studio: note:")]
    assert len(notes) == 1
    assert "scoped to org 'acme'" in notes[0] and "'acme-new-anon'" in notes[0]
    assert "delete .arkor/state.json" in notes[0] and "arkor login" in notes[0]
    assert "arkor start" in notes[0]
    assert arkor.sim.requests == []  # nothing sent with the stale scope: no 403


def test_an_oauth_scope_in_another_org_is_used(arkor):
    lifecycle(arkor.sim, "j1", steps=1)
    arkor.write_credentials(
        {"mode": "oauth", "accessToken": TOKEN, "arkorCloudApiUrl": arkor.sim.url}
    )
    result = arkor.cli("jobs", "--json")
    assert result.code == 0 and [j["id"] for j in json.loads(result.stdout)] == ["j1"]
    assert "note:" not in result.stderr


# ---- item 6: Deprecation headers, and a 404 for a listed job -------------------------------


def test_deprecation_is_one_stderr_line_per_run(arkor):
    lifecycle(arkor.sim, "j1", steps=3)
    arkor.sim.response_headers = {
        "Deprecation": "true",
        "Warning": '299 - "arkor 0.0.3 is deprecated: \x1b[31mupgrade by June"',
        "Sunset": "Mon, 01 Jun 2026 00:00:00 GMT",
    }
    result = arkor.run("watch", "j1", "--plain")  # many requests: jobs, stream, polls
    assert result.code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "deprecated" in line]
    assert lines == [  # (prefixed, as every line of ours on stderr: output.say)
        f"arkor-studio: warning: arkor 0.0.3 is deprecated: upgrade by June (current: "
        f"{CHECKED_ARKOR_VERSION}). Cutoff: Mon, 01 Jun 2026 00:00:00 GMT. Run "
        "`npm install -g arkor@latest`, or upgrade arkor-studio."
    ]
    assert "\x1b" not in result.stderr


def test_deprecation_without_a_warning_uses_arkors_words(arkor):
    lifecycle(arkor.sim, "j1", steps=1)
    arkor.sim.response_headers = {"Deprecation": "true"}
    result = arkor.run("jobs")
    assert f"warning: Arkor SDK {CHECKED_ARKOR_VERSION} is deprecated (current:" in result.stderr


@pytest.mark.parametrize(("route", "command"), [("detail", "show"), ("cancel", "cancel")])
def test_a_404_for_a_listed_job_shows_the_servers_message(arkor, route, command):
    arkor.sim.add_job("j1", status="running")
    body = json.dumps({"error": "This route is disabled for your plan"})
    arkor.sim.add_fault(f"{route}:j1", Fault(status=404, body=body))
    args = ["j1", "--yes"] if command == "cancel" else ["j1"]
    result = arkor.cli(command, *args)
    assert result.code == 1
    assert "which its jobs list shows: This route is disabled for your plan" in result.stderr
    assert "No job j1" not in result.stderr


def test_a_404_for_an_unlisted_job_is_still_no_such_job(arkor):
    result = arkor.cli("show", "nope")
    assert result.code == 1 and "No job nope" in result.stderr


# ---- item 7: configuration as arkor reads it ---------------------------------------------


def test_credentials_without_mode_are_read_as_oauth(arkor):
    lifecycle(arkor.sim, "j1", steps=1)
    arkor.write_credentials({"accessToken": TOKEN, "arkorCloudApiUrl": arkor.sim.url})
    result = arkor.cli("jobs", "--json")
    assert result.code == 0, result.stderr
    assert arkor.sim.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    # arkor reads `accessToken` without a mode: a bare `token` is not used.
    arkor.write_credentials({"token": TOKEN, "arkorCloudApiUrl": arkor.sim.url})
    result = arkor.cli("jobs")
    assert result.code == 4
    assert "have no 'accessToken' (mode None)" in result.stderr


def test_an_empty_arkor_cloud_api_url_is_an_error_as_in_arkor(arkor):
    creds = json.loads(arkor.credentials_file.read_text())
    arkor.write_credentials({**creds, "arkorCloudApiUrl": ""})
    result = arkor.cli("jobs")
    assert result.code == 4
    assert f"arkorCloudApiUrl in {arkor.credentials_file} is empty." in result.stderr
    assert "api.arkor.ai" not in result.stderr  # not silently the public cloud


@needs_node
def test_the_manifest_is_mod_arkor_or_default_as_studio_picks_it(tp):  # noqa: F811
    result = tp.run("--no-notify", FAKE_BUILD="shadowed")
    assert result.code == 4
    assert "No trainer in src/arkor/index.ts yet." in result.err


def test_the_node_hint_is_the_installed_arkors_engines(tp, tmp_path):  # noqa: F811
    install_arkor_package(tp.project, "0.0.3-alpha.1", node=">=22.22.0")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = tp.run("--no-notify", PATH=str(empty))
    assert result.code == 4
    assert "Install Node.js >=22.22.0 (the installed arkor's `engines`)." in result.err
    assert "18" not in result.err


# ---- issue 17 item 11: special files as configuration -------------------------------------


def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _link(target: str):  # type: ignore[no-untyped-def]
    def make(path: Path) -> None:
        path.unlink(missing_ok=True)
        path.symlink_to(target)

    return make


SPECIAL = {
    "dev-zero": (_link("/dev/zero"), "it is a character device, not a regular file"),
    "dev-urandom": (_link("/dev/urandom"), "it is a character device, not a regular file"),
    "fifo": (_fifo, "it is a FIFO (named pipe), not a regular file"),
}


def _refused(result, path: Path, why: str, started: float) -> None:  # type: ignore[no-untyped-def]
    assert time.monotonic() - started < 20  # no hang on a FIFO, no memory eaten
    assert result.code == 4, result.stderr
    assert str(path) in result.stderr and why in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", sorted(SPECIAL))
@pytest.mark.parametrize("which", ["state", "credentials"])
def test_special_files_are_refused_at_once_exit_4(arkor, kind, which):
    make, why = SPECIAL[kind]
    path = arkor.state_file if which == "state" else arkor.credentials_file
    make(path)
    started = time.monotonic()
    _refused(arkor.run("jobs", timeout=30), path, why, started)


@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_a_special_studio_token_file_is_refused_at_once_exit_4(studio_arkor, kind):
    make, why = SPECIAL[kind]
    make(studio_arkor.studio_token_file)
    started = time.monotonic()
    result = studio_arkor.run("jobs", timeout=30)
    _refused(result, studio_arkor.studio_token_file, why, started)


@pytest.mark.parametrize("which", ["state", "credentials"])
def test_an_oversized_file_is_refused_and_the_cap_can_be_raised(arkor, which):
    lifecycle(arkor.sim, "j1", steps=1)
    path = arkor.state_file if which == "state" else arkor.credentials_file
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "padding": "x" * 2000}))
    result = arkor.cli("jobs", ARKOR_STUDIO_MAX_CONFIG_BYTES="1000")
    assert result.code == 4
    assert f"{path}: it is larger than 1,000 bytes" in result.stderr
    assert "ARKOR_STUDIO_MAX_CONFIG_BYTES raises the limit" in result.stderr
    assert arkor.cli("jobs", ARKOR_STUDIO_MAX_CONFIG_BYTES="100000").code == 0
