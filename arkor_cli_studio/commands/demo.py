"""`arkor-studio demo`: the real `watch` (or `jobs`) against a built-in simulator.

The simulator of the Arkor cloud API listens on 127.0.0.1 (ephemeral port);
a temporary directory holds a fake HOME (credentials with a per-run random
token and the simulator's URL) and a project with `.arkor/state.json`. The
real command then runs *in this process*: `watch` is the engine's
`watch_job()` with a `WatchOptions` (no command line is built), `jobs` the
Typer app; the same HTTP/SSE client as against the real cloud, with HOME
pointing at the temporary directory for its duration. Everything is undone at exit,
including Ctrl-C: the directory is removed and HOME restored.

(Imports of anything heavier than typer happen inside the functions, so
`--help` and TAB completion stay fast.)

Why in-process rather than a child `python -m arkor_cli_studio`: no second
interpreter start-up (~0.2 s of imports); one process receives Ctrl-C, so
the interrupted `watch` exits 130 and our `finally` cleans up, with no
orphaned child or doubled signal handling; and the exit status is watch's
own. SIGTERM and SIGHUP unwind the same way (`signals`: exit 143 / 129).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from arkor_cli_studio import output
from arkor_cli_studio.choices import CiMode
from arkor_cli_studio.commands import boundary, examples
from arkor_cli_studio.commands._alerts import AlertOption, OnAlertOption
from arkor_cli_studio.commands._options import (
    Accessible,
    Advanced,
    Ci,
    Notify,
    Plain,
    SummaryFile,
    json_flag,
)
from arkor_cli_studio.env import environment_of

if TYPE_CHECKING:
    from arkor_cli_studio.alert_config import AlertSettings
    from arkor_cli_studio.demo import Scenario
    from arkor_cli_studio.env import Environment
    from arkor_cli_studio.session.run import WatchOptions

EPILOG = examples(
    "arkor-studio demo  # a full run in about a minute",
    "arkor-studio demo --advanced  # + the loss statistics, live",
    "arkor-studio demo --fail --speed 50  # a failed run, fast: exit 1",
    "arkor-studio demo --scenario overfit  # a run goes wrong: an alert fires",
    "arkor-studio demo --scenario nan --on-alert cancel --plain; echo $?",
    "arkor-studio demo --json --speed 100 |\njq -c 'select(.event==\"training.log\") | .data'",
    "arkor-studio demo --jobs  # the jobs table, every status",
    "arkor-studio demo --serve  # six jobs to try every command on",
)


def register(app: typer.Typer) -> None:
    app.command("demo", epilog=EPILOG)(boundary(demo))


# Long on purpose: a Typer command: mostly its parameter declarations.
def demo(
    ctx: typer.Context,
    speed: Annotated[
        float | None,
        typer.Option(
            "--speed",
            metavar="FACTOR",
            min=0.1,
            help="How much faster than a real run (default 4: about a minute).",
            show_default=False,
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            metavar="N",
            min=1,
            help="Training steps of the simulated run (default 120).",
            show_default=False,
        ),
    ] = None,
    fail: Annotated[
        bool, typer.Option("--fail", help="End in training.failed (watch exits 1).")
    ] = False,
    plain: Plain = False,
    as_json: Annotated[bool, json_flag("watch --json (or jobs --json).")] = False,
    advanced: Advanced = False,
    jobs: Annotated[
        bool, typer.Option("--jobs", help="Show the jobs table of a few simulated jobs instead.")
    ] = False,
    notify: Notify = None,
    ci: Ci = CiMode.auto,
    summary_file: SummaryFile = None,
    accessible: Accessible = False,
    scenario_kind: Annotated[
        ScenarioKind | None,
        typer.Option(
            "--scenario",
            help="A run that goes wrong about halfway, and the --alert rule that notices it: "
            "nan (the loss turns NaN: nan), diverge (it blows up: diverge), plateau (it "
            "stops improving: plateau:STEPS), stall (no training.log for a while: "
            "stall:DURATION), overfit (the eval loss climbs: eval_rises:3).",
            show_default=False,
            case_sensitive=False,
        ),
    ] = None,
    alert: AlertOption = None,
    on_alert: OnAlertOption = None,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Serve six simulated jobs (a finished sweep, runs going on now) until "
            "Ctrl-C, and print the lines that point arkor-studio at them from another "
            "terminal: try jobs --follow, wait, compare, stats, artifacts, cancel.",
        ),
    ] = False,
) -> None:
    """Try it without an account: a simulated training run, watched live."""
    from arkor_cli_studio.demo import DEFAULT_SPEED, DEFAULT_STEPS, Scenario

    environment = environment_of(ctx)
    scenario = Scenario(
        steps=steps if steps is not None else DEFAULT_STEPS,
        speed=speed if speed is not None else DEFAULT_SPEED,
        fail=fail,
        kind=scenario_kind.value if scenario_kind is not None else "normal",
    )
    if serve:
        serve_demo(speed if speed is not None else SERVE_SPEED)
        return
    if jobs:
        run_demo(scenario, ["jobs", *(["--json"] if as_json else [])], environment)
        return
    from arkor_cli_studio.session.run import Mode, WatchOptions

    mode: Mode | None = "json" if as_json else "plain" if plain else None
    from arkor_cli_studio.accessible import wanted

    options = WatchOptions(
        DEMO_PLACEHOLDER,
        mode,
        advanced=advanced,
        notify=notify.value if notify is not None else None,
        ci=ci.value,
        summary_file=summary_file,
        accessible=wanted(accessible, environment.environ),
        alerts=demo_alerts(scenario, alert, on_alert),
    )
    run_demo(scenario, options, environment)


class ScenarioKind(StrEnum):
    """`--scenario`: `demo.KINDS` but the clean run."""

    nan = "nan"
    diverge = "diverge"
    plateau = "plateau"
    stall = "stall"
    overfit = "overfit"


def demo_alerts(scenario: Scenario, rules: list[str] | None, on_alert: str | None) -> AlertSettings:
    """`--alert` as given; else the scenario's own rule and the defaults (the
    demo's project has no .arkor-studio.toml)."""
    from arkor_cli_studio.alert_config import (
        DEFAULT_ACTION,
        DEFAULT_RULES,
        AlertSettings,
        check_action,
        parse_rules,
    )

    texts = (
        tuple(rules) if rules else tuple(dict.fromkeys([*scenario.alert_rules(), *DEFAULT_RULES]))
    )
    parse_rules(texts)  # a bad rule: exit 2 before anything starts
    action = check_action(str(on_alert)) if on_alert is not None else DEFAULT_ACTION
    return AlertSettings(texts, action, "--alert" if rules else "demo")


