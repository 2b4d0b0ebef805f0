"""What `train` reads in `arkor start`'s output, whatever the chunking:
`Started job <id>` (the job to watch) and `Job <id> finished with
status=<s>` (the job's outcome: arkor exits 0 for a failed job too), and
that outcome as `train`'s exit status. Raw bytes in, no decoding of the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from arkor_cli_studio.textsafe import ESCAPE_PATTERN, clean_line

# --- `Started job <id>` and `Job <id> finished with status=<s>` ------------------

_ANSI = re.compile(ESCAPE_PATTERN.encode(), re.VERBOSE)  # textsafe's, in bytes
_STARTED = re.compile(rb"Started job (\S+)")
# arkor's core/runner.ts (runTrainer), after trainer.wait():
#   process.stdout.write(`Job ${result.job.id} finished with status=${result.job.status}\n`)
_FINISHED = re.compile(rb"Job (\S+) finished with status=([A-Za-z_]+)")


_LINE_ENDS: Final = (0x0A, 0x0D)  # \n, \r as the ints that indexing bytes gives


@dataclass
class _LineScanner:
    """Finds lines with `key` in a byte stream fed in raw chunks split anywhere.

    A line is matched after its ANSI colour codes are removed; lines longer
    than `max_line` are ignored, so memory stays bounded whatever arkor
    prints. Cheap on bulk output: a chunk without `key` costs one `bytes.find`.
    Subclasses say what a matching line means (`_check`) and whether to stop
    after the first one (`once`).
    """

    max_line: int = 4096
    _partial: bytes = field(default=b"", repr=False)
    _overflow: bool = False  # the current (unfinished) line is too long: skip it

    key: bytes = field(default=b"", init=False, repr=False)
    once: bool = field(default=True, init=False, repr=False)

    def _done(self) -> bool:
        return False

    def _feed(self, chunk: bytes) -> str | None:
        if self._done() or not chunk:
            return None
        if (
            not (self._partial or self._overflow)
            and chunk[-1] in _LINE_ENDS
            and self.key not in chunk
        ):
            return None  # whole lines, none with the key (a chatty trainer's usual chunk)
        last = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if last < 0:  # no line ends here: remember the piece (bounded)
            self._carry(chunk)
            return None
        # chunk[:last + 1] is the end of the carried line, then whole lines;
        # searched in place (no copies of the bulk).
        first_end = _line_end(chunk, 0, last + 1)
        found = None
        if not self._overflow and len(self._partial) + first_end <= self.max_line:
            found = self._check(self._partial + chunk[:first_end])
        if found is None or not self.once:
            found = self._scan(chunk, first_end + 1, last + 1) or found
        self._partial, self._overflow = b"", False
        self._carry(chunk[last + 1 :])
        return found

    def _carry(self, piece: bytes) -> None:
        if self._overflow:
            return
        if len(self._partial) + len(piece) > self.max_line:
            self._partial, self._overflow = b"", True
        else:
            self._partial += piece

    def _scan(self, data: bytes, start: int, stop: int) -> str | None:
        """Check each line of data[start:stop] (whole lines) that contains the key;
        the first match (`once`) or the last one."""
        found = None
        at = data.find(self.key, start, stop)
        while at >= 0:
            begin = max(data.rfind(b"\n", start, at), data.rfind(b"\r", start, at)) + 1
            end = _line_end(data, at, stop)
            hit = self._check(data[max(begin, start) : end])
            if hit is not None:
                found = hit
                if self.once:
                    return found
            at = data.find(self.key, end + 1, stop)
        return found

    def _check(self, line: bytes) -> str | None:
        raise NotImplementedError


@dataclass
class StartedJobScanner(_LineScanner):
    """Finds `Started job <id>` in arkor start's stdout.

    `feed(chunk)` returns the job id once, on the chunk that completes the
    line; afterwards it returns None and only `job_id` remembers it.
    """

    job_id: str | None = None

    def __post_init__(self) -> None:
        self.key = b"Started"

    def _done(self) -> bool:
        return self.job_id is not None

    def feed(self, chunk: bytes) -> str | None:
        found = self._feed(chunk)
        if found is not None:
            self.job_id = found
        return found

    def _check(self, line: bytes) -> str | None:
        if len(line) > self.max_line or self.key not in line:
            return None
        match = _STARTED.search(_ANSI.sub(b"", line))
        if match is None:
            return None
        job_id = match.group(1).decode("utf-8", "replace").rstrip(".,;:")
        return clean_line(job_id) or None


@dataclass
class OutcomeScanner(_LineScanner):
    """Finds `Job <id> finished with status=<status>`, the last line `arkor start`
    prints (arkor exits 0 whatever the status: this line is the only place a
    failed job shows). Keeps the last such line seen: `status` and `job_id`.
    `feed(chunk)` returns the status when the chunk completed such a line.
    """

    status: str | None = None
    job_id: str | None = None

    def __post_init__(self) -> None:
        self.key = b"finished with status="
        self.once = False

    def feed(self, chunk: bytes) -> str | None:
        return self._feed(chunk)

    def _check(self, line: bytes) -> str | None:
        if len(line) > self.max_line or self.key not in line:
            return None
        match = _FINISHED.search(_ANSI.sub(b"", line))
        if match is None:
            return None
        self.job_id = clean_line(match.group(1).decode("utf-8", "replace"))
        self.status = match.group(2).decode("ascii").lower()
        return self.status


# The job's outcome as `train`'s exit status (DESIGN.md's codes, as `watch`).
OUTCOME_CODES: dict[str, int] = {"completed": 0, "failed": 1, "cancelled": 3}


def outcome_exit_code(child_code: int, outcome: str | None) -> int:
    """`train`'s status: arkor's own non-zero status stands (arkor itself failed);
    else the job's outcome when arkor reported one; else arkor's status (0)."""
    if child_code != 0 or outcome is None:
        return child_code
    return OUTCOME_CODES.get(outcome, child_code)


def _line_end(chunk: bytes, start: int, stop: int) -> int:
    """The index of the first line break in chunk[start:stop] (-1: none)."""
    newline, carriage = chunk.find(b"\n", start, stop), chunk.find(b"\r", start, stop)
    if newline < 0:
        return carriage
    if carriage < 0:
        return newline
    return min(newline, carriage)
