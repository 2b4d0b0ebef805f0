"""Start-up stays lazy: a run imports its own command only (bench/startup.py has the timings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import subprocess_env

COMMANDS = [
    "artifacts",
    "cancel",
    "compare",
    "demo",
    "jobs",
    "show",
    "stats",
    "train",
    "wait",
    "watch",
]

# Runs the CLI as the console script does, then reports which modules it loaded.
PROBE = """
import atexit, json, sys
def report():
    sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
atexit.register(report)
sys.argv[0] = "arkor-studio"
from arkor_cli_studio.app import main
main()
"""


def loaded(*args: str) -> tuple[int, str, set[str]]:
    env = subprocess_env(
        {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=30
    )
    head, _, modules = result.stderr.rpartition("\nMODULES ")
    return result.returncode, result.stdout + head, set(json.loads(modules))


def commands_in(modules: set[str]) -> set[str]:
    """The command modules loaded (`commands/_x.py` are shared option helpers, not commands)."""
    prefix = "arkor_cli_studio.commands."
    names = {name.removeprefix(prefix) for name in modules if name.startswith(prefix)}
    return {name for name in names if not name.startswith("_")}


def test_version_imports_no_command_no_config_no_http_no_rich():
    code, out, modules = loaded("--version")
    assert code == 0 and out.startswith("arkor-studio ")
    assert commands_in(modules) == set()
    assert not modules & {"arkor_cli_studio.config", "arkor_cli_studio.model", "httpx", "rich"}


@pytest.mark.parametrize("command", ["train", "jobs", "watch"])
def test_a_command_imports_only_itself(command: str):
    code, out, modules = loaded(command, "--help")
    assert code == 0 and f"arkor-studio {command}" in out
    assert commands_in(modules) == {command}
    assert not modules & {"httpx", "rich", "orjson"}  # --help needs none (orjson: events only)


def test_train_path_needs_neither_the_model_nor_http():
    code, out, modules = loaded("-C", "/nonexistent/project", "train", "--no-manifest")
    assert code != 0 and "Traceback" not in out  # stops at the missing project
    assert commands_in(modules) == {"train"}
    assert not modules & {"arkor_cli_studio.model", "httpx", "rich"}


def test_root_help_lists_every_command_in_order():
    code, out, modules = loaded("--help")
    assert code == 0
    # Issue 22: the root's --help shows names and summaries only, as a TAB at
    # the root does: no command is imported or built (a minimal Typer app's
    # --help builds its one command; ours would build ten).
    assert commands_in(modules) == set()
    assert not {name for name in modules if name.startswith("arkor_cli_studio.commands._")}
    assert not modules & {
        "arkor_cli_studio.model",
        "arkor_cli_studio.config",
        "dataclasses",
        "httpx",
        "rich",
    }
    section = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    listed = [line.split()[0] for line in section.splitlines() if line.startswith("  ")]
    assert listed == [
        "jobs",
        "watch",
        "show",
        "stats",
        "artifacts",
        "cancel",
        "compare",
        "wait",
        "train",
        "demo",
    ]


def test_a_mistyped_command_is_suggested_without_loading_any():
    code, out, modules = loaded("jbos")
    assert code == 2
    assert "No such command 'jbos'. Did you mean 'jobs'?" in out
    assert commands_in(modules) == set()


def test_completing_a_command_name_builds_no_command():
    """Issue 22, item 7: a TAB at the root needs names and summaries only."""
    for shell, env in (
        ("bash", {"COMP_WORDS": "arkor-studio ", "COMP_CWORD": "1"}),
        ("zsh", {"_TYPER_COMPLETE_ARGS": "arkor-studio "}),
        (
            "fish",
            {"_TYPER_COMPLETE_ARGS": "arkor-studio ", "_TYPER_COMPLETE_FISH_ACTION": "get-args"},
        ),
    ):
        with_env = {**env, "_ARKOR_STUDIO_COMPLETE": f"complete_{shell}"}
        result = subprocess.run(
            [sys.executable, "-c", PROBE],
            env=subprocess_env({"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **with_env}),
            capture_output=True,
            text=True,
            timeout=30,
        )
        head, _, modules = result.stderr.rpartition("\nMODULES ")
        assert result.returncode == 0, head
        assert commands_in(set(json.loads(modules))) == set(), shell
        if shell == "bash":  # nothing a minimal Typer app's completion does not load
            assert "dataclasses" not in set(json.loads(modules)), shell
        for name in COMMANDS:
            assert name in result.stdout, (shell, name)
    # Completing inside a command still builds that one (its options are needed)
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=subprocess_env(
            {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "_ARKOR_STUDIO_COMPLETE": "complete_bash",
                "COMP_WORDS": "arkor-studio watch --adv",
                "COMP_CWORD": "2",
            }
        ),
        capture_output=True,
        text=True,
        timeout=30,
    )
    head, _, modules = result.stderr.rpartition("\nMODULES ")
    assert result.stdout.split() == ["--advanced"]
    assert commands_in(set(json.loads(modules))) == {"watch"}


def test_command_summaries_are_the_commands_own():
    import typer

    from arkor_cli_studio.app import COMMANDS as ORDER
    from arkor_cli_studio.app import SUMMARIES, _build_command
    from arkor_cli_studio.app import app as root

    assert list(SUMMARIES) == list(ORDER)
    for name in ORDER:
        real = _build_command(name)
        stand_in = typer.core.TyperCommand(name, help=SUMMARIES[name])
        for limit in (20, 45, 80, 300):
            assert stand_in.get_short_help_str(limit) == real.get_short_help_str(limit), name
    assert typer.main.get_command(root) is not None


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_root_help_from_summaries_is_the_help_of_the_built_commands(width: int):
    """The root's --help, written from `SUMMARIES`, is byte for byte the help
    Typer writes with every command built (cut to the same width)."""
    import typer

    from arkor_cli_studio.app import COMMANDS as ORDER
    from arkor_cli_studio.app import _build_command
    from arkor_cli_studio.app import app as root

    def help_text(built: bool) -> str:
        group = typer.main.get_command(root)
        if built:
            for name in ORDER:
                group.commands[name] = _build_command(name)  # type: ignore[attr-defined]
        ctx = group.make_context(
            "arkor-studio", ["--help"], resilient_parsing=True, terminal_width=width
        )
        ctx.max_content_width = width
        return group.get_help(ctx)

    summarised = help_text(built=False)
    assert "Commands:" in summarised
    assert summarised == help_text(built=True)


CERTIFI_PROBE = """
import json, ssl, sys
loaded = []
load = ssl.SSLContext.load_verify_locations
def counting(self, *args, **kwargs):
    loaded.append(args or kwargs)
    return load(self, *args, **kwargs)
