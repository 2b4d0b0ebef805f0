"""`arkor-studio train`: Studio's Run-training panel in the terminal."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from arkor_cli_studio.commands import boundary, examples

if TYPE_CHECKING:
    from arkor_cli_studio.runner import RunResult

EPILOG = examples(
    "arkor-studio train                          # build, show the trainer, run arkor start",
    "arkor-studio train --file src/arkor/alt.ts > run.log   # run.log = arkor's output only",
    "arkor-studio -C ~/my-model train --no-manifest --no-notify",
)


def register(app: typer.Typer) -> None:
    app.command("train", epilog=EPILOG)(boundary(train))


def train(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            metavar="ENTRY",
            help="Entry file inside the project (relative to it); default src/arkor/index.ts.",
            show_default=False,
        ),
    ] = None,
    arkor: Annotated[
        Path | None,
        typer.Option(
            "--arkor",
            metavar="PATH",
            help="The arkor executable (default: ARKOR_BIN, node_modules/.bin/arkor, PATH).",
            show_default=False,
        ),
    ] = None,
    no_manifest: Annotated[
        bool,
        typer.Option(
            "--no-manifest",
            help="Skip `arkor build` and the trainer check; arkor start reuses the bundle.",
        ),
    ] = False,
    notify: Annotated[
        bool | None,
        typer.Option(
            "--notify/--no-notify",
            help="Desktop notification when arkor start ends (default: on in a terminal).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Build, show which trainer will run, then run `arkor start` in the project.

    arkor's stdout and stderr pass through byte for byte; our own lines go to
    stderr. The exit status is arkor start's (130 after Ctrl-C). One run at a
    time per project.
    """
    from arkor_cli_studio import runner
    from arkor_cli_studio.app import settings_of
    from arkor_cli_studio.config import env_float

    settings = settings_of(ctx)
    project, env = settings.project, settings.env
    entry = runner.resolve_entry(project, file) if file is not None else None
    executable = runner.find_arkor(project, arkor, env)
    grace = env_float(env, "ARKOR_STUDIO_STOP_GRACE", 10.0)
    timeout = env_float(env, "ARKOR_STUDIO_BUILD_TIMEOUT", 300.0)
    if notify is None:
        notify = _is_terminal(sys.stderr) or _is_terminal(sys.stdout)

    trainer: str | None = None
    try:
        with runner.terminate_on_signals(), runner.project_lock(project, env):
            if no_manifest:
                if entry is None:
                    _warn_stale(project)
            else:
                runner.build(executable, project, entry, env, timeout)
                trainer = runner.read_manifest(project, env, timeout)
                if trainer is None:
                    raise runner.NoTrainerError()
                _say(runner.run_label(trainer))
            sys.stdout.flush()
            sys.stderr.flush()
            result = runner.run_start(executable, project, entry, env, grace=grace)
    except runner.Terminated as stop:  # SIGTERM/SIGHUP before arkor start began
        raise typer.Exit(128 + stop.signum) from None
    _summary(result)
    if notify and not result.interrupted and result.terminated is None:
        _notify(result, trainer, project)
    raise typer.Exit(result.code)


def _is_terminal(stream: object) -> bool:
    try:
        return os.isatty(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _warn_stale(project: Path) -> None:
    from arkor_cli_studio import runner

    newer = runner.stale_sources(project)
    if newer:
        first = newer[0].relative_to(project)
        more = f" (and {len(newer) - 1} more)" if len(newer) > 1 else ""
        _say(
            f"warning: {first}{more} is newer than .arkor/build/index.mjs; "
            "arkor start will reuse the old bundle. Drop --no-manifest to rebuild."
        )


def _summary(result: RunResult) -> None:
    if result.terminated is not None:
        _say(f"arkor-studio: stopped arkor start (we got signal {result.terminated}).")
    elif result.interrupted:
        _say("arkor-studio: interrupted; arkor start stopped.")
    elif result.child_code == 0:
        _say("arkor start finished (exit status 0).")
    else:
        _say(f"arkor start failed (exit status {result.child_code}).")


def _notify(result: RunResult, trainer: str | None, project: Path) -> None:
    from arkor_cli_studio.notify import desktop_notify

    what = trainer or project.name
    if result.child_code == 0:
        desktop_notify("Training completed", f"{what}: arkor start exited with status 0")
    else:
        desktop_notify(
            "Training failed",
            f"{what}: arkor start exited with status {result.child_code}",
            critical=True,
        )
