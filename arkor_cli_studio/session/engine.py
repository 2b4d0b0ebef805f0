"""`WatchSession`: one job followed to its end, written to one sink.

Three threads: the stream (applies events to the `JobView` as fast as they
arrive and hands each batch to the sink), the 5-second jobs poll (name,
times, config, status), and the main thread (the sink's `run()`: the Live
frame, or the flushing of piped lines). One lock guards the view.

The engine knows nothing of output: what a mode prints is its sink's
(`session.sinks`), what else sees every event is a hook (`add_hook`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, cast

from arkor_cli_studio.errors import ArkorStudioError, ExitCode, UnreachableError

if TYPE_CHECKING:
    from arkor_cli_studio.alerts import Alert
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.model import Event, StreamNotice
    from arkor_cli_studio.session.sinks import Sink
    from arkor_cli_studio.stats import LiveStats
    from arkor_cli_studio.watching import JobView

POLL_INTERVAL: Final = 5.0
EXIT_CODES: Final = {
    "completed": ExitCode.OK,
    "failed": ExitCode.FAILURE,
    "cancelled": ExitCode.CANCELLED,
}

Hook = Callable[["Event"], None]


class Stopped(Exception):
    """The main thread stopped the watch (Ctrl-C, an error): end the stream thread."""


class WatchSession:
    def __init__(
        self,
        backend: Backend,
        view: JobView,
        sink: Sink,
        *,
        max_retries: int | None = None,
        retry_scale: float = 1.0,
    ) -> None:
        """`view`: the job's state (its `job_id` is the job followed); `sink`:
        where it goes. `retry_scale` scales the reconnect delays (a test
        seam, `ARKOR_STUDIO_RETRY_SCALE`)."""
        self.backend = backend
        self.view = view
        self.sink = sink
        self.job_id = view.job_id
        self.max_retries = max_retries
        self.retry_scale = retry_scale
        # The loss statistics (`--advanced`, the live `a` key), fed by the view.
        self.stats: LiveStats | None = None
        if sink.needs_stats:
            from arkor_cli_studio.stats import LiveStats

            self.stats = LiveStats()
            view.loss_observers.append(self.stats.observe)
        # Re-entrant: a hook (run with it held) may call `notice()`.
        self.lock = threading.RLock()
        self.changed = threading.Event()  # the view changed (or the stream ended)
        self.done = threading.Event()  # the stream thread has ended
        self.stop = threading.Event()  # the stream thread should end
        # run() is returning: stdout is the main thread's again, so the other
        # threads write nothing more (`end()` sets `stop` only: the last
        # summary is still printed).
        self.leaving = threading.Event()
        self.failure: BaseException | None = None
        self.final: str | None = None
        self.stopped_with: ExitCode | None = None  # a hook ended the watch (`end(code)`)
        self._hooks: list[Hook] = []
        self._ingest_thread: threading.Thread | None = None
        self._poll_said: str | None = None  # the poll failure last reported
        sink.attach(self)

    # ---- for sinks and hooks ------------------------------------------------------

    def add_hook(self, hook: Hook) -> None:
        """`hook(event)` sees every event once it is applied, on the stream
        thread with the view lock held (so keep it cheap). It may call
        `end(code)` or `notice(...)`. Add hooks before `run()`."""
        self._hooks.append(hook)

    def notice(self, notice: StreamNotice) -> None:
        """Something to tell the user that is not an event (a dropped stream,
        an alert): to the view (the live banner) and the sink. Any thread."""
        with self.lock:
            self.view.apply_notice(notice)
        self.sink.notice(notice)
        self.changed.set()

    def alert(self, alert: Alert) -> None:
        """An alert fired (the alerts hook, `session.alerts`; view lock held):
        to the sink (`Sink.alert`), in turn with the events when it comes
        from the stream thread."""
        self.sink.alert(alert)
        self.changed.set()

    def on_stream_thread(self) -> bool:
        """Called from the stream thread (a hook, a sink's per-event step)?"""
        return threading.current_thread() is self._ingest_thread

    def end(self, code: ExitCode | None = None) -> None:
        """Stop following: `run()` draws or prints the last state and returns
        (the stream thread ends at its next event). `code`: the watch's exit
        code instead of the job's outcome. From a hook (the stream thread),
        the batch being applied stops at this event and its lines are still
        written (an alert's line with them) before `run()` returns."""
        if code is not None and self.stopped_with is None:
            self.stopped_with = code
        self.stop.set()
        if not self.on_stream_thread():  # (the stream thread sets it as it leaves)
            self.done.set()
        self.changed.set()

    @property
    def exit_code(self) -> ExitCode | None:
        """After `run()`: the code a hook chose, else the job's outcome's
        (None: the stream ended on a job that is not over)."""
        if self.stopped_with is not None:
            return self.stopped_with
        return EXIT_CODES.get(self.final or "")

    # ---- threads -------------------------------------------------------------------

    def run(self) -> str:
        """Watch until the stream ends; the final status."""
        # The first poll before the stream: the name, config (the progress
        # total) and times are known from the first frame on.
        self._poll_once()
        self.sink.started()
        poller = threading.Thread(target=self._poll, name="watch-poll", daemon=True)
        ingest = self._ingest_thread = threading.Thread(
            target=self._ingest, name="watch-stream", daemon=True
        )
        poller.start()
        ingest.start()
        try:
            self.sink.run()
        finally:
            self.stop.set()
            self.leaving.set()
            poller.join(timeout=0.5)
            self.sink.close()
        if self.failure is not None:
            raise self.failure
        status = self.finish()
        self.sink.finish(status)
        return status

    def _ingest(self) -> None:
        from arkor_cli_studio.cloud.events import StreamOptions, follow_event_batches
        from arkor_cli_studio.model import StreamNotice

        # The hot loop: a replayed history is hundreds of thousands of events,
        # read hundreds at a time. Each read's events are applied under one
        # hold of the lock (the drawing thread waits at most that long), each
        # followed by the sink's per-event step and the hooks; then the sink
        # gets the batch (its lines written at once). Everything is bound here.
        view, lock, stopping = self.view, self.lock, self.stop.is_set
        apply, sink = view.apply, self.sink
        # The per-event steps, called directly (the sink's and an alert
        # guard's are the usual pair: no call in between them and the loop).
        first, second = _pair([h for h in (sink.applied, *self._hooks) if h is not None])
        try:
            options = StreamOptions(
                max_retries=self.max_retries, sleep=self._sleep, keep_raw=sink.keep_raw
            )
            for batch in follow_event_batches(self.backend, self.job_id, options):
                if batch[0].__class__ is StreamNotice:
                    for notice in batch:
                        self.notice(notice)
                else:
                    events = cast("list[Event]", batch)
                    with lock:
                        for event in events:
                            apply(event)
                            if first is not None:
                                first(event)
                                if second is not None:
                                    second(event)
                            if stopping():
                                break
                    sink.events(events)
                if stopping():
                    return
        except Stopped:
            pass
        except BaseException as exc:  # handed to the main thread
            self.failure = exc
        finally:
            self.done.set()
            self.changed.set()

    def _sleep(self, seconds: float) -> None:
        """Backoff between reconnects; wakes early when the watch is stopping."""
        if self.stop.wait(seconds * self.retry_scale):
            raise Stopped()

    def _poll(self) -> None:
        while not self.stop.wait(POLL_INTERVAL):
            self._poll_once()

    def _poll_once(self) -> None:
        try:
            job = self.backend.poll_job(self.job_id)
        except UnreachableError:
            return  # keep the last answer; the stream decides the outcome
        except Exception as exc:  # a bad answer, or a bug: said once, and survived
            if not self.stop.is_set():  # (else: the client closed under a poll in flight)
                self._poll_failed(exc)
            return
        if job is not None:
            with self.lock:
                self.view.apply_job(job)
            self.changed.set()

    def _poll_failed(self, exc: Exception) -> None:
        """One line per distinct failure of the job poll; the watch carries on
        with the stream (which decides the outcome)."""
        from arkor_cli_studio.output import say

        if isinstance(exc, ArkorStudioError):
            reason = exc.message
        else:
            reason = f"{type(exc).__name__}: {exc}"
        if reason == self._poll_said or self.leaving.is_set():
            return
        self._poll_said = reason
        say(f"the job poll failed ({reason}); still following the event stream")

    def finish(self) -> str:
        """The final status (once). At `end` with no terminal event (a cancelled
        job has none), the job is polled once more for it."""
        if self.final is None:
            if self.view.stream_status is None:
                self._poll_once()
            with self.lock:
                self.final = self.view.status
        return self.final


def _pair(hooks: list[Hook]) -> tuple[Hook | None, Hook | None]:
    """The per-event steps as at most two callables, in order (more than
    two: the rest are chained into the second)."""
    if len(hooks) <= 2:
        return (hooks[0] if hooks else None), (hooks[1] if len(hooks) == 2 else None)
    first, rest = hooks[0], hooks[1:]

    def each(event: Event) -> None:
        for hook in rest:
            hook(event)

    return first, each
