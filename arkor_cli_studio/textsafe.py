"""Server text is data: strip what a terminal would obey before showing it.

Removes ANSI/VT escape sequences (CSI, OSC, DCS, ...), C0 controls other
than newline and tab, DEL, C1 controls, and bidirectional overrides (which
can make text read differently from what it is). Invisible format
characters (zero-width spaces and joiners, U+200B-U+200F, U+2060-U+2064,
the BOM U+FEFF, the tag characters U+E0000-U+E007F) are shown escaped
(`\u200b`): dropped, `run\u200b` would read exactly as another job's `run`.
Rich markup needs no
escaping as long as callers build `rich.text.Text` from the result.
"""

from __future__ import annotations

import re
from typing import Final

#: One 7-bit escape sequence, as the pattern's text (the one definition:
#: `render.passthrough` keeps colours and drops the rest, `runner` matches it
#: in bytes). Verbose: whitespace outside [] is not part of it.
ESCAPE_PATTERN: Final = r"""
    \x1b\[[0-?]*[ -/]*[@-~]                       # CSI ... final byte
  | \x1b[\]PX^_].*?(?:\x07|\x1b\\|\x9c|$)          # OSC, DCS, SOS, PM, APC ... terminator
  | \x1b[ -/]*[0-~]                               # other ESC sequences (nF, Fp, Fe, Fs)
"""
#: ... and the 8-bit (C1) forms, which a terminal may obey as well.
_ESCAPES = re.compile(
    ESCAPE_PATTERN
    + r"""
  | \x9b[0-?]*[ -/]*[@-~]                         # 8-bit CSI
  | [\x9d\x90\x98\x9e\x9f].*?(?:\x07|\x1b\\|\x9c|$)  # 8-bit OSC/DCS/SOS/PM/APC
    """,
    re.VERBOSE | re.DOTALL,
)
#: A 7-bit escape sequence in one line of text.
ESCAPE: Final = re.compile(ESCAPE_PATTERN, re.VERBOSE)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROLS_AND_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_INVISIBLE = "\u200b-\u200f\u2060-\u2064\ufeff\U000e0000-\U000e007f"
_INVISIBLES = re.compile(f"[{_INVISIBLE}]")
_JSON_OBEYED = re.compile(f"[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029{_INVISIBLE}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # a surrogate pair, as JSON spells a character past U+FFFF
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def clean(text: str) -> str:
    """Text safe for a terminal; newlines and tabs kept."""
    if text.isprintable():
        return text  # the common case, fast
    return _INVISIBLES.sub(_escape, _CONTROLS.sub("", _ESCAPES.sub("", text)))


def clean_line(text: str) -> str:
    """Text safe for one cell or one line: line breaks and tabs become spaces."""
    if text.isprintable():
        return text
    text = _ESCAPES.sub("", text).replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    return _INVISIBLES.sub(_escape, _CONTROLS_AND_BREAKS.sub("", text.replace("\r", " ")))


def json_text(text: str) -> str:
    """Valid JSON text made safe for a terminal without changing its value.

    Strict JSON has no raw C0 controls, but it may carry DEL, C1 controls
    (`\\x9b` is CSI), bidirectional overrides and line separators raw inside
    strings (nowhere else): they become `\\uXXXX` escapes, which decode to
    the same string.
    """
    if text.isascii() and "\x7f" not in text:
        return text  # the common case, fast
    return _JSON_OBEYED.sub(_json_escape, text)
