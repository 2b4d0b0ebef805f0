"""When to reconnect the event stream, and when to give up.

The rules are arkor's own (`core/trainer.ts`): a failure is a connection that
could not be opened, was refused for a passing reason (404 right after
creation, 408, 429, 5xx), dropped, or brought nothing that counts: pings,
comments and frames that are not JSON prove nothing (a proxy answering one
ping and closing must not loop forever). Only a real event resets the count.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from arkor_cli_studio.errors import UnreachableError

BASE_DELAY = 1.0
MAX_DELAY = 60.0
MAX_RETRY_AFTER = 300.0


def backoff_delay(failures: int, rng: Callable[[], float] = random.random) -> float:
    """1 s doubling per consecutive failure, capped at 60 s, with ±20% jitter."""
    base = min(MAX_DELAY, BASE_DELAY * 2.0 ** max(0, failures - 1))
    return min(MAX_DELAY, base * (0.8 + 0.4 * rng()))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date; None when absent or junk."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


class RetryPolicy:
    """Consecutive failures, the delay before the next attempt, the give-up error.

    `max_retries`: failures allowed in a row before giving up (exit 5); None
    retries forever."""

    def __init__(
        self,
        job_id: str,
        max_retries: int | None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.job_id = job_id
        self.max_retries = max_retries
        self.rng = rng
        self.failures = 0

    def succeeded(self) -> None:
        """A real event came: the connection works."""
        self.failures = 0

    def failed(self, reason: str, retry_after: float | None = None) -> float:
        """Count one failure: the delay before the next attempt, or raise
        `UnreachableError` past `max_retries`.

        The backoff is a floor: a server's `Retry-After` may only lengthen
        it (capped at MAX_RETRY_AFTER). `Retry-After: 0`, a negative number or
        a date in the past must not turn the retries into a flood."""
        self.failures += 1
        failures = self.failures
        if self.max_retries is not None and failures > self.max_retries:
            noun = "attempt" if failures == 1 else "attempts"
            raise UnreachableError(
                f"Gave up on the event stream of {self.job_id} after {failures} "
                f"failed {noun}: {reason}",
                hint="Run the same command again to resume, or raise --max-retries.",
            )
        delay = backoff_delay(failures, self.rng)
        if retry_after is not None and retry_after > delay:
            delay = min(MAX_RETRY_AFTER, retry_after)
        return delay