ssl.SSLContext.load_verify_locations = counting
from arkor_cli_studio.cloud.client import Backend
backend = Backend(sys.argv[1], token=None, scope=None)
print(json.dumps(bool(loaded)))
"""


@pytest.mark.parametrize(
    ("url", "loads_store"), [("http://127.0.0.1:9", False), ("https://api.example.invalid", True)]
)
def test_only_a_tls_backend_reads_the_certificate_store(url: str, loads_store: bool):
    """httpx's default context reads certifi's bundle (~20 ms of start-up):
    a client of a plain `http://` base (Studio, the demo) never speaks TLS
    and skips it; an `https://` one reads it as before."""
    result = subprocess.run(
        [sys.executable, "-c", CERTIFI_PROBE, url],
        env=subprocess_env(
            {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
        ),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) is loads_store


def test_a_plain_http_backend_would_refuse_any_tls_peer():
    """Its context verifies (certificate and host name) and trusts no
    authority: a TLS connection would fail, never pass unverified."""
    import ssl

    from arkor_cli_studio.cloud.http import keepalive_transport

    context = keepalive_transport("http://127.0.0.1:9")._pool._ssl_context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
    default = keepalive_transport("https://api.example.invalid")._pool._ssl_context
    assert default.cert_store_stats()["x509_ca"] > 0
