"""The root Typer app: global options, command registration, the one error boundary."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
import typer.core

from arkor_cli_studio import __version__
from arkor_cli_studio.choices import ColorMode
from arkor_cli_studio.commands import examples
from arkor_cli_studio.errors import ArkorStudioError, ExitCode

if TYPE_CHECKING:
    from arkor_cli_studio.env import Environment

HELP = """Arkor Studio's training flows in the terminal.

Lists jobs, follows one live (phase, metadata, events, loss chart), computes
the loss statistics of Studio's Advanced panel, and runs `arkor start`.
Reads the credentials and project state that the `arkor` CLI wrote; never
writes them.
"""

EPILOG = (
    examples(
        "arkor-studio demo  # try it: no account needed",
        "arkor-studio jobs  # the jobs table",
        "arkor-studio -C ~/my-model jobs -f  # another project's jobs, followed",
        "arkor-studio jobs --json | jq -r '.[0].id'",
        "arkor-studio watch job_123  # live; exit code: the outcome",
        "arkor-studio watch job_123 --plain || exit 1",
        "arkor-studio watch job_123 --json |\njq -c 'select(.event==\"training.log\") | .data'",
        "arkor-studio stats job_123 --json | jq .loss.mean",
        "arkor-studio --studio jobs  # through a running `arkor dev`",
    )
    + "\n\nExit codes: 0 ok/completed, 1 failed, 2 usage, 3 cancelled, 4 credentials or"
    + "\nconfiguration, 5 unreachable, 6 an alert ended the watch, 130 Ctrl-C,"
    + "\n141 stdout closed, 143 SIGTERM;"
    + "\ntrain: the job's outcome (arkor start exits 0 even for a failed job), or"
    + "\narkor start's own non-zero status."
    + "\n\nSet ARKOR_STUDIO_DEBUG=1 to see a traceback for unexpected errors."
)

# The subcommands, in --help's order: each is `arkor_cli_studio.commands.<name>`
# with a `register(app)`. They are imported and built only when looked up, so a
# run pays for its own command alone (see docs/PERFORMANCE.md, start-up).
COMMANDS = (
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
)

# The first paragraph of each command's help, which is all that completing a
# command name shows (zsh and fish: the name and its short help): a TAB
# there builds no command. tests/test_startup.py checks they are the commands'.
SUMMARIES = {
    "jobs": "The jobs table: Status, Name, Duration, Created, ID, in the server's order.",
    "watch": "Follow one job live: phase, metadata, progress, loss chart, events.",
    "show": "One job: metadata, error and training configuration.",
    "stats": "Loss statistics of a job: count, mean ± 95% CI, std dev, variance, p90, p95.",
    "artifacts": "A job's artifacts: the final adapter and the checkpoints.",
    "cancel": "Cancel a queued or running job.",
    "compare": "Compare 2 to 6 jobs: loss curves, statistics, config differences.",
    "wait": "Wait for several jobs at once, over their event streams, in one process.",
    "train": "Build, show which trainer will run, then run `arkor start` in the project.",
    "demo": "Try it without an account: a simulated training run, watched live.",
}


def _build_command(name: str) -> Any:
    """The click command Typer makes of `commands.<name>`, built on its own,
    once per process: a command keeps nothing of a run (Click makes a context
    per run), and building one reads every parameter's signature and type
    hints, ~1.5 ms. A run builds one anyway; the in-process tests run the
    app some thousand times."""
    command = _BUILT.get(name)
    if command is None:
        module = importlib.import_module(f"arkor_cli_studio.commands.{name}")
        from arkor_cli_studio.commands import CommandApp

        single = CommandApp(add_completion=False, rich_markup_mode=None)
        module.register(single)
        command = _BUILT[name] = typer.main.get_command(single)
    return command


_BUILT: dict[str, Any] = {}


class _LazyCommands(MutableMapping[str, Any]):
    """name -> command; a command is imported and built the first time it is read.

    Listing the names (usage errors, "did you mean") loads nothing, and nor
    do the root's `--help` and completing a command name: both show each
    command's name and summary only (`summaries_only`).
    """

    def __init__(self, names: Iterable[str]) -> None:
        self._names = list(names)
        self._built: dict[str, Any] = {}
        # While completing a command name or writing the root's --help: a
        # stand-in with the name and the help summary instead of the command
        # (never kept).
        self.summaries_only = False

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in self._names:
                raise KeyError(name)
            if self.summaries_only and name in SUMMARIES:
                return typer.core.TyperCommand(name, help=SUMMARIES[name])
            self._built[name] = _build_command(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        if name not in self._names:
            self._names.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


class _LazyGroup(typer.core.TyperGroup):
    """The root group, with `COMMANDS` loaded on demand (Typer would build them all)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        lazy = _LazyCommands(COMMANDS)
        for name, command in self.commands.items():  # any registered the usual way
            lazy[name] = command
        self.commands = lazy
        self._lazy = lazy

    def shell_complete(self, ctx: Any, incomplete: str) -> Any:
        """Completing at the root (a command name or a global option): each
        command's name and summary, without importing or building it."""
        self._lazy.summaries_only = True
        try:
            return super().shell_complete(ctx, incomplete)
        finally:
            self._lazy.summaries_only = False

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The root's --help lists each command's name and summary (its short
        help, cut to the width as Click cuts it), without importing or
        building it: as a minimal Typer app's --help, it builds nothing."""
        self._lazy.summaries_only = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._lazy.summaries_only = False


