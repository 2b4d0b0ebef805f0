"""`Deprecation` / `Sunset` / `Warning` on a response: one stderr line per run.

arkor records the latest notice it sees (core/deprecation.ts, latest wins)
and its CLI prints it once at the end of the run (cli/main.ts):
`<message> (current: <version>). Cutoff: <sunset>. Run \\`<upgrade>\\`.`.
We do the same: the first notice registers an exit hook, the latest one is
printed, to stderr, once. The server's text is cleaned and capped.
"""

from __future__ import annotations

import atexit
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arkor_cli_studio.upgrade import ClientIdentity

MAX_TEXT = 300
_WARNING = re.compile(r'^\d{3}\s+-\s+"(.+)"\s*$')  # `299 - "text"`, as arkor reads it
_lock = threading.Lock()
_latest: str | None = None
_registered = False


def deprecated(value: str | None) -> bool:
    """arkor: `Deprecation: true`; RFC 9745 also allows a date (`@1688169599`)."""
    text = (value or "").strip().lower()
    return text == "true" or text.startswith("@")


def notice_line(headers: Mapping[str, str], identity: ClientIdentity) -> str | None:
    """The line arkor would print for these response headers (None: no notice)."""
    from arkor_cli_studio.textsafe import clean_line
    from arkor_cli_studio.upgrade import upgrade_command

    if not deprecated(headers.get("deprecation")):
        return None
    warning = headers.get("warning")
    match = _WARNING.match(warning or "")
    message = match.group(1) if match else warning
    message = clean_line(message or "")[:MAX_TEXT] or (
        f"Arkor SDK {identity.sdk_version} is deprecated"
    )
    sunset = clean_line(headers.get("sunset") or "")[:100]
    cutoff = f" Cutoff: {sunset}." if sunset else ""
    command = upgrade_command(identity.package_manager)
    return (
        f"warning: {message} (current: {identity.sdk_version}).{cutoff} Run `{command}`, "
        "or upgrade arkor-studio."
    )


def record(headers: Mapping[str, str], identity: ClientIdentity) -> None:
    global _latest, _registered
    line = notice_line(headers, identity)
    if line is None:
        return
    with _lock:
        _latest = line
        if not _registered:
            _registered = True
            atexit.register(flush)


def flush() -> None:
    """Print the latest notice (once); called at exit."""
    global _latest
    with _lock:
        line, _latest = _latest, None
    if line is None:
        return
    try:
        from arkor_cli_studio import output

        output.say(line)
    except (OSError, ValueError):
        pass
