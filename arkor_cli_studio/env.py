"""The environment of one run: one object that every command reaches the world through.

(httpie's `Environment`, hatch's `Application`.) It holds:

- `environ`: the environment variables the run sees (a copy of os.environ,
  or a test's own mapping); `settings.env` is this same mapping;
- `stdin`, `stdout`, `stderr` and whether each is a terminal, decided once;
- colour: `--no-color`/`--color never`, `--color always`, and NO_COLOR read
  from `environ` (never from os.environ);
- `console()`: the console factory (rich is imported on the first console);
- `now()`: the clock;
- `settings`: the global options, validated when a command first asks for
  them (so `--help` of a subcommand works even with a bad --project).

The root command builds one from the process (or takes the one passed to
`app.main(environment=...)`: an in-process test injects its own instead of
clearing os.environ) and keeps it as the root context's `obj`; a command
asks for it with `environment_of(ctx)`. This module imports nothing heavier
than the standard library: every run loads it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.render.console import Console


def is_terminal(stream: object) -> bool:
    """A real terminal (not FORCE_COLOR on a pipe): decides live vs. lines."""
    try:
        return os.isatty(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Environment:
    """See the module's docstring. Every argument defaults to the process's own."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        stdin_isatty: bool | None = None,
        stdout_isatty: bool | None = None,
        stderr_isatty: bool | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.environ: dict[str, str] = dict(os.environ if environ is None else environ)
        self.stdin = sys.stdin if stdin is None else stdin
        self.stdout = sys.stdout if stdout is None else stdout
        self.stderr = sys.stderr if stderr is None else stderr
        self.stdin_isatty = is_terminal(self.stdin) if stdin_isatty is None else stdin_isatty
        self.stdout_isatty = is_terminal(self.stdout) if stdout_isatty is None else stdout_isatty
        self.stderr_isatty = is_terminal(self.stderr) if stderr_isatty is None else stderr_isatty
        self.now = clock
        # The root command's options (`configure`); until then: defaults.
        self._no_color_flag = False
        self.color_always = False
        self._options: tuple[Any, ...] = (None, None, None, None)
        self._settings: Settings | None = None

    def configure(
        self,
        *,
        project: Path | None = None,
        api_url: str | None = None,
        studio: bool | None = None,
        studio_url: str | None = None,
        no_color: bool = False,
        color_always: bool = False,
    ) -> None:
        """The root command's options (`--color never` is `no_color`)."""
        self._no_color_flag = no_color
        self.color_always = color_always and not no_color
        self._options = (project, api_url, studio, studio_url)
        self._settings = None

    def with_environ(self, **changes: str) -> Environment:
        """The same streams, clock and colour, `changes` made to `environ`
        (`demo`: HOME pointing at its temporary directory)."""
        other = Environment(
            environ={**self.environ, **changes},
            stdin=self.stdin,
            stdout=self.stdout,
            stderr=self.stderr,
            stdin_isatty=self.stdin_isatty,
            stdout_isatty=self.stdout_isatty,
            stderr_isatty=self.stderr_isatty,
            clock=self.now,
        )
        other._no_color_flag = self._no_color_flag
        other.color_always = self.color_always
        return other

    @property
    def no_color(self) -> bool:
        """No colours anywhere: --no-color, or NO_COLOR in `environ` (which
        `--color always` overrides)."""
        if self._no_color_flag:
            return True
        return bool(self.environ.get("NO_COLOR")) and not self.color_always

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from arkor_cli_studio.config import Settings, project_dir
            from arkor_cli_studio.errors import UsageError
            from arkor_cli_studio.studio_config import resolve_studio_url

            project, api_url, studio, studio_url = self._options
            # Validated before any command runs: a non-loopback URL never gets a request.
            found = resolve_studio_url(studio, studio_url, self.environ)
            if found is not None and api_url is not None:
                raise UsageError(
                    "--api-url and Studio mode don't mix: Studio talks to the cloud API itself.",
                    hint="Drop one of them (--no-studio turns off ARKOR_STUDIO_URL).",
                )
            self._settings = Settings(
                project=project_dir(project),
                api_url_override=api_url,
                no_color=self.no_color,
                studio_url=found[0] if found else None,
                studio_source=found[1] if found else "--studio",
                env=self.environ,
            )
        return self._settings

    def console(self) -> Console:
        """A console on stdout: colours on a terminal unless `no_color`;
        everywhere with `--color always`. (None on stderr: our lines there
        are `output`'s.)"""
        from arkor_cli_studio.render.console import make_console

        return make_console(file=self.stdout, no_color=self.no_color, terminal=self.stdout_isatty)


def environment_of(ctx: Any) -> Environment:
    """The run's environment, from any command's `typer.Context`."""
    found = ctx.find_root().obj
    assert isinstance(found, Environment)
    return found
