"""`wait`'s rules as pure values: durations, outcomes and the exit status
of a batch of jobs (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from arkor_cli_studio.errors import ExitCode

COMPLETED: Final = "completed"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
#: The stream could not be followed to the end (given up, gone, refused).
LOST: Final = "lost"
#: `--timeout` came first: the job was still going.
TIMED_OUT: Final = "timed out"
#: Not followed to its end because `--fail-fast` stopped the wait.
STOPPED: Final = "not waited for"

#: Worst first: the batch's exit status is its worst job's.
_RANK: Final = (FAILED, CANCELLED, LOST, TIMED_OUT, STOPPED, COMPLETED)
_CODES: Final = {
    COMPLETED: ExitCode.OK,
    FAILED: ExitCode.FAILURE,
    CANCELLED: ExitCode.CANCELLED,
    LOST: ExitCode.UNREACHABLE,
    TIMED_OUT: ExitCode.STILL_RUNNING,
    STOPPED: ExitCode.FAILURE,  # only with --fail-fast, where a failure exists anyway
}

_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str) -> float:
    """Seconds from `90`, `90s`, `15m`, `1h30m`, `2.5h`, `1d` (ValueError when not one)."""
    value = text.strip().lower()
    if not value:
        raise ValueError("empty duration")
    try:
        seconds = float(value)
    except ValueError:
        pos = 0
        seconds = 0.0
        for match in _PART.finditer(value):
            if match.start() != pos:
                raise ValueError(f"not a duration: {text!r}") from None
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos != len(value):
            raise ValueError(f"not a duration: {text!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"not a positive duration: {text!r}")
    return seconds


def outcome_of(status: str) -> str:
    """A job's final status as an outcome (an unknown status counts as failed)."""
    return status if status in (COMPLETED, FAILED, CANCELLED) else FAILED


def worst(outcomes: Iterable[str]) -> str:
    """The worst outcome of the batch (completed when there is none)."""
    present = set(outcomes)
    return next((o for o in _RANK if o in present), COMPLETED)


def exit_code(outcomes: Iterable[str]) -> ExitCode:
    """0 when every job completed; otherwise the worst outcome's: failed 1 over
    cancelled 3 over lost 5 over timed out 7."""
    return _CODES[worst(outcomes)]
