"""The run's environment (`env.Environment`) is injected, not read from the process:
a test passes its own to `app.main(environment=...)`."""

from __future__ import annotations

import contextlib
import io
import sys
import time
from datetime import UTC, datetime

from arkor_cli_studio.app import main
from arkor_cli_studio.env import Environment
from tests.helpers import patched_environ
from tests.test_color import colour_codes

CREATED = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def run(arkor, environment: Environment, *args: str) -> int:  # type: ignore[no-untyped-def]
    """`main(environment)` in-process. os.environ holds only the test's HOME and
    PATH (credentials are found through HOME); everything else the run sees
    (NO_COLOR, the streams, whether they are terminals, the clock) is
    `environment`'s."""
    saved_argv = sys.argv
    code = 0
    with (
        patched_environ(arkor.env),
        contextlib.redirect_stdout(environment.stdout),
        contextlib.redirect_stderr(environment.stderr),
    ):
        sys.argv = ["arkor-studio", *arkor.args(args)]
        try:
            main(environment)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        finally:
            sys.argv = saved_argv
    return code


def terminal_env(arkor, **environ: str) -> Environment:  # type: ignore[no-untyped-def]
    return Environment(
        environ={**arkor.env, **environ},
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdout_isatty=True,
        clock=lambda: datetime.fromtimestamp(CREATED + 3 * 3600, UTC),
    )


def test_an_injected_terminal_gets_the_coloured_table_and_its_no_color_turns_it_off(arkor):
    """A StringIO that the environment calls a terminal gets the terminal's
    table (colours); NO_COLOR in the environment's own variables, never set in
    os.environ, turns the colours off. Without the injection point the run
    would see a pipe (plain lines) and os.environ."""
    arkor.sim.add_job("job-1", name="faq-bot", status="running", created_at=CREATED)
    coloured = terminal_env(arkor)
    assert run(arkor, coloured, "jobs") == 0
    assert "faq-bot" in coloured.stdout.getvalue()
    assert colour_codes(coloured.stdout.getvalue())

    plain = terminal_env(arkor, NO_COLOR="1")
    assert run(arkor, plain, "jobs") == 0
    assert "faq-bot" in plain.stdout.getvalue()
    assert colour_codes(plain.stdout.getvalue()) == set()


def test_color_always_beats_the_environments_no_color_but_not_no_color(arkor):
    arkor.sim.add_job("job-1", name="faq-bot", status="running", created_at=CREATED)
    forced = terminal_env(arkor, NO_COLOR="1")
    assert run(arkor, forced, "--color", "always", "jobs") == 0
    assert colour_codes(forced.stdout.getvalue())
    refused = terminal_env(arkor)
    assert run(arkor, refused, "--no-color", "--color", "always", "jobs") == 0
    assert colour_codes(refused.stdout.getvalue()) == set()


def test_the_clock_is_the_environments(arkor):
    """`jobs`' Created column counts from the environment's clock: a job made
    at CREATED is `3 h ago` three hours later by that clock, whatever the
    machine's time."""
    arkor.sim.add_job("job-1", name="faq-bot", status="completed", created_at=CREATED)
    assert abs(time.time() - CREATED) > 86_400  # the machine's clock would say days or more
    environment = terminal_env(arkor)
    environment.stdout_isatty = False  # plain lines
    assert run(arkor, environment, "jobs") == 0
    assert "3 h ago" in environment.stdout.getvalue()


def test_no_color_reads_the_environments_variables_only():
    quiet = Environment(environ={"NO_COLOR": "1"}, stdout=io.StringIO())
    assert quiet.no_color
    loud = Environment(environ={}, stdout=io.StringIO())
    assert not loud.no_color
    loud.configure(no_color=True)
    assert loud.no_color
    forced = Environment(environ={"NO_COLOR": "1"}, stdout=io.StringIO())
    forced.configure(color_always=True)
    assert not forced.no_color and forced.color_always
