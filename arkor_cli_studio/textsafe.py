"""Server text is data: strip what a terminal would obey before showing it.

Removes ANSI/VT escape sequences (CSI, OSC, DCS, ...), C0 controls other
than newline and tab, DEL, C1 controls, and bidirectional overrides (which
can make text read differently from what it is). Rich markup needs no
escaping as long as callers build `rich.text.Text` from the result.
"""

from __future__ import annotations

import re

_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]                       # CSI ... final byte
  | \x1b[\]PX^_].*?(?:\x07|\x1b\\|\x9c|$)          # OSC, DCS, SOS, PM, APC ... terminator
  | \x1b[ -/]*[0-~]                               # other ESC sequences (nF, Fp, Fe, Fs)
  | \x9b[0-?]*[ -/]*[@-~]                         # 8-bit CSI
  | [\x9d\x90\x98\x9e\x9f].*?(?:\x07|\x1b\\|\x9c|$)  # 8-bit OSC/DCS/SOS/PM/APC
    """,
    re.VERBOSE | re.DOTALL,
)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROLS_AND_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_JSON_OBEYED = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def clean(text: str) -> str:
    """Text safe for a terminal; newlines and tabs kept."""
    if text.isprintable():
        return text  # the common case, fast
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def clean_line(text: str) -> str:
    """Text safe for one cell or one line: line breaks and tabs become spaces."""
    if text.isprintable():
        return text
    text = _ESCAPES.sub("", text).replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    return _CONTROLS_AND_BREAKS.sub("", text.replace("\r", " "))


def json_text(text: str) -> str:
    """Valid JSON text made safe for a terminal without changing its value.

    Strict JSON has no raw C0 controls, but it may carry DEL, C1 controls
    (`\\x9b` is CSI), bidirectional overrides and line separators raw inside
    strings (nowhere else): they become `\\uXXXX` escapes, which decode to
    the same string.
    """
    if text.isascii() and "\x7f" not in text:
        return text  # the common case, fast
    return _JSON_OBEYED.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
