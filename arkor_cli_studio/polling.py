"""Polling the jobs list: the one loop behind every `jobs --follow` mode.

`polls()` fetches the list, filters it, yields the outcome (the jobs, or
the error of a failed poll: a failed poll never ends the loop), then waits.
What is done with each outcome is the consumer's: a JSON line, the lines of
what changed, the redrawn table, the keyboard board (`commands/jobs.py`,
`commands/_board.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from arkor_cli_studio.errors import ArkorStudioError

if TYPE_CHECKING:
    from arkor_cli_studio.model import Job


@dataclass(frozen=True, slots=True)
class Poll:
    """One poll's outcome.

    jobs: the jobs the filter kept, in the server's order; None when the poll
        failed (then `error` says why, and the last good list still stands).
    total: how many jobs the server listed before the filter (so an empty
        `jobs` with a `total` reads "No matches.", not "No jobs yet.").
    at: `time.monotonic()` when the answer (or the failure) came.
    """

    jobs: list[Job] | None
    total: int
    error: str | None
    at: float


def polls(
    fetch: Callable[[], list[Job]],
    select: Callable[[list[Job]], list[Job]],
    interval: float,
    *,
    wait: Callable[[float], bool | None],
    tolerate: type[Exception] = ArkorStudioError,
) -> Iterator[Poll]:
    """`fetch()` then `select()` the jobs, yield the `Poll`, then `wait(interval)`;
    for ever, or until `wait` returns False.

    An error of type `tolerate` becomes a `Poll` with its message (an
    `ArkorStudioError`'s own message; another exception's type and text),
    and the next poll comes after the same wait; any other error ends the
    loop. The consumer runs between the yield and the wait, so the interval
    counts from the end of its work.
    """
    while True:
        try:
            every = fetch()
            jobs = select(every)
        except tolerate as error:
            if isinstance(error, ArkorStudioError):
                message = error.message
            else:
                message = f"{type(error).__name__}: {error}"
            yield Poll(None, 0, message, time.monotonic())
        else:
            yield Poll(jobs, len(every), None, time.monotonic())
        if wait(interval) is False:
            return
