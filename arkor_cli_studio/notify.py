"""Desktop notifications and the terminal title: text travels as argv only.

Never a shell, never job text inside AppleScript source: a job named
`x" & do shell script "..." & "` stays a name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import IO, Final

from arkor_cli_studio.textsafe import clean_line

MAX_TEXT = 200
#: What a notifier is given of our environment: where to find programs and
#: the desktop session, the locale. Nothing else (no ARKOR_STUDIO_TOKEN, no
#: credentials of any kind).
NOTIFIER_ENV: Final = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TMPDIR",
    "DISPLAY",
    "XAUTHORITY",
    "WAYLAND_DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR",
)
# XTWINOPS: push the window title on the terminal's stack / pop it back.
_PUSH_TITLE: Final = "\x1b[22;0t"
_POP_TITLE: Final = "\x1b[23;0t"
_title_pushed = False


def notifier_env() -> dict[str, str]:
    """The minimal environment a notifier runs with (`NOTIFIER_ENV`)."""
    return {key: os.environ[key] for key in NOTIFIER_ENV if key in os.environ}


def _short(text: str) -> str:
    text = clean_line(text).strip()
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _run(argv: list[str]) -> bool:
    try:
        result = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5,
            check=False,
            env=notifier_env(),
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def desktop_notify(title: str, body: str, *, critical: bool = False) -> bool:
    """Show a desktop notification if the platform has a way; never raises.

    Returns whether one was sent.
    """
    title, body = _short(title) or "arkor-studio", _short(body)
    notify_send = shutil.which("notify-send")
    if notify_send:
        urgency = "critical" if critical else "normal"
        if _run([notify_send, "-a", "arkor-studio", "-u", urgency, "--", title, body]):
            return True
        # Old libnotify has no -a.
        return _run([notify_send, "-u", urgency, "--", title, body])
    osascript = shutil.which("osascript")
    if osascript:
        return _run(
            [
                osascript,
                "-e",
                "on run argv",
                "-e",
                "display notification (item 2 of argv) with title (item 1 of argv)",
                "-e",
                "end run",
                title,
                body,
            ]
        )
    return False


def set_terminal_title(title: str, stream: IO[str] | None = None) -> None:
    """Studio's tab-title indicator: OSC 0 with sanitised text, terminals only.
    The title it replaces is pushed on the terminal's title stack first, for
    `restore_terminal_title()`."""
    global _title_pushed
    stream = stream or sys.stdout
    try:
        if not stream.isatty():
            return
        stream.write(("" if _title_pushed else _PUSH_TITLE) + f"\x1b]0;{_short(title)}\x07")
        stream.flush()
        _title_pushed = True
    except (OSError, ValueError):
        pass


def restore_terminal_title(stream: IO[str] | None = None) -> None:
    """Clear the mark: the title from before `set_terminal_title()` back
    (popped from the terminal's stack); nothing when none was set."""
    global _title_pushed
    if not _title_pushed:
        return
    _title_pushed = False
    stream = stream or sys.stdout
    try:
        stream.write(_POP_TITLE)
        stream.flush()
    except (OSError, ValueError):
        pass
