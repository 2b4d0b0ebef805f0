"""`LineWriter`: the piped sinks' lines, written from the stream thread and
flushed within FLUSH_WITHIN (a replay is not slowed by a system call per event)."""

from __future__ import annotations

import threading
import time
from typing import IO, Final

from arkor_cli_studio.session.engine import Stopped

FLUSH_WITHIN: Final = 0.02  # piped output reaches the reader within 20 ms


class LineWriter:
    """Lines to a stream from the stream thread, flushed at once unless a
    flush happened in the last FLUSH_WITHIN seconds: then the main thread
    flushes them within that time (`flush()`). A live run gets every line
    at once; a replayed history is not slowed by a system call per event."""

    def __init__(self, out: IO[str], leaving: threading.Event) -> None:
        self.out = out
        self.leaving = leaving
        self.lock = threading.Lock()
        self.flushed_at = 0.0
        self.unflushed = False

    def write(self, text: str) -> None:
        with self.lock:
            if self.leaving.is_set():
                raise Stopped()  # the main thread is leaving: stdout is its own now
            self.out.write(text)
            now = time.monotonic()
            if now - self.flushed_at >= FLUSH_WITHIN:
                self.out.flush()
                self.flushed_at, self.unflushed = now, False
            else:
                self.unflushed = True

    def write_to(self, stream: IO[str], text: str) -> None:
        """At once, to another stream (stderr), in turn with the lines."""
        with self.lock:
            if self.leaving.is_set():
                raise Stopped()
            stream.write(text)
            stream.flush()

    def flush(self) -> None:
        with self.lock:
            if self.unflushed:
                self.out.flush()
                self.flushed_at, self.unflushed = time.monotonic(), False

    def settle(self) -> None:
        """Let a write in flight finish; none starts once `leaving` is set.
        (A daemon thread inside stdout's buffer at interpreter shutdown is a
        fatal error: Ctrl-C during a replay used to abort, exit -6.)"""
        if self.lock.acquire(timeout=1.0):
            self.lock.release()
