"""alerts.py: rule parsing, detection (with a clock we drive), latency, no false alarms."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from arkor_cli_studio.alert_config import (
    DEFAULT_RULES,
    check_action,
    load_project_alerts,
    parse_duration,
    parse_rule,
    parse_rules,
    resolve_alerts,
)
from arkor_cli_studio.alert_rules import PLATEAU_MAX_POINTS, PlateauRule, format_seconds
from arkor_cli_studio.alerts import Alert, AlertWatch
from arkor_cli_studio.demo import KINDS, Planned, Scenario, plan
from arkor_cli_studio.errors import ConfigError, ExitCode, UsageError
from arkor_cli_studio.model import LOG, Event, parse_event


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def log(step: float | None = None, loss: Any = None, eval_loss: Any = None, **extra: Any) -> Event:
    """A training.log as it comes off the wire (JSON text through parse_event)."""
    data: dict[str, Any] = {"type": "training.log", "timestamp": "2026-03-01T12:00:00Z"}
    if step is not None:
        data["step"] = step
    if loss is not None:
        data["loss"] = loss
    if eval_loss is not None:
        data["evalLoss"] = eval_loss
    data.update(extra)
    event = parse_event("training.log", str(step), json.dumps(data, allow_nan=True))
    assert event is not None
    return event


def raw_log(text: str) -> Event:
    event = parse_event("training.log", "1", text)
    assert event is not None
    return event


def other(name: str, **data: Any) -> Event:
    return Event(name, "x", {"type": name, **data})


def feed(watch: AlertWatch, losses: list[float], start: int = 1) -> list[list[Alert]]:
    return [watch.observe(log(start + i, value)) for i, value in enumerate(losses)]


# --------------------------------------------------------------------------
# Parsing


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("nan", "nan"),
        ("NaN", "nan"),
        ("loss>2", "loss>2"),
        ("loss > 2.5", "loss>2.5"),
        ("loss<0.1", "loss<0.1"),
        ("eval_loss>1e-1", "eval_loss>1e-1"),
        ("evalLoss<0.5", "eval_loss<0.5"),
        ("diverge", "diverge"),
        ("diverge:4", "diverge:4"),
        ("eval_rises:3", "eval_rises:3"),
        ("plateau:200", "plateau:200"),
        ("plateau:200:0.5%", "plateau:200:0.5%"),
        ("plateau:50:0.02", "plateau:50:0.02"),
        ("stall:10m", "stall:10m"),
        ("Stall: 1h30m", "stall:1h30m"),
    ],
)
def test_rules_parse(text: str, spec: str):
    assert parse_rule(text).spec == spec


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "cannot be empty"),
        ("los>2", "Not an alert rule: 'los>2'"),
        ("loss", "needs a comparison: loss>X or loss<X"),
        ("loss>", "needs a number after '>'"),
        ("loss>abc", "needs a number after '>'"),
        ("loss>inf", "needs a number after '>'"),
        ("loss>=2", "needs a number after '>'"),
        ("diverge:1", "diverge:K needs a factor K above 1"),
        ("diverge:x", "diverge:K needs a factor K above 1"),
        ("eval_rises", "eval_rises:N needs a whole number N of 1 or more"),
        ("eval_rises:0", "eval_rises:N needs a whole number"),
        ("eval_rises:2.5", "eval_rises:N needs a whole number"),
        ("plateau", "plateau:STEPS[:MIN_DELTA] needs a number of steps above 0"),
        ("plateau:-5", "needs a number of steps above 0"),
        ("plateau:100:150%", "MIN_DELTA is a relative improvement"),
        ("plateau:100:x", "MIN_DELTA is a relative improvement"),
        ("stall", "stall:DURATION needs a duration above 0"),
        ("stall:0s", "needs a duration above 0"),
        ("stall:10 minutes", "needs a duration above 0"),
        ("stall:1h30", "needs a duration above 0"),
        ("bogus\x1b[31m", "Not an alert rule: 'bogus'"),  # no escape reaches the terminal
    ],
)
def test_bad_rules_are_usage_errors_that_say_what_is_wrong(text: str, says: str):
    with pytest.raises(UsageError) as caught:
        parse_rule(text)
    assert caught.value.exit_code == ExitCode.USAGE == 2
    assert says in caught.value.message
    assert "\x1b" not in caught.value.message
    assert caught.value.hint is not None and "stall:DURATION" in caught.value.hint


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45", 45), ("90s", 90), ("10m", 600), ("1h30m", 5400), ("1.5h", 5400), ("500ms", 0.5)],
)
def test_durations(text: str, seconds: float):
    assert parse_duration(text) == pytest.approx(seconds)


def test_rules_are_kept_once_in_order_and_none_means_none():
    assert [r.spec for r in parse_rules(["nan", "diverge", "nan", "NAN"])] == ["nan", "diverge"]
    assert parse_rules(["none"]) == []
    with pytest.raises(UsageError, match="cannot be combined"):
        parse_rules(["none", "nan"])


def test_on_alert_choices():
    assert [check_action(a) for a in ("notify", "EXIT", " cancel ")] == ["notify", "exit", "cancel"]
    with pytest.raises(UsageError, match="--on-alert is one of notify, exit, cancel, not 'kill'"):
        check_action("kill")


# --------------------------------------------------------------------------
# nan: within the event that carries it


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('{"step": 7, "loss": NaN}', "loss is NaN"),
        ('{"step": 7, "loss": Infinity}', "loss is Infinity"),
        ('{"step": 7, "loss": -Infinity}', "loss is -Infinity"),
        ('{"step": 7, "loss": 1e309}', "loss is Infinity"),  # overflows to infinity
        ('{"step": 7, "loss": "nan"}', 'loss is "nan" (not a number)'),
        ('{"step": 7, "loss": true}', "loss is true (not a number)"),
        ('{"step": 7, "loss": 0.5, "evalLoss": NaN}', "eval loss is NaN"),
        # Server text: shown as JSON shows it (an escape as `\u001b`, never obeyed).
        ('{"step": 7, "evalLoss": "\\u001b[2Jx"}', 'eval loss is "\\u001b[2Jx" (not a number)'),
    ],
)
def test_nan_fires_on_the_event_that_carries_it(data: str, message: str):
    watch = AlertWatch.from_texts(["nan"])
    assert watch.observe(log(6, 0.7)) == []
    (alert,) = watch.observe(raw_log(data))
    assert alert.rule == "nan" and alert.step == 7
    assert alert.message == message and "\x1b" not in alert.line()
    assert alert.line() == f"ALERT nan at step 7: {message}"
    json.dumps(alert.record(), allow_nan=False)  # the record is valid JSON


def test_nan_fires_once_per_condition_and_again_after_it_cleared():
    watch = AlertWatch.from_texts(["nan"])
    fired = [
        watch.observe(raw_log(text))
        for text in (
            '{"step": 1, "loss": NaN}',  # fires
            '{"step": 2, "loss": NaN}',  # still NaN: no repeat
            '{"step": 2, "evalLoss": 0.9}',  # the eval is fine, the loss still NaN
            '{"step": 3, "loss": null}',  # null is "absent": says nothing
            '{"step": 4, "loss": 0.5}',  # cleared
            '{"step": 5, "loss": Infinity}',  # fires again
        )
    ]
    assert [len(f) for f in fired] == [1, 0, 0, 0, 0, 1]
    assert [a.step for a in watch.fired] == [1, 5]


def test_null_and_absent_values_never_fire_nan():
    watch = AlertWatch.from_texts(["nan"])
    assert watch.observe(raw_log('{"step": 1, "loss": null, "evalLoss": null}')) == []
    assert watch.observe(raw_log('{"step": 2}')) == []
    assert watch.observe(other("checkpoint.saved", step=2, loss="nan")) == []


# --------------------------------------------------------------------------
# Thresholds: within the event that crosses


def test_loss_threshold_fires_within_the_event_once_and_again_after_clearing():
    watch = AlertWatch.from_texts(["loss>2"])
    fired = feed(watch, [1.5, 2.5, 3.0, 1.9, 2.1])
    assert [len(f) for f in fired] == [0, 1, 0, 0, 1]
    first = fired[1][0]
    assert first.line() == "ALERT loss>2 at step 2: loss 2.5 > 2"
    assert first.record() == {
        "event": "alert",
        "rule": "loss>2",
        "step": 2,
        "values": {"loss": 2.5, "threshold": 2.0},
        "message": "loss 2.5 > 2",
    }


def test_eval_loss_threshold_reads_the_eval_loss_only():
    watch = AlertWatch.from_texts(["eval_loss<0.5"])
    assert watch.observe(log(10, 0.1)) == []  # a training loss below: not this rule
    (alert,) = watch.observe(log(20, eval_loss=0.49))
    assert alert.line() == "ALERT eval_loss<0.5 at step 20: eval loss 0.49 < 0.5"
    assert watch.observe(log(30, eval_loss=0.48)) == []


# --------------------------------------------------------------------------
# diverge


def test_diverge_fires_when_the_loss_stays_above_k_times_its_best():
    watch = AlertWatch.from_texts(["diverge"])
    losses = [1.0] * 40 + [1.0 * 1.25**i for i in range(1, 20)]
    fired = feed(watch, losses)
    steps = [a.step for f in fired for a in f]
    assert len(steps) == 1
    # The median of five passes 3x three values after the raw loss does.
    first_above = 1 + next(i for i, v in enumerate(losses) if v > 3.0)
    assert steps[0] == first_above + 2
    assert watch.fired[0].message.startswith("loss 3.")
    assert "(median of the last 5) > 3 × its best level 1" in watch.fired[0].message


@pytest.mark.parametrize("spikes", [[50.0], [50.0, 80.0]])
def test_diverge_ignores_one_or_two_spikes_in_five(spikes: list[float]):
    watch = AlertWatch.from_texts(["diverge"])
    losses = [1.0] * 20
    for offset, spike in enumerate(spikes):
        losses[10 + 2 * offset] = spike
    assert not any(feed(watch, losses))


def test_diverge_factor_and_nothing_before_five_values():
    watch = AlertWatch.from_texts(["diverge:1.5"])
    assert not any(feed(watch, [0.1, 9.0, 9.0, 9.0]))  # four values: too few to say
    watch = AlertWatch.from_texts(["diverge:1.5"])
    fired = feed(watch, [1.0] * 10 + [1.6] * 3)
    assert [len(f) for f in fired][-3:] == [0, 0, 1]


def test_diverge_never_fires_on_a_best_level_at_or_below_zero():
    watch = AlertWatch.from_texts(["diverge"])
    assert not any(feed(watch, [-1.0] * 10 + [5.0] * 10))


# --------------------------------------------------------------------------
# eval_rises


def test_eval_rises_fires_at_the_nth_rise_in_a_row():
    watch = AlertWatch.from_texts(["eval_rises:3"])
    evals = [(100, 0.70), (200, 0.55), (300, 0.58), (400, 0.57), (500, 0.58), (600, 0.61)]
    assert not any(watch.observe(log(s, eval_loss=v)) for s, v in evals)
    (alert,) = watch.observe(log(1200, eval_loss=0.64))
    assert alert.line() == "ALERT eval_rises:3 at step 1,200: eval loss 0.64 > 0.61 > 0.58 > 0.57"
    assert alert.values == {"evalLoss": [0.57, 0.58, 0.61, 0.64]}
    assert watch.observe(log(1300, eval_loss=0.70)) == []  # still rising: the same condition
    assert watch.observe(log(1400, eval_loss=0.60)) == []  # fell: cleared
    assert not any(watch.observe(log(s, eval_loss=v)) for s, v in [(1500, 0.61), (1600, 0.62)])
    assert len(watch.observe(log(1700, eval_loss=0.63))) == 1  # three rises again


def test_eval_rises_counts_an_evaluation_logged_twice_once_and_ignores_training_loss():
    watch = AlertWatch.from_texts(["eval_rises:2"])
    assert watch.observe(log(10, eval_loss=0.5)) == []
    assert watch.observe(log(20, eval_loss=0.6)) == []
    assert watch.observe(log(20, 0.4, eval_loss=0.6)) == []  # step 20's eval again
    assert watch.observe(log(25, 9.0)) == []  # training loss only
    assert len(watch.observe(log(30, eval_loss=0.7))) == 1


# --------------------------------------------------------------------------
# plateau: within its window


def test_plateau_fires_within_its_window():
    watch = AlertWatch.from_texts(["plateau:50"])
    # Improves 2% a step up to step 100, then stays within 0.1%.
    losses = [2.0 * 0.98**s for s in range(1, 101)]
    flat = losses[-1]
    losses += [flat * (1.0005 if s % 2 else 0.9999) for s in range(101, 300)]
    fired = feed(watch, losses)
    steps = [a.step for f in fired for a in f]
    assert len(steps) == 1
    # The best last improved at step 102 (0.9999 of step 100's value):
    # the window of 50 steps after it is complete at step 152.
    assert steps[0] <= 100 + 50 + 2
    assert steps[0] >= 100 + 50 - 1
    alert = watch.fired[0]
    assert "over the last 50 steps (less than 1%)" in alert.message
    assert alert.values["steps"] == 50 and alert.values["minDelta"] == 0.01


def test_plateau_says_nothing_before_a_whole_window_and_honours_min_delta():
    watch = AlertWatch.from_texts(["plateau:100"])
    assert not any(feed(watch, [1.0] * 100))  # steps 1..100: 99 steps of history
    assert len(watch.observe(log(101, 1.0))) == 1
    # 0.5% a step is plenty for the default 1% over 10 steps, not for 10%.
    losses = [1.0 * 0.995**s for s in range(60)]
    assert not any(feed(AlertWatch.from_texts(["plateau:10"]), losses))
    assert any(feed(AlertWatch.from_texts(["plateau:10:10%"]), losses))


def test_plateau_clears_on_improvement_and_restarts_when_steps_go_back():
    watch = AlertWatch.from_texts(["plateau:10"])
    fired = feed(watch, [1.0] * 15 + [0.5] + [0.5] * 15)
    assert [i + 1 for i, f in enumerate(fired) if f] == [11, 26]
    # A restarted run (step numbers from 1 again): no window yet.
    assert watch.observe(log(1, 0.5)) == []


def test_plateau_memory_is_bounded_on_a_run_that_always_improves():
    watch = AlertWatch.from_texts(["plateau:100000"])
    rule = watch.rules[0]
    assert isinstance(rule, PlateauRule)
    for step in range(1, 50_001):
        watch.observe(log(step, 10.0 - step * 1e-4))
    assert len(rule.points) <= PLATEAU_MAX_POINTS + 1


# --------------------------------------------------------------------------
# stall: within DURATION + 1 s (the engine ticks once a second)


def started_stall(seconds: str = "stall:60s") -> tuple[AlertWatch, Clock]:
    clock = Clock()
    watch = AlertWatch.from_texts([seconds], clock)
    watch.observe(other("training.started"))
    return watch, clock


def test_stall_fires_at_duration_since_the_last_log():
    watch, clock = started_stall()
    clock.now += 30
    watch.observe(log(1, 1.0))
    clock.now += 59.9
    assert watch.tick() == []
    clock.now += 0.1
    (alert,) = watch.tick()
    assert alert.line() == "ALERT stall:60s at step 1: no training.log for 1m00s (last step 1)"
    assert alert.values == {"seconds": 60.0, "limit": 60.0, "lastStep": 1}
    clock.now += 30
    assert watch.tick() == []  # the same silence: once
    watch.observe(log(2, 1.0))  # cleared
    clock.now += 60
    assert len(watch.tick()) == 1  # a new silence


@pytest.mark.parametrize("phase", [0.0, 0.25, 0.5, 0.99])
def test_stall_is_seen_within_duration_plus_one_second_at_one_tick_a_second(phase: float):
    watch, clock = started_stall("stall:5s")
    silence_from = clock.now + phase
    clock.now = silence_from
    watch.observe(log(3, 1.0))
    tick = silence_from - phase + 1.0  # the engine's 1 Hz ticks, unaligned with the log
    while True:
        clock.now = tick
        if watch.tick():
            break
        tick += 1.0
    assert 5.0 <= clock.now - silence_from <= 5.0 + 1.0


def test_stall_not_before_training_starts_nor_after_the_end():
    clock = Clock()
    watch = AlertWatch.from_texts(["stall:10s"], clock)
    clock.now += 3600  # queued, the GPU warming up: not a stall
    assert watch.tick() == []
    watch.status("running")  # a poll says it runs: the clock starts now
    clock.now += 9
    assert watch.tick() == []
    clock.now += 1
    assert len(watch.tick()) == 1
    watch.observe(other("training.completed"))
    clock.now += 100
    assert watch.tick() == []


def test_stall_pauses_while_the_stream_is_down():
    watch, clock = started_stall("stall:10s")
    watch.notice("interrupted")
    clock.now += 600
    assert watch.tick() == []
    watch.notice("resumed")
    clock.now += 9
    assert watch.tick() == []
    clock.now += 1
    assert len(watch.tick()) == 1


def test_a_terminal_status_from_a_poll_stops_the_stall_clock():
    watch, clock = started_stall("stall:10s")
    watch.status("cancelled")
    clock.now += 60
    assert watch.tick() == []


def test_pings_are_not_progress():
    watch, clock = started_stall("stall:10s")
    for _ in range(10):
        clock.now += 1
        watch.observe(other("ping"))
    assert len(watch.tick()) == 1


# --------------------------------------------------------------------------
# No false alarms: 50 clean runs of varied shapes, with the default rules


def clean_scenario(seed: int) -> Scenario:
    """A clean run of a random shape: length, noise, level, decay, a warm-up
    bump, occasional one-step spikes, evaluations every N steps."""
    r = random.Random(seed)
    return Scenario(
        seed=seed,
        steps=r.randint(30, 600),
        noise=r.uniform(0.3, 1.6),
        start=r.uniform(0.4, 3.0),
        floor=r.uniform(0.15, 1.5),
        decay=r.uniform(1.0, 8.0),
        bump=r.choice([0.0, r.uniform(0.05, 0.6)]),
        spikes=r.choice([0.0, r.uniform(0.002, 0.02)]),
        eval_steps=r.choice([None, r.randint(1, 60)]),
    )


def wire(planned: Planned, index: int) -> Event:
    """A planned event as the client reads it off the wire."""
    body = {"type": planned.event, "jobId": "job", **planned.payload}
    event = parse_event(planned.event, str(index), json.dumps(body, allow_nan=True))
    assert event is not None
    return event


def replay(scenario: Scenario, rules: list[str] | tuple[str, ...]) -> list[Alert]:
    """The whole run through an AlertWatch, at the run's own (wall) pace: the
    clock follows the planned times, with a tick every second between events."""
    clock = Clock(0.0)
    watch = AlertWatch.from_texts(rules, clock)
    fired: list[Alert] = []
    for index, planned in enumerate(plan(scenario), start=1):
        due = planned.at / scenario.speed
        while clock.now + 1.0 < due:
            clock.now += 1.0
            fired += watch.tick()
        clock.now = due
        fired += watch.observe(wire(planned, index))
    return fired


def test_no_false_alarms_on_50_clean_runs_with_the_default_rules():
    shapes = [clean_scenario(seed) for seed in range(50)]
    # The shapes do vary (else this would prove little).
    assert len({s.eval_every for s in shapes}) > 10
    assert sum(1 for s in shapes if s.bump) > 10 and sum(1 for s in shapes if s.spikes) > 10
    events = 0
    for scenario in shapes:
        assert replay(scenario, DEFAULT_RULES) == [], scenario
        events += len(plan(scenario))
    assert events > 10_000
    assert DEFAULT_RULES == ("nan", "diverge")


# --------------------------------------------------------------------------
# The simulator's scenarios: each goes wrong the way its rule notices


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "normal"])
def test_each_scenario_fires_its_rule_once_and_nothing_else(kind: str):
    scenario = Scenario(kind=kind, speed=50.0)
    rules = scenario.alert_rules()
    assert rules
    fired = replay(scenario, [*rules, *DEFAULT_RULES] if kind not in DEFAULT_RULES else rules)
    assert [a.rule for a in fired] == [rules[0]]
    # It fires after the trouble starts (no sooner).
    assert fired[0].step is not None and fired[0].step >= scenario.trouble_step


def test_a_normal_run_fires_none_of_the_scenario_rules():
    # (Not plateau's: a run that converges does plateau in its last stretch.)
    kinds = [k for k in KINDS if k != "plateau"]
    rules = [r for kind in kinds for r in Scenario(kind=kind, speed=50.0).alert_rules()]
    assert replay(Scenario(speed=50.0), rules) == []


def test_the_nan_scenario_sends_nan_on_the_wire():
    events = [wire(p, i) for i, p in enumerate(plan(Scenario(kind="nan")))]
    logs = [e for e in events if e.name == LOG]
    assert any(isinstance(e.data.get("loss"), float) and math.isnan(e.data["loss"]) for e in logs)


def test_format_seconds():
    assert [format_seconds(s) for s in (1.25, 45, 602, 3900)] == [
        "1.2s",
        "45s",
        "10m02s",
        "1h05m00s",
    ]


# --------------------------------------------------------------------------
# The project file: .arkor-studio.toml


def write(project: Path, text: str) -> Path:
    path = project / ".arkor-studio.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_project_file_absent_means_the_defaults(tmp_path: Path):
    settings = resolve_alerts(None, None, tmp_path)
    assert settings.rules == DEFAULT_RULES and settings.action == "notify"
    assert settings.source == "defaults"


def test_project_file_rules_and_action(tmp_path: Path):
    path = write(
        tmp_path,
        '# our guardrails\n[alerts]\nrules = ["nan", "stall:20m", "eval_rises:3"]\n'
        'on-alert = "exit"\n\n[other]\nkey = 1\n',
    )
    settings = resolve_alerts(None, None, tmp_path)
    assert settings.rules == ("nan", "stall:20m", "eval_rises:3")
    assert settings.action == "exit" and settings.source == str(path)


def test_flags_override_the_project_file(tmp_path: Path):
    write(tmp_path, '[alerts]\nrules = ["nan"]\non-alert = "cancel"\n')
    settings = resolve_alerts(["loss>3"], None, tmp_path)
    assert settings.rules == ("loss>3",) and settings.action == "cancel"
    settings = resolve_alerts(None, "notify", tmp_path)
    assert settings.rules == ("nan",) and settings.action == "notify"


def test_an_empty_rules_list_turns_the_defaults_off(tmp_path: Path):
    write(tmp_path, "[alerts]\nrules = []\n")
    assert resolve_alerts(None, None, tmp_path).rules == ()
    write(tmp_path, "[other]\n")
    assert resolve_alerts(None, None, tmp_path).rules == DEFAULT_RULES


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[alerts\n", "is not valid TOML: "),
        ('[alerts]\nrules = "nan"\n', "[alerts] rules must be a list of strings"),
        ("[alerts]\nrules = [1]\n", "[alerts] rules must be a list of strings"),
        ('[alerts]\nrules = ["nan", "los>2"]\n', "Not an alert rule: 'los>2'"),
        ('[alerts]\non_alert = "exit"\n', "unknown key 'on_alert' in [alerts] (known: rules"),
        ('[alerts]\non-alert = "kill"\n', "on-alert is one of notify, exit, cancel, not 'kill'"),
        ('alerts = "nan"\n', "`alerts` must be a table"),
    ],
)
def test_a_bad_project_file_is_a_config_error_naming_the_file(tmp_path: Path, text: str, says: str):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        resolve_alerts(None, None, tmp_path)
    assert caught.value.exit_code == ExitCode.CONFIG == 4
    assert caught.value.message.startswith(str(path))
    assert says in caught.value.message


def test_unreadable_project_files(tmp_path: Path):
    (tmp_path / ".arkor-studio.toml").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        load_project_alerts(tmp_path)
    (tmp_path / ".arkor-studio.toml").rmdir()
    (tmp_path / ".arkor-studio.toml").write_bytes(b"[alerts]\nrules = ['\xff']\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_project_alerts(tmp_path)


def test_flag_usage_errors_come_before_the_file_is_read(tmp_path: Path):
    write(tmp_path, "not toml at all [")
    with pytest.raises(UsageError):
        resolve_alerts(["bogus"], None, tmp_path)
    with pytest.raises(UsageError):
        resolve_alerts(None, "kill", tmp_path)


def test_latest_is_the_last_alert_and_whether_it_still_holds():
    watch = AlertWatch.from_texts(["nan", "loss>2"])
    assert watch.latest == (None, False)
    watch.observe(log(1, 3.0))
    alert, holding = watch.latest
    assert alert is not None and alert.rule == "loss>2" and holding
    watch.observe(log(2, 1.0))
    assert watch.latest == (alert, False)
