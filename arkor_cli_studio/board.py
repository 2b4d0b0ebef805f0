"""The jobs board's state: selection, filter, sort, prompts (pure: keys in,
actions out; no terminal, no HTTP).

`jobs --follow` on a terminal draws this state (`render.board`) and feeds it
the keys typed (`commands._board`). Every key is one `Board.key()` call,
which changes the state and returns what the command must do (open a job's
live view, cancel a job, quit), so the whole keyboard is tested with plain
values.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from arkor_cli_studio.keys import BACKSPACE, DOWN, END, ENTER, ESC, HOME, PAGE_DOWN, PAGE_UP, UP
from arkor_cli_studio.model import Job, display_status, job_duration

SORTS: Final = ("created", "status", "name", "duration")
#: The order of `s`-sorted statuses: what needs attention first.
STATUS_ORDER: Final = {
    "running": 0,
    "Warming up GPU": 1,
    "queued": 2,
    "failed": 3,
    "cancelled": 4,
    "completed": 5,
}
SPARK_POINTS: Final = 40

Action = Literal["open", "cancel", "quit"]


@dataclass
class Live:
    """What a job's event stream told the board: progress and recent loss."""

    step: float | None = None
    total: float | None = None
    losses: deque[float] = field(default_factory=lambda: deque(maxlen=SPARK_POINTS))


@dataclass
class Board:
    jobs: list[Job] = field(default_factory=list)
    selected: str | None = None  # the selected job's id (stable across polls)
    filter: str = ""
    editing_filter: bool = False
    sort: str = SORTS[0]
    help: bool = False
    confirm: str | None = None  # the id awaiting the cancel confirmation
    message: str | None = None
    top: int = 0  # the first row shown
    live: dict[str, Live] = field(default_factory=dict)

    # ---- what is shown --------------------------------------------------

    def rows(self, now: datetime) -> list[Job]:
        """The jobs shown: filtered by name or id, sorted."""
        needle = self.filter.casefold()
        shown = [
            j
            for j in self.jobs
            if not needle or needle in j.name.casefold() or needle in j.id.casefold()
        ]
        if self.sort == "status":
            shown.sort(key=lambda j: STATUS_ORDER.get(display_status(j, now), 9))
        elif self.sort == "name":
            shown.sort(key=lambda j: (j.name.casefold() or "\uffff", j.id))
        elif self.sort == "duration":
            shown.sort(key=lambda j: -run_seconds(j, now))  # N/A (-1) last
        return shown  # "created": the server's order (newest first), as Studio shows it

    def counts(self, now: datetime) -> list[tuple[str, int]]:
        """(status, number of jobs) for every status present, attention first."""
        tally: dict[str, int] = {}
        for job in self.jobs:
            status = display_status(job, now)
            tally[status] = tally.get(status, 0) + 1
        return sorted(tally.items(), key=lambda kv: (STATUS_ORDER.get(kv[0], 9), kv[0]))

    def window(
        self, now: datetime, height: int, rows: list[Job] | None = None
    ) -> tuple[list[Job], int]:
        """The rows that fit in `height` lines, scrolled so that the
        selection is visible; and the index of the first one. `rows`:
        `self.rows(now)` when the caller has them (filter and sort once a frame)."""
        rows = self.rows(now) if rows is None else rows
        index = self.index(rows)
        height = max(1, height)
        if index is not None:
            if index < self.top:
                self.top = index
            elif index >= self.top + height:
                self.top = index - height + 1
        self.top = max(0, min(self.top, max(0, len(rows) - height)))
        return rows[self.top : self.top + height], self.top

    def index(self, rows: Sequence[Job]) -> int | None:
        if not rows:
            return None
        for i, job in enumerate(rows):
            if job.id == self.selected:
                return i
        return 0

    def selected_job(self, now: datetime) -> Job | None:
        rows = self.rows(now)
        index = self.index(rows)
        return None if index is None else rows[index]

    # ---- what changes it -------------------------------------------------

    def update(self, jobs: Iterable[Job]) -> None:
        """A new poll: the selection stays on its job while it is listed."""
        self.jobs = list(jobs)
        ids = {j.id for j in self.jobs}
        if self.selected not in ids:
            self.selected = None
        if self.confirm is not None and self.confirm not in ids:
            self.confirm = None

    def key(self, key: str, now: datetime, page: int = 10) -> Action | None:
        """One key; returns what the command must do, if anything."""
        self.message = None
        if self.confirm is not None:
            job_id, self.confirm = self.confirm, None
            if key in ("y", "Y"):
                self.selected = job_id
                return "cancel"
            self.message = "Not cancelled."
            return None
        if self.editing_filter:
            return self._filter_key(key)
        if self.help:
            self.help = False
            if key in ("?", ESC, "q"):
                return None
        rows = self.rows(now)
        index = self.index(rows)
        moved = _moved(key, index, len(rows), page)
        if moved is not None:
            if index is not None:
                self.selected = rows[moved].id
            return None
        if key == ENTER:
            if index is None:
                return None
            self.selected = rows[index].id
            return "open"
        if key == "c":
            if index is None:
                return None
            job = rows[index]
            if job.is_terminal:
                self.message = f"{job.id} is {job.status}: nothing to cancel."
                return None
            self.selected = job.id
            self.confirm = job.id
            return None
        if key == "/":
            self.editing_filter = True
            return None
        if key == "s":
            self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
            self.message = f"Sorted by {self.sort}."
            return None
        if key == "?":
            self.help = True
            return None
        if key in ("q", ESC):
            if key == ESC and self.filter:
                self.filter = ""  # Esc first clears a filter, as a search box does
                return None
            return "quit"
        return None

    def _filter_key(self, key: str) -> Action | None:
        if key == ENTER:
            self.editing_filter = False
        elif key == ESC:
            self.editing_filter = False
            self.filter = ""
        elif key == BACKSPACE:
            self.filter = self.filter[:-1]
        elif len(key) == 1 and key.isprintable():
            self.filter += key
        return None

    # ---- the streams' side ------------------------------------------------

    def live_for(self, job_id: str) -> Live:
        live = self.live.get(job_id)
        if live is None:
            live = self.live[job_id] = Live()
        return live


def _moved(key: str, index: int | None, count: int, page: int) -> int | None:
    """The row a movement key selects (None: not a movement key); with no
    rows (`index` None), the key is still taken and moves nothing."""
    moves: dict[str, Callable[[int], int]] = {
        UP: lambda i: i - 1,
        "k": lambda i: i - 1,
        DOWN: lambda i: i + 1,
        "j": lambda i: i + 1,
        PAGE_UP: lambda i: i - page,
        PAGE_DOWN: lambda i: i + page,
        HOME: lambda i: 0,
        "g": lambda i: 0,
        END: lambda i: count - 1,
        "G": lambda i: count - 1,
    }
    move = moves.get(key)
    if move is None:
        return None
    return max(0, min(count - 1, move(index if index is not None else 0)))


def run_seconds(job: Job, now: datetime) -> float:
    """The Duration column's seconds (`model.job_duration`, Studio's rule: an
    ended job without `completedAt` is N/A, as is one that has not run); -1
    for N/A, so that a duration sort puts those last."""
    duration = job_duration(job, now)
    return -1.0 if duration is None else duration.total_seconds()
