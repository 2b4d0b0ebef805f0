"""Shell completions: the committed scripts match the app, and TAB really answers."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from arkor_cli_studio.app import app
from tests.helpers import ROOT, subprocess_env

COMPLETIONS = ROOT / "completions"


def _gen():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "gen_completions", ROOT / "scripts/gen_completions.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def registered_commands() -> set[str]:
    group = typer.main.get_command(app)
    return set(getattr(group, "commands", {}))


def test_committed_scripts_match_what_the_app_generates_now():
    generated = _gen().generate()
    assert {p.name for p in generated} == {
        "arkor-studio.bash",
        "_arkor-studio",
        "arkor-studio.fish",
        "arkor-studio.ps1",
    }
    for path, text in generated.items():
        assert path.exists(), f"missing {path}: run python scripts/gen_completions.py"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} drifted: run python scripts/gen_completions.py"
        )
    zsh = (COMPLETIONS / "_arkor-studio").read_text()
    assert zsh.startswith("#compdef arkor-studio\n")  # fpath autoload needs it first
    for text in generated.values():
        assert "_ARKOR_STUDIO_COMPLETE" in text and "arkor-studio" in text


def _complete(shell: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": "/nonexistent",
        "_ARKOR_STUDIO_COMPLETE": f"complete_{shell}",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "arkor_cli_studio"],
        env=subprocess_env(base),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_bash_protocol_lists_the_registered_subcommands():
    result = _complete("bash", COMP_WORDS="arkor-studio ", COMP_CWORD="1")
    assert result.returncode == 0, result.stderr
    offered = set(result.stdout.split())
    assert offered == registered_commands()
    assert {"jobs", "demo"} <= offered


def test_bash_protocol_completes_options_and_choices():
    result = _complete("bash", COMP_WORDS="arkor-studio jobs --st", COMP_CWORD="2")
    assert result.stdout.split() == ["--status"]
    result = _complete("bash", COMP_WORDS="arkor-studio jobs --status ", COMP_CWORD="3")
    assert result.stdout.split() == ["queued", "running", "completed", "failed", "cancelled"]
    result = _complete("bash", COMP_WORDS="arkor-studio demo --sp", COMP_CWORD="2")
    assert result.stdout.split() == ["--speed"]


def test_zsh_fish_and_powershell_protocols_answer():
    zsh = _complete("zsh", _TYPER_COMPLETE_ARGS="arkor-studio de")
    assert zsh.stdout.startswith("_arguments") and '"demo":"Try it without an account' in zsh.stdout
    fish = _complete(
        "fish", _TYPER_COMPLETE_ARGS="arkor-studio jo", _TYPER_COMPLETE_FISH_ACTION="get-args"
    )
    assert fish.stdout.splitlines()[0].startswith("jobs\tThe jobs table")
    pwsh = _complete(
        "powershell",
        _TYPER_COMPLETE_ARGS="arkor-studio jobs --li",
        _TYPER_COMPLETE_WORD_TO_COMPLETE="--li",
    )
    assert pwsh.stdout.startswith("--limit:::")


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_the_committed_bash_script_completes_in_a_real_bash(tmp_path: Path):
    """Source completions/arkor-studio.bash and press TAB (call its function)."""
    shim = tmp_path / "arkor-studio"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m arkor_cli_studio "$@"\n')
    shim.chmod(0o755)
    script = (
        f"source {COMPLETIONS / 'arkor-studio.bash'}\n"
        "COMP_WORDS=(arkor-studio jo); COMP_CWORD=1\n"
        "_arkor_studio_completion arkor-studio\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
        "complete -p arkor-studio\n"
    )
    env = subprocess_env({"PATH": f"{tmp_path}:/usr/bin:/bin", "HOME": str(tmp_path)})
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "jobs"
    assert lines[-1] == "complete -o default -F _arkor_studio_completion arkor-studio"
