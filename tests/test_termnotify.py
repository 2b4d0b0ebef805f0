"""Terminal notifications: the escape sequences byte for byte, with and
without tmux, and the protocol each terminal gets."""

from __future__ import annotations

import base64
import io

import pytest

from arkor_cli_studio.termnotify import (
    notification_bytes,
    notify_value_alias,
    osc_sequence,
    protocol_for,
    resolve_mode,
    tmux_wrap,
    write_notification,
)

TITLE = "✓ smoltalk"
BODY = "Training completed."


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_osc_9_bytes() -> None:
    assert osc_sequence("9", TITLE, BODY) == "\x1b]9;✓ smoltalk: Training completed.\x07"


def test_osc_777_bytes() -> None:
    assert osc_sequence("777", TITLE, BODY) == "\x1b]777;notify;✓ smoltalk;Training completed.\x07"


def test_osc_99_bytes() -> None:
    assert osc_sequence("99", TITLE, BODY) == (
        f"\x1b]99;i=arkor-studio:d=0:e=1;{b64(TITLE)}\x1b\\"
        f"\x1b]99;i=arkor-studio:d=1:p=body:e=1;{b64(BODY)}\x1b\\"
    )


def test_tmux_passthrough_doubles_every_escape() -> None:
    assert tmux_wrap("\x1b]9;hi\x07") == "\x1bPtmux;\x1b\x1b]9;hi\x07\x1b\\"
    assert tmux_wrap(osc_sequence("99", "t", "b")) == (
        "\x1bPtmux;"
        f"\x1b\x1b]99;i=arkor-studio:d=0:e=1;{b64('t')}\x1b\x1b\\"
        f"\x1b\x1b]99;i=arkor-studio:d=1:p=body:e=1;{b64('b')}\x1b\x1b\\"
        "\x1b\\"
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TERM_PROGRAM": "iTerm.app"}, "\x1b]9;✓ smoltalk: Training completed.\x07\x07"),
        ({"TERM_PROGRAM": "WezTerm"}, "\x1b]9;✓ smoltalk: Training completed.\x07\x07"),
        ({"TERM": "foot"}, "\x1b]777;notify;✓ smoltalk;Training completed.\x07\x07"),
        # Inside tmux: the sequence wrapped, the BEL for tmux itself.
        (
            {"TERM_PROGRAM": "tmux", "TMUX": "/tmp/tmux-1000/default,1,0", "LC_TERMINAL": "iTerm2"},
            "\x1bPtmux;\x1b\x1b]9;✓ smoltalk: Training completed.\x07\x1b\\\x07",
        ),
        (
            {"TERM": "tmux-256color", "TMUX": "/tmp/t,1,0", "TERM_PROGRAM": "tmux"},
            "\x07",  # the outer terminal is unknown: the BEL alone
        ),
        ({"TERM": "xterm-256color"}, "\x07"),
        ({}, "\x07"),
    ],
)
def test_what_each_terminal_gets(env: dict[str, str], expected: str) -> None:
    assert notification_bytes(TITLE, BODY, env) == expected


@pytest.mark.parametrize(
    ("env", "protocol"),
    [
        ({"TERM_PROGRAM": "iTerm.app"}, "9"),
        ({"TERM_PROGRAM": "WezTerm"}, "9"),
        ({"TERM_PROGRAM": "ghostty"}, "9"),
        ({"TERM": "xterm-ghostty"}, "9"),
        ({"WT_SESSION": "3f1c"}, "9"),
        ({"LC_TERMINAL": "iTerm2", "TERM_PROGRAM": "tmux"}, "9"),
        ({"TERM": "xterm-kitty"}, "99"),
        ({"KITTY_WINDOW_ID": "1", "TERM_PROGRAM": "tmux"}, "99"),
        ({"TERM": "foot-extra"}, "777"),
        ({"TERM": "rxvt-unicode-256color"}, "777"),
        ({"KONSOLE_VERSION": "230401"}, "777"),
        ({"TERM": "xterm-256color"}, None),
        ({"TERM": "linux"}, None),
    ],
)
def test_protocol_from_the_environment(env: dict[str, str], protocol: str | None) -> None:
    assert protocol_for(env) == protocol


def test_server_text_cannot_end_the_sequence_early() -> None:
    name = "evil\x07\x1b]0;pwned\x07\x1b\\; more"
    seq = osc_sequence("777", name, "body; with; semicolons")
    assert seq.count("\x07") == 1 and seq.endswith("\x07")
    assert "\x1b" not in seq[1:]
    assert seq == "\x1b]777;notify;evil, more;body, with, semicolons\x07"
    nine = osc_sequence("9", name, "x")
    assert nine.count("\x07") == 1 and "\x1b" not in nine[1:]


def test_long_text_is_cut() -> None:
    seq = osc_sequence("9", "t" * 500, "")
    assert len(seq) < 210


def test_write_goes_to_the_stream() -> None:
    out = io.StringIO()
    assert write_notification(TITLE, BODY, {"TERM_PROGRAM": "WezTerm"}, out)
    assert out.getvalue() == "\x1b]9;✓ smoltalk: Training completed.\x07\x07"


@pytest.mark.parametrize(
    ("choice", "env", "terminal", "mode"),
    [
        (None, {}, True, "desktop"),
        (None, {"SSH_CONNECTION": "10.0.0.2 5000 10.0.0.1 22"}, True, "terminal"),
        (None, {"SSH_TTY": "/dev/pts/3"}, True, "terminal"),
        (None, {}, False, "off"),
        ("auto", {}, False, "desktop"),
        ("auto", {"SSH_TTY": "/dev/pts/3"}, False, "terminal"),
        ("desktop", {"SSH_TTY": "/dev/pts/3"}, True, "desktop"),
        ("terminal", {}, True, "terminal"),
        ("off", {}, True, "off"),
    ],
)
def test_modes(choice: str | None, env: dict[str, str], terminal: bool, mode: str) -> None:
    assert resolve_mode(choice, env, terminal=terminal) == mode


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["watch", "job_1", "--notify"], ["watch", "job_1", "--notify=auto"]),
        (["watch", "--notify", "job_1"], ["watch", "--notify=auto", "job_1"]),
        (["watch", "job_1", "--notify", "terminal"], ["watch", "job_1", "--notify=terminal"]),
        (["watch", "job_1", "--notify=desktop"], ["watch", "job_1", "--notify=desktop"]),
        (["watch", "job_1", "--no-notify"], ["watch", "job_1", "--notify=off"]),
        (["watch", "--", "--notify"], ["watch", "--", "--notify"]),
        (["jobs"], ["jobs"]),
    ],
)
def test_notify_flag_keeps_working(args: list[str], expected: list[str]) -> None:
    assert notify_value_alias(args) == expected