DEMO_PLACEHOLDER = "{job}"  # the demo job's id, known once the simulator runs
SERVE_SPEED = 2.0  # `--serve`'s live runs: a few minutes each, time to look around


def serve_demo(speed: float) -> None:
    """The simulator with several jobs, until Ctrl-C (exit 0); the lines to
    paste in another terminal go to stdout. SIGTERM and SIGHUP unwind too,
    so the temporary directory is removed on every way out."""
    import secrets
    import tempfile
    import time

    from arkor_cli_studio.demo import ORG, PROJECT
    from arkor_cli_studio.demo_play import seed_serve
    from arkor_cli_studio.simulator import Simulator

    token = secrets.token_urlsafe(24)
    with (
        tempfile.TemporaryDirectory(prefix="arkor-studio-demo-") as tmp,
        Simulator(token=token, org=ORG, project=PROJECT, ping_interval=5.0) as sim,
    ):
        home, project = _write_files(Path(tmp), token, sim.url)
        served = seed_serve(sim, time.time(), speed=speed)
        for player in served.players:
            player.start()
        try:
            sys.stdout.write(_serve_lines(sim.url, home, project, served.sweep, served.live))
            sys.stdout.flush()
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            output.say(f"demo stopped; {tmp} removed.")
        finally:
            for player in served.players:
                player.stop()


def _serve_lines(url: str, home: Path, project: Path, sweep: list[str], live: list[str]) -> str:
    import shlex

    return f"""arkor-studio demo: a simulated Arkor cloud at {url}, serving until Ctrl-C.
Its jobs: {", ".join(sweep)} (a finished maxSteps sweep); {live[0]} and {live[1]} \
(training now; {live[1]} will run out of GPU memory); {live[2]} (waiting for a GPU).

In another terminal, paste:

  export HOME={shlex.quote(str(home))}
  cd {shlex.quote(str(project))}

then try:

  arkor-studio jobs --follow                 # the board: arrows, Enter, c, /, s, ?
  arkor-studio watch {live[0]}
  arkor-studio wait {live[0]} {live[1]}; echo $?   # 1: one of them failed
  arkor-studio compare {" ".join(sweep)}
  arkor-studio stats {sweep[1]}
  arkor-studio artifacts {sweep[1]}
  arkor-studio show {live[1]}
  arkor-studio cancel {live[2]}

(Instead of cd, add -C {shlex.quote(str(project))} to each command.)
"""