app = typer.Typer(
    name="arkor-studio",
    cls=_LazyGroup,
    help=HELP,
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,  # they print locals, and locals hold tokens
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"arkor-studio {__version__}")
        raise typer.Exit()


# Long on purpose: a Typer callback, mostly the global options' declarations.
@app.callback()
def root(
    ctx: typer.Context,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            "-C",
            help="The arkor project directory (default: the current one).",
            show_default=False,
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            metavar="URL",
            help="Arkor cloud API base URL; overrides ARKOR_CLOUD_API_URL and the credentials.",
        ),
    ] = None,
    studio: Annotated[
        bool | None,
        typer.Option(
            "--studio/--no-studio",
            help=(
                "Go through a running `arkor dev` (Studio) instead of the cloud API: at "
                "ARKOR_STUDIO_URL, else the Studio found on 127.0.0.1:4000-4009 (the one whose "
                "page shows the token in ~/.arkor/studio-token). `--studio URL` is "
                "--studio-url URL. ARKOR_STUDIO_URL alone turns this on; --no-studio off."
            ),
            show_default=False,
        ),
    ] = None,
    studio_url: Annotated[
        str | None,
        typer.Option(
            "--studio-url",
            metavar="URL",
            help="Studio's address (loopback only); implies --studio.",
            show_default=False,
        ),
    ] = None,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colours (NO_COLOR is honoured too).")
    ] = False,
    color: Annotated[
        ColorMode,
        typer.Option(
            "--color",
            help="auto: colours on a terminal unless NO_COLOR is set (16 colours where the "
            "terminal has no 256, as TERM/COLORTERM say); never (= --no-color); always: also "
            "when piped, NO_COLOR or not.",
        ),
    ] = ColorMode.auto,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    from arkor_cli_studio.env import Environment
    from arkor_cli_studio.render.console import force_color

    if color == ColorMode.never:
        no_color = ctx.params["no_color"] = True
    environment = ctx.obj if isinstance(ctx.obj, Environment) else Environment()
    environment.configure(
        project=project,
        api_url=api_url,
        studio=studio,
        studio_url=studio_url,
        no_color=no_color,
        color_always=color == ColorMode.always,
    )
    force_color(environment.color_always)  # (set on every run: in-process)
    ctx.obj = environment


def main(environment: Environment | None = None) -> None:
    """The console script. `environment`: the run's own (a test's), instead
    of one built from the process (`env.Environment`)."""
    environ = environment.environ if environment is not None else os.environ
    debug = environ.get("ARKOR_STUDIO_DEBUG") == "1"
    from arkor_cli_studio.signals import terminate_on

    with terminate_on(once=True):  # SIGTERM -> 143, SIGHUP -> 129, after unwinding
        _main(debug, environment)


def _main(debug: bool, environment: Environment | None) -> None:  # (the one error boundary)
    from arkor_cli_studio import argv, output
    from arkor_cli_studio.signals import Terminated

    output.hold_std_streams()
    try:
        try:
            args = argv.rewrite(sys.argv[1:], COMMANDS)
            app(args=args, prog_name="arkor-studio", obj=environment)
        finally:
            sys.stdout.flush()  # a failed write surfaces here, not at exit
    except Terminated as stop:
        sys.exit(stop.exit_code)
    except ArkorStudioError as error:
        if debug and error.exit_code not in (ExitCode.INTERRUPTED, ExitCode.BROKEN_PIPE):
            import traceback

            traceback.print_exc()
        if error.exit_code == ExitCode.BROKEN_PIPE:
            output.quiet_stdout()
        else:
            output.error(error.message, error.hint)
        sys.exit(int(error.exit_code))
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.INTERRUPTED))
    except BrokenPipeError:
        output.quiet_stdout()
        sys.exit(int(ExitCode.BROKEN_PIPE))
    except OSError as exc:
        if debug or not output.is_write_failure(exc):
            _unexpected(exc, debug)
        output.write_failed(exc)
        sys.exit(int(ExitCode.FAILURE))
    except Exception as exc:  # the last resort: one line, never a traceback by default
        _unexpected(exc, debug)


def _unexpected(exc: Exception, debug: bool) -> NoReturn:
    from arkor_cli_studio import output

    if debug:
        raise exc
    output.error(
        f"unexpected error: {type(exc).__name__}: {exc}",
        "run again with ARKOR_STUDIO_DEBUG=1 for a traceback, and report it.",
    )
    sys.exit(int(ExitCode.FAILURE))
