"""Studio's Run-training protocol as plain values: no I/O, no HTTP.

`POST /api/train` answers with the raw stdout+stderr bytes of `arkor start`
and ends with a trailer that Studio appends when the process is over:

    b"\\n---\\nexit=<code>\\n"              (`exit=null` when killed by a signal)
    b"\\n---\\nfailed to start: <message>\\n" (the contract's spelling)
    b"\\n---\\nerror=<message>\\n"           (newer Studio servers' spelling)

The leading newline is Studio's separator, not output. `TrailerSplitter`
passes every output byte through as soon as it can be sure it is not the
start of the trailer, whatever the chunking, so the trailer is never
printed, not even in part. `GET /api/manifest`'s three answers become a
`Manifest`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

MARK: Final = b"\n---\n"
MAX_STATUS_LINE: Final = 64 * 1024  # a longer "status line" is output, not a trailer
_EXIT: Final = b"exit="
_START_ERRORS: Final = (b"failed to start: ", b"failed to start:", b"error=")
_STATUS_PREFIXES: Final = (_EXIT, *_START_ERRORS)
_EXIT_CHARS: Final = frozenset(b"0123456789-null")
_TRAILER: Final = re.compile(rb"\A\n---\n([^\n]*)\n?\Z")


@dataclass(frozen=True)
class TrainOutcome:
    """What the trailer said: an exit status, or why `arkor start` did not start."""

    exit_code: int | None  # None: killed by a signal (`exit=null`) or not started
    start_error: str | None = None


def parse_trailer(data: bytes) -> TrainOutcome | None:
    """The outcome if `data` is exactly a trailer, else None."""
    match = _TRAILER.match(data)
    if match is None:
        return None
    line = match.group(1)
    if line.startswith(_EXIT):
        value = line[len(_EXIT) :].strip()
        if value == b"null":
            return TrainOutcome(exit_code=None)
        if re.fullmatch(rb"-?[0-9]{1,10}", value):
            return TrainOutcome(exit_code=int(value))
        return None
    for prefix in _START_ERRORS:
        if line.startswith(prefix):
            message = line[len(prefix) :].decode("utf-8", "replace").strip()
            return TrainOutcome(exit_code=None, start_error=message or "unknown error")
    return None


def could_be_trailer(tail: bytes) -> bool:
    """Could these last bytes of the stream (so far) be the trailer, or its start?"""
    if len(tail) <= len(MARK):
        return MARK.startswith(tail)
    if not tail.startswith(MARK):
        return False
    line = tail[len(MARK) :]
    if line.endswith(b"\n"):
        line = line[:-1]
    if b"\n" in line or len(line) > MAX_STATUS_LINE:
        return False
    if line.startswith(_EXIT):
        return set(line[len(_EXIT) :]) <= _EXIT_CHARS
    return any(line.startswith(p) or p.startswith(line) for p in _STATUS_PREFIXES)


class TrailerSplitter:
    """Feed the answer's byte chunks; get back the output bytes, never the trailer.

    Only a suffix that could still turn out to be the trailer is held back
    (at most the separator and one status line); everything before it is
    returned at once. `finish()` at the end of the answer returns whatever
    was held back that was output after all, and the outcome (None when
    the answer ended without a trailer).
    """

    def __init__(self) -> None:
        self._held = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._held + chunk if self._held else chunk
        start = self._hold_from(data)
        self._held = data[start:]
        return data[:start]

    @property
    def held(self) -> bytes:
        """What is held back for now (it may be the start of the trailer)."""
        return self._held

    def finish(self) -> tuple[bytes, TrainOutcome | None]:
        held, self._held = self._held, b""
        outcome = parse_trailer(held)
        return (b"", outcome) if outcome is not None else (held, None)

    def flush(self) -> bytes:
        """Give up (the connection dropped): what was held back is output."""
        held, self._held = self._held, b""
        return held

    @staticmethod
    def _hold_from(data: bytes) -> int:
        # The trailer holds at most three newlines, so it can only start at
        # one of the last three; hold back from the earliest that fits.
        starts: list[int] = []
        end = len(data)
        while len(starts) < 3:
            end = data.rfind(b"\n", 0, end)
            if end < 0:
                break
            starts.append(end)
        for start in reversed(starts):
            if could_be_trailer(data[start:]):
                return start
        return len(data)


# --------------------------------------------------------------------------
# The manifest

ManifestKind = Literal["trainer", "no-trainer", "unreadable"]


@dataclass(frozen=True)
class Manifest:
    """`GET /api/manifest`: a trainer, no trainer, or a build/import error."""

    kind: ManifestKind
    trainer_name: str | None = None
    error: str | None = None


def parse_manifest(body: Any) -> Manifest:
    """A 200 body: `{"trainer": {"name": ...}}` or `{"trainer": null}`."""
    if not isinstance(body, dict):
        return Manifest("unreadable", error="Studio sent a manifest that is not a JSON object")
    trainer = body.get("trainer")
    if trainer is None:
        return Manifest("no-trainer")
    if isinstance(trainer, dict):
        name = trainer.get("name")
        return Manifest("trainer", trainer_name=name if isinstance(name, str) else None)
    return Manifest("unreadable", error="Studio sent a manifest without a usable trainer")


def manifest_error(message: str) -> Manifest:
    """A 400 `{"error": ...}`: the build or the import failed."""
    return Manifest("unreadable", error=message)
