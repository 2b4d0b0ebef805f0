"""Desktop notifications and the terminal title: text travels as argv only.

Never a shell, never job text inside AppleScript source: a job named
`x" & do shell script "..." & "` stays a name.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import IO

from arkor_cli_studio.textsafe import clean_line

MAX_TEXT = 200


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
    """Studio's tab-title indicator: OSC 0 with sanitised text, terminals only."""
    stream = stream or sys.stdout
    try:
        if not stream.isatty():
            return
        stream.write(f"\x1b]0;{_short(title)}\x07")
        stream.flush()
    except (OSError, ValueError):
        pass
