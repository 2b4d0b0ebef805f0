"""Notifications through the terminal: they reach the person, even over SSH.

`notify-send` and `osascript` notify on the machine the CLI runs on; over
SSH that is the remote host. Terminals turn escape sequences into
notifications on the machine the person sits at:

- OSC 9, `ESC ] 9 ; text BEL`: iTerm2, WezTerm, Windows Terminal, Ghostty;
- OSC 777, `ESC ] 777 ; notify ; title ; body BEL`: foot, Konsole, urxvt
  (with its notify extension);
- OSC 99, `ESC ] 99 ; i=…:d=0:e=1 ; base64(title) ESC \\` then the body
  with `p=body`: kitty.
(chosen from TERM_PROGRAM, TERM and the variables terminals set.)

A BEL follows, whatever the protocol (an unknown terminal gets the BEL
alone: most flag the tab or window). Inside tmux (`TMUX` set) the sequence
is wrapped in tmux's passthrough, `ESC P tmux; <sequence with every ESC
doubled> ESC \\`, so that it reaches the outer terminal (tmux 3.3+ needs
`set -g allow-passthrough on`); the BEL goes to tmux itself, which flags
the window and passes it on.

Pure but for `write_notification()`; the text is cleaned to one line and
the separators a protocol uses are taken out of it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import IO, Final

from arkor_cli_studio.textsafe import clean_line

ESC: Final = "\x1b"
BEL: Final = "\x07"
ST: Final = ESC + "\\"
MAX_TEXT: Final = 200
KITTY_ID: Final = "arkor-studio"
NOTIFY_CHOICES: Final = ("auto", "desktop", "terminal", "off")

# TERM_PROGRAM values (as the terminals set them) -> protocol.
_PROGRAMS: Final = {
    "iTerm.app": "9",
    "WezTerm": "9",
    "ghostty": "9",
    "kitty": "99",
}


def over_ssh(env: Mapping[str, str]) -> bool:
    return bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY") or env.get("SSH_CLIENT"))


def protocol_for(env: Mapping[str, str]) -> str | None:
    """`"9"`, `"777"`, `"99"`, or None (BEL only), from the terminal's own variables.

    Inside tmux TERM_PROGRAM and TERM name tmux, so the outer terminal is
    read from what it leaves in the environment (LC_TERMINAL, which iTerm2
    also sends over SSH; KITTY_WINDOW_ID; WT_SESSION; ...).
    """
    program = env.get("TERM_PROGRAM", "")
    term = env.get("TERM", "")
    if program in _PROGRAMS:
        return _PROGRAMS[program]
    if env.get("KITTY_WINDOW_ID") or term == "xterm-kitty":
        return "99"
    if env.get("LC_TERMINAL") == "iTerm2" or env.get("WEZTERM_PANE"):
        return "9"
    if env.get("WT_SESSION") or term == "xterm-ghostty" or env.get("GHOSTTY_RESOURCES_DIR"):
        return "9"
    if term.startswith("foot") or term.startswith("rxvt") or env.get("KONSOLE_VERSION"):
        return "777"
    return None


def _text(text: str, drop: str = "") -> str:
    text = clean_line(text).strip()
    for char in drop:
        text = text.replace(char, ",")
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def osc_sequence(protocol: str, title: str, body: str) -> str:
    """The notification's escape sequence (no BEL after it, no tmux)."""
    if protocol == "9":
        return f"{ESC}]9;{_text(f'{title}: {body}' if body else title)}{BEL}"
    if protocol == "777":
        return f"{ESC}]777;notify;{_text(title, ';')};{_text(body, ';')}{BEL}"
    if protocol == "99":

        def b64(text: str) -> str:
            return base64.b64encode(_text(text).encode()).decode("ascii")

        head = f"{ESC}]99;i={KITTY_ID}:d=0:e=1;{b64(title)}{ST}"
        return head + f"{ESC}]99;i={KITTY_ID}:d=1:p=body:e=1;{b64(body)}{ST}"
    raise ValueError(f"unknown protocol {protocol!r}")


def tmux_wrap(sequence: str) -> str:
    """tmux's passthrough: `ESC P tmux; ... ESC \\` with every ESC inside doubled."""
    return f"{ESC}Ptmux;{sequence.replace(ESC, ESC + ESC)}{ST}"


def notification_bytes(title: str, body: str, env: Mapping[str, str]) -> str:
    """What to write to the terminal: the protocol's sequence (wrapped inside
    tmux) and a BEL."""
    protocol = protocol_for(env)
    if protocol is None:
        return BEL
    sequence = osc_sequence(protocol, title, body)
    if env.get("TMUX"):
        sequence = tmux_wrap(sequence)
    return sequence + BEL


def terminal_stream(*streams: IO[str]) -> IO[str] | None:
    """The first stream that is a terminal (stdout, then stderr)."""
    for stream in streams:
        try:
            if os.isatty(stream.fileno()):
                return stream
        except (AttributeError, OSError, ValueError):
            continue
    return None


def write_notification(title: str, body: str, env: Mapping[str, str], stream: IO[str]) -> bool:
    """Write it; never raises. Returns whether it was written."""
    try:
        stream.write(notification_bytes(title, body, env))
        stream.flush()
    except (OSError, ValueError):
        return False
    return True


def resolve_mode(choice: str | None, env: Mapping[str, str], *, terminal: bool) -> str:
    """`--notify` and `--no-notify` made one of desktop|terminal|off.

    None (no option): auto when stdout is a terminal, else off. auto:
    terminal over SSH, else desktop (the caller falls back to the terminal
    when no desktop notifier exists).
    """
    if choice is None:
        choice = "auto" if terminal else "off"
    if choice == "auto":
        return "terminal" if over_ssh(env) else "desktop"
    return choice


def notify_value_alias(args: list[str]) -> list[str]:
    """`--notify` keeps working as the flag it was: alone (not followed by a
    mode) it means `--notify=auto`, on even when stdout is not a terminal;
    `--notify MODE` and `--notify=MODE` choose a mode; `--no-notify` is
    `--notify=off`. Typer has no option with an optional value, so this is
    done on the command line before Typer reads it (as `--studio URL`)."""
    out: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            out.extend(args[index:])
            break
        if arg == "--no-notify":
            out.append("--notify=off")
        elif arg == "--notify":
            following = args[index + 1] if index + 1 < len(args) else None
            if following in NOTIFY_CHOICES:
                out.append(f"--notify={following}")
                index += 1
            else:
                out.append("--notify=auto")
        else:
            out.append(arg)
        index += 1
    return out