def run_demo(
    scenario: Scenario, command: WatchOptions | list[str], environment: Environment
) -> None:
    """`command`: the watch to run on the simulated job, or `jobs`'s arguments;
    `environment`: the run's, with HOME pointing at the demo's."""
    import dataclasses
    import secrets
    import tempfile
    import time

    from arkor_cli_studio.demo import ORG, PROJECT
    from arkor_cli_studio.demo_play import Player, add_demo_job, seed_jobs
    from arkor_cli_studio.simulator import Simulator

    token = secrets.token_urlsafe(24)
    show_jobs = isinstance(command, list)
    with (
        tempfile.TemporaryDirectory(prefix="arkor-studio-demo-") as tmp,
        Simulator(token=token, org=ORG, project=PROJECT, ping_interval=5.0) as sim,
    ):
        home, project = _write_files(Path(tmp), token, sim.url)
        player: Player | None = None
        if show_jobs:
            seed_jobs(sim, time.time())
        else:
            created = time.time()
            job_id = add_demo_job(sim, scenario, created)
            player = Player(sim, job_id, scenario, created=created)
        _banner(sim.url, tmp, scenario, show_jobs)
        demo_env = environment.with_environ(HOME=str(home))
        try:
            with _home(home):
                if player is not None:
                    player.start()
                if isinstance(command, list):
                    _run_jobs(project, sim.url, command, demo_env)
                else:
                    options = dataclasses.replace(command, job_id=job_id)
                    _run_watch(project, sim.url, options, demo_env)
        finally:
            if player is not None:
                player.stop()


def _run_watch(project: Path, url: str, options: WatchOptions, environment: Environment) -> None:
    """The real `watch`, in-process: same engine, same client, same exit status."""
    from arkor_cli_studio.config import Settings, project_dir
    from arkor_cli_studio.session.run import watch_job

    settings = Settings(
        project=project_dir(project),
        api_url_override=url,
        no_color=environment.no_color,
        env=environment.environ,
    )
    code = watch_job(settings, options, terminal=environment.stdout_isatty)
    if code:
        raise typer.Exit(int(code))


def _run_jobs(project: Path, url: str, args: list[str], environment: Environment) -> None:
    """The real `jobs`, in-process, through the app (in `environment`)."""
    from arkor_cli_studio.app import app

    root = ["--no-studio", "-C", str(project), "--api-url", url]
    if environment.no_color:
        root.append("--no-color")
    app(args=[*root, *args], prog_name="arkor-studio", obj=environment)


def _write_files(tmp: Path, token: str, url: str) -> tuple[Path, Path]:
    import json

    from arkor_cli_studio.demo import ORG, PROJECT, PROJECT_ID

    home = tmp / "home"
    project = tmp / "project"
    (home / ".arkor").mkdir(parents=True)
    (project / ".arkor").mkdir(parents=True)
    credentials = home / ".arkor" / "credentials.json"
    credentials.write_text(
        json.dumps(
            {
                "mode": "anon",
                "token": token,
                "anonymousId": "anon-demo",
                "arkorCloudApiUrl": url,
                "orgSlug": ORG,
            }
        ),
        encoding="utf-8",
    )
    credentials.chmod(0o600)
    (project / ".arkor" / "state.json").write_text(
        json.dumps({"orgSlug": ORG, "projectSlug": PROJECT, "projectId": PROJECT_ID}),
        encoding="utf-8",
    )
    return home, project


def _banner(url: str, tmp: str, scenario: Scenario, show_jobs: bool) -> None:
    what = (
        "a few simulated jobs"
        if show_jobs
        else f"a simulated {scenario.steps}-step run at {scenario.speed:g}x"
        + (f" that goes wrong ({scenario.kind})" if scenario.kind != "normal" else "")
        + (" that fails" if scenario.fail else "")
    )
    output.say(f"{what}, served by a simulated Arkor cloud at {url}")
    output.say(f"temporary HOME and project in {tmp} (removed at exit)")


@contextmanager
def _home(home: Path) -> Iterator[None]:
    """HOME points at the demo's directory while the real command runs."""
    saved = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = saved
