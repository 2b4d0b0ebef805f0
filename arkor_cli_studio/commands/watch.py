"""`arkor-studio watch <id>`: Studio's Job-detail page, live in the terminal.

Three threads: the stream (applies events to the `JobView` as fast as they
arrive, and in plain/JSON mode prints them), the 5-second jobs poll (name,
times, config, status), and the main thread (draws the Live frame on
change, at most ~10 times a second, plus a 1 Hz tick for the timers; or, in
plain mode, the throttled progress lines). One lock guards the view.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Annotated, Final, cast

import typer

from arkor_cli_studio.commands import boundary, examples, stdout_closed
from arkor_cli_studio.errors import ArkorStudioError, ExitCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.model import Event, StreamNotice
    from arkor_cli_studio.render.console import Console
    from arkor_cli_studio.render.watch import Advanced
    from arkor_cli_studio.stats import LiveStats
    from arkor_cli_studio.watching import JobView

POLL_INTERVAL: Final = 5.0
FRAME_INTERVAL: Final = 0.1  # at most ~10 frames a second
TICK: Final = 1.0  # timers tick once a second
FLUSH_WITHIN: Final = 0.02  # piped output reaches the reader within 20 ms
EXIT_CODES: Final = {
    "completed": ExitCode.OK,
    "failed": ExitCode.FAILURE,
    "cancelled": ExitCode.CANCELLED,
}

EPILOG = examples(
    "arkor-studio watch job_123                 # live; exit 0/1/3: completed/failed/cancelled",
    "arkor-studio watch job_123 --plain         # one line per event (CI logs)",
    "arkor-studio watch job_123 --advanced      # + loss statistics (key a: show/hide)",
    "arkor-studio watch job_123 --json > run.ndjson && arkor-studio stats --file run.ndjson",
    "arkor-studio watch job_123 --json | jq -c 'select(.event==\"training.log\") | .data'",
)


def register(app: typer.Typer) -> None:
    app.command("watch", epilog=EPILOG)(boundary(watch))


def watch(
    ctx: typer.Context,
    job_id: Annotated[
        str,
        typer.Argument(metavar="JOB_ID", help="The job to follow (its id, as `jobs` shows it)."),
    ],
    plain: Annotated[
        bool, typer.Option("--plain", help="One line per event, no live display.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON object per event (NDJSON), the complete history."),
    ] = False,
    notify: Annotated[
        bool | None,
        typer.Option(
            "--notify/--no-notify",
            help="Desktop notification and terminal title at the end "
            "(default: on when stdout is a terminal).",
            show_default=False,
        ),
    ] = None,
    max_retries: Annotated[
        int | None,
        typer.Option(
            "--max-retries",
            min=0,
            metavar="N",
            help="Give up (exit 5) after N consecutive failed reconnects (default: never).",
        ),
    ] = None,
    advanced: Annotated[
        bool,
        typer.Option(
            "--advanced",
            help="Studio's Advanced panel: the numbers of `stats` (mean ± 95% CI, std dev, "
            "variance, p90, p95 of the loss) over the whole run, live under the chart; "
            "on a terminal the key `a` shows or hides it (also without --advanced). "
            "--plain: printed after the summary; --json: on stderr at the end.",
        ),
    ] = False,
) -> None:
    """Follow one job live: phase, metadata, progress, loss chart, events.

    Exit status: 0 completed, 1 failed, 3 cancelled, 130 on Ctrl-C.
    """
    from arkor_cli_studio.app import settings_of
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.model import validate_job_id
    from arkor_cli_studio.render.console import stream_is_terminal

    validate_job_id(job_id)
    settings = settings_of(ctx)
    terminal = stream_is_terminal(sys.stdout)
    mode = "json" if as_json else "plain" if plain or not terminal else "live"
    with connect(settings) as backend:
        session = _Session(backend, settings, job_id, mode, max_retries, advanced=advanced)
        status = session.run()
        view = session.view
    if notify if notify is not None else terminal:
        _notify(view, status)
    code = EXIT_CODES.get(status)
    if code is None:
        _stderr(f"The event stream of {job_id} ended, but the job is {status}.")
        code = ExitCode.FAILURE
    if code:
        raise typer.Exit(int(code))


def _stderr(text: str) -> None:
    from arkor_cli_studio.textsafe import clean_line

    print(f"arkor-studio: {clean_line(text)}", file=sys.stderr, flush=True)


def _notify(view: JobView, status: str) -> None:
    from arkor_cli_studio.notify import desktop_notify, set_terminal_title

    name = view.display_name
    mark = "✓" if status == "completed" else "✗"
    set_terminal_title(f"{mark} {name}")
    body = {
        "completed": "Training completed.",
        "failed": f"Training failed: {view.error or 'unknown error'}",
        "cancelled": "The job was cancelled.",
    }.get(status, f"The job is {status}.")
    desktop_notify(f"{mark} {name}", body, critical=status == "failed")


class _Session:
    def __init__(
        self,
        backend: Backend,
        settings: Settings,
        job_id: str,
        mode: str,
        max_retries: int | None,
        *,
        out: IO[str] | None = None,
        console: Console | None = None,
        reserve_rows: int = 0,
        before_draw: Callable[[], None] | None = None,
        advanced: bool = False,
        keys: bool = True,
    ) -> None:
        """`out`: where plain/JSON lines go (default stdout). Live mode only:
        `console` to draw on (default: a new one on stdout), `reserve_rows`
        left free above the frame, `before_draw()` called on the drawing
        thread before every frame (it may print above the Live region),
        `keys`: read keys (the `a` toggle) from a terminal stdin; off when
        stdin belongs to someone else (`train --watch`'s child)."""
        from arkor_cli_studio.config import env_float
        from arkor_cli_studio.progress import PlainThrottle
        from arkor_cli_studio.watching import JobView

        if mode == "plain":
            from arkor_cli_studio.render import lines as render  # (no rich in piped mode)

            # Bound once: no import per event on the hot path.
            self.event_line = render.plain_event_line
            self.progress_line = render.plain_progress_line

        self.backend = backend
        self.settings = settings
        self.job_id = job_id
        self.mode = mode
        self.max_retries = max_retries
        self.view = JobView(job_id)
        self.lock = threading.Lock()
        self.changed = threading.Event()  # the view changed (or the stream ended)
        self.done = threading.Event()
        self.stop = threading.Event()  # the stream thread should end
        # run() is returning: stdout is the main thread's again, so the other
        # threads write nothing more (`end()` sets `stop` only: the last
        # summary is still printed).
        self.leaving = threading.Event()
        self.failure: BaseException | None = None
        self.final: str | None = None
        self.out: IO[str] = out if out is not None else sys.stdout
        self.console = console
        self.reserve_rows = reserve_rows
        self.before_draw = before_draw
        self.out_lock = threading.Lock()
        self.flushed_at = 0.0
        self.unflushed = False
        self.err: IO[str] = sys.stderr
        # Hidden test seam: scales the reconnect delays (backoff, Retry-After)
        # so retry paths can be tested in milliseconds. Not for users.
        self.retry_scale = env_float(settings.env, "ARKOR_STUDIO_RETRY_SCALE", 1.0)
        self.throttle = PlainThrottle()
        # --advanced: the loss statistics, fed on the stream thread; in the
        # live view also without it when the `a` key can show them.
        self.advanced = advanced  # shown now (the key toggles it)
        self.stats: LiveStats | None = None
        from arkor_cli_studio.keys import available as keys_available

        self.keys = keys and mode == "live" and keys_available()
        if advanced or self.keys:
            from arkor_cli_studio.stats import LiveStats

            self.stats = LiveStats()
            self.view.loss_observers.append(self.stats.observe)

    # ---- threads -----------------------------------------------------------

    def run(self) -> str:
        """Watch until the stream ends; the final status."""
        # The first poll before the stream: the name, config (the progress
        # total) and times are known from the first frame on.
        self._poll_once()
        poller = threading.Thread(target=self._poll, name="watch-poll", daemon=True)
        ingest = threading.Thread(target=self._ingest, name="watch-stream", daemon=True)
        poller.start()
        ingest.start()
        try:
            if self.mode == "live":
                self._live()
            else:
                self._lines()
        finally:
            self.stop.set()
            self.leaving.set()
            poller.join(timeout=0.5)
            # Let a write in flight finish; no new one starts once `leaving` is set.
            # (A daemon thread inside stdout's buffer at interpreter shutdown is
            # a fatal error: Ctrl-C during a replay used to abort, exit -6.)
            if self.out_lock.acquire(timeout=1.0):
                self.out_lock.release()
        if self.failure is not None:
            raise self.failure
        return self._finish()

    def end(self) -> None:
        """Stop following from another thread: `run()` draws or prints the
        last state and returns (the stream thread ends at its next event)."""
        self.stop.set()
        self.done.set()
        self.changed.set()

    def _ingest(self) -> None:
        from arkor_cli_studio.cloud.events import StreamOptions, follow_event_batches
        from arkor_cli_studio.model import PING, StreamNotice
        from arkor_cli_studio.render.lines import record_line

        # The hot loop: a replayed history is hundreds of thousands of events,
        # read hundreds at a time. Each read's events are applied under one
        # hold of the lock (the drawing thread waits at most that long) and
        # their lines written at once; everything the loop needs is bound here.
        view, lock, changed, stopping = self.view, self.lock, self.changed, self.stop.is_set
        mode = self.mode
        apply = view.apply
        try:
            options = StreamOptions(
                max_retries=self.max_retries, sleep=self._sleep, keep_raw=mode == "json"
            )
            for batch in follow_event_batches(self.backend, self.job_id, options):
                if batch[0].__class__ is StreamNotice:
                    for notice in batch:
                        with lock:
                            view.apply_notice(notice)
                        self._notice(notice)
                    if mode == "live":
                        changed.set()
                    if stopping():
                        return
                    continue
                events = cast("list[Event]", batch)
                if mode == "plain":
                    self._plain_batch(events)
                elif mode == "json":
                    lines = []
                    with lock:
                        for event in events:
                            apply(event)
                            if event.name != PING:
                                lines.append(record_line(event))
                            if stopping():
                                break
                    if lines:
                        self._write("".join(lines))
                else:
                    with lock:
                        for event in events:
                            apply(event)
                            if stopping():
                                break
                    if not changed.is_set():  # (set() takes a lock: once per batch at most)
                        changed.set()
                if stopping():
                    return
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the main thread
            self.failure = exc
        finally:
            self.done.set()
            self.changed.set()

    def _plain_batch(self, events: list[Event]) -> None:
        """The events' lines, each followed by a progress line when one is due
        (every 10% or 30 s): decided per event, with the view as that event
        left it, so a replayed history gets them too."""
        from arkor_cli_studio.model import END, LOG, PING

        view, throttle, event_line = self.view, self.throttle, self.event_line
        may_be_due, monotonic, stopping = throttle.may_be_due, time.monotonic, self.stop.is_set
        lines = []
        with self.lock:
            for event in events:
                view.apply(event)
                name = event.name
                if name == LOG:
                    lines.append(event_line(event))
                    now = monotonic()
                    if may_be_due(view.fraction, now):
                        p = view.progress(None)
                        if throttle.due(p, now):
                            extra = self.progress_line(p, event.timestamp or datetime.now(UTC))
                            if extra:
                                lines.append(extra)
                elif name != PING and name != END:
                    lines.append(event_line(event))
                if stopping():
                    break
        if lines:
            lines.append("")
            self._write("\n".join(lines))

    def _sleep(self, seconds: float) -> None:
        """Backoff between reconnects; wakes early when the watch is stopping."""
        if self.stop.wait(seconds * self.retry_scale):
            raise _Stopped()

    def _poll(self) -> None:
        while not self.stop.wait(POLL_INTERVAL):
            self._poll_once()

    def _poll_once(self) -> None:
        try:
            job = self.backend.find_job(self.job_id)
        except ArkorStudioError:
            return  # keep the last answer; the stream decides the outcome
        except Exception:
            if self.stop.is_set():
                return  # the client closed under a poll in flight: we are done
            raise
        if job is not None:
            with self.lock:
                self.view.apply_job(job)
            self.changed.set()

    def _finish(self) -> str:
        """The final status (once). At `end` with no terminal event (a cancelled
        job has none), the job is polled once more for it."""
        if self.final is None:
            if self.view.stream_status is None:
                self._poll_once()
            with self.lock:
                self.final = self.view.status
        return self.final

    # ---- output: JSON, plain lines ------------------------------------------

    def _write(self, text: str) -> None:
        """Write to stdout, flushed at once unless a flush happened in the last
        FLUSH_WITHIN seconds: then the main thread flushes it within that time.
        A live run gets every line at once; a replayed history is not slowed
        by a system call per event."""
        with self.out_lock:
            if self.leaving.is_set():
                raise _Stopped()  # the main thread is leaving: stdout is its own now
            self.out.write(text)
            now = time.monotonic()
            if now - self.flushed_at >= FLUSH_WITHIN:
                self.out.flush()
                self.flushed_at, self.unflushed = now, False
            else:
                self.unflushed = True

    def _flush(self) -> None:
        with self.out_lock:
            if self.unflushed:
                self.out.flush()
                self.flushed_at, self.unflushed = time.monotonic(), False

    def _notice(self, notice: StreamNotice) -> None:
        from arkor_cli_studio.render.lines import plain_notice_line

        if self.mode == "live":
            return  # the banner shows it
        line = plain_notice_line(notice, datetime.now(UTC)) + "\n"
        if self.mode == "json":
            with self.out_lock:
                if self.leaving.is_set():
                    raise _Stopped()
                self.err.write(line)
                self.err.flush()
        else:
            self._write(line)
            self._flush()

    def _lines(self) -> None:
        """Plain/JSON: the stream thread prints the events; then the summary."""
        from arkor_cli_studio.watching import summary_line

        while not self.done.wait(FLUSH_WITHIN):
            self._flush()
            if stdout_closed():  # `| head -1` on a quiet stream: don't wait for an event
                raise BrokenPipeError
        self._flush()
        if self.failure is not None:
            return
        self._finish()
        with self.lock:
            line = summary_line(self.view.display_name, self.view.summary(datetime.now(UTC)))
        if self.mode == "plain":
            from arkor_cli_studio.textsafe import clean_line

            self._write(f"{clean_line(line)}\n")
            self._flush()
            if self.advanced:
                self._print_stats(self.out)
        else:
            from arkor_cli_studio.textsafe import clean_line

            print(clean_line(line), file=self.err, flush=True)
            if self.advanced:
                self._print_stats(self.err)

    def _print_stats(self, stream: IO[str]) -> None:
        """The cards of `stats`, over the whole run (colours only on a terminal)."""
        from arkor_cli_studio.render.console import make_console
        from arkor_cli_studio.render.stats import stats_view

        assert self.stats is not None
        loss, eval_loss = self.stats.summaries(fresh=True)
        with self.lock:
            over = self.view.ended or self.view.finished
        with self.out_lock:
            console = make_console(file=stream, no_color=self.settings.no_color)
            console.print(stats_view(loss, eval_loss, so_far=not over))
            stream.flush()

    # ---- output: the Live view -----------------------------------------------

    def _live(self) -> None:
        from arkor_cli_studio.keys import read_keys
        from arkor_cli_studio.render.console import make_console
        from arkor_cli_studio.render.live import live_screen
        from arkor_cli_studio.render.watch import watch_frame

        console = self.console or make_console(no_color=self.settings.no_color)
        drawn_version = -1
        drawn_at = 0.0
        drawn_advanced = self.advanced
        key_reader = read_keys(self._key) if self.keys else contextlib.nullcontext(False)
        with key_reader as keys, live_screen(console) as draw:
            while True:
                finished = self.done.is_set()
                if not finished:
                    # Wake on change or at the next tick, then coalesce to ~10 fps.
                    self.changed.wait(max(0.0, drawn_at + TICK - time.monotonic()))
                    time.sleep(max(0.0, drawn_at + FRAME_INTERVAL - time.monotonic()))
                    self.changed.clear()
                    finished = self.done.is_set()
                if finished and self.failure is None:
                    self._finish()
                if self.before_draw is not None:
                    self.before_draw()
                shown = self.advanced
                advanced = self._advanced_stats(finished) if shown else None
                with self.lock:
                    version = self.view.version
                    due = (
                        version != drawn_version
                        or time.monotonic() >= drawn_at + TICK
                        or shown != drawn_advanced
                    )
                    if due or finished:
                        height, width = console.size.height, console.size.width
                        height = max(1, height - self.reserve_rows)
                        frame = watch_frame(
                            self.view,
                            datetime.now(UTC),
                            width,
                            height,
                            advanced=advanced,
                            toggle=shown if keys else None,
                        )
                if due or finished:
                    draw(frame)
                    drawn_version, drawn_at, drawn_advanced = version, time.monotonic(), shown
                if finished:
                    return

    def _advanced_stats(self, finished: bool) -> Advanced | None:
        """The panel's numbers (outside the view lock: `LiveStats` has its own)."""
        from arkor_cli_studio.render.watch import Advanced

        if self.stats is None:
            return None
        loss, eval_loss = self.stats.summaries(fresh=finished)
        return Advanced(loss, eval_loss, so_far=not finished)

    def _key(self, key: str) -> None:
        """A key typed in the live view (on the key thread)."""
        from arkor_cli_studio.render.watch import ADVANCED_KEY

        if key in (ADVANCED_KEY, ADVANCED_KEY.upper()) and self.stats is not None:
            self.advanced = not self.advanced
            self.changed.set()


def record_line(event: Event) -> str:
    """`model.event_record()` as one NDJSON line (`render.lines.record_line`)."""
    from arkor_cli_studio.render.lines import record_line

    return record_line(event)


WatchSession = _Session  # for other commands (`train --watch`)


class _Stopped(Exception):
    """The main thread stopped the watch (Ctrl-C, an error): end the stream thread."""
