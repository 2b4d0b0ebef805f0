"""Sinks: where a `WatchSession` goes. One class per output mode.

A sink has the same few methods whatever it prints (see `Sink`); the
engine calls them from its threads. `JsonSink` and `PlainSink` write lines
(through one `LineWriter`); `LiveSink` (`session.live`) draws the frame.
A new output is one new subclass: see docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import math
import sys
import time
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, ClassVar, Final

from arkor_cli_studio.session.linewriter import FLUSH_WITHIN, LineWriter

if TYPE_CHECKING:
    from collections.abc import Callable

    from arkor_cli_studio.alerts import Alert
    from arkor_cli_studio.model import Event, StreamNotice
    from arkor_cli_studio.session.engine import WatchSession
    from arkor_cli_studio.stats import SeriesStats

#: While the job waits for a GPU, a piped watch says so at most this often
#: (minutes of silence in a CI log look like a hang).
HEARTBEAT: Final = 60.0


class Sink:
    """The interface, with do-nothing defaults. The engine calls, in order:

    - `attach(session)` once, from `WatchSession.__init__`;
    - `applied` (a class attribute: a method or None) after each event is
      applied to the view, on the stream thread, lock held: per-event work
      that needs the view as this event left it (None: skipped, no cost);
    - `events(batch)` after each batch, on the stream thread, lock free;
    - `notice(notice)` for what is not an event, from any thread;
    - `run()` on the main thread until `session.done`; then `close()`;
    - `finish(status)` on the main thread, after `run()` returned (for
      `session.run()`'s caller): the summary.
    """

    keep_raw: ClassVar[bool] = False  # events keep the server's `data` text (JSON)
    needs_stats: bool = False  # the session keeps the loss statistics (`session.stats`)
    applied: Callable[[Event], None] | None = None

    def attach(self, session: WatchSession) -> None:
        self.session = session

    def started(self) -> None:
        """After the first poll (the job's name and status known), before the
        stream and poll threads start: on the main thread, nothing else writes."""

    def events(self, events: list[Event]) -> None:
        pass

    def notice(self, notice: StreamNotice) -> None:
        pass

    def alert(self, alert: Alert) -> None:
        """An alert fired (`alerts.Alert`), view lock held: on the stream
        thread right after the event that fired it (`session.on_stream_thread()`:
        a line sink adds its line to the batch's, in turn), or on the alert
        clock's thread (`stall`: no event is flowing; show it at once). By
        default a notice of kind "alert" whose reason is its `ALERT ...` line."""
        from arkor_cli_studio.model import StreamNotice

        self.notice(StreamNotice("alert", alert.line()))

    def run(self) -> None:
        """Until the stream has ended (`session.done`)."""
        self.session.done.wait()

    def close(self) -> None:
        """`run()` is over (normally or not): no thread writes after this."""

    def finish(self, status: str) -> None:
        """The watch is over and its status known: the last words."""


def advanced_numbers(
    session: WatchSession, last: int | None, *, fresh: bool = False
) -> tuple[SeriesStats, SeriesStats]:
    """The Advanced cards' numbers: the whole run's (`session.stats`), or,
    with `last`, Studio's: the chart's last `last` frames merged by step
    (copied under the view lock, summarised outside it)."""
    if last is None:
        assert session.stats is not None
        return session.stats.summaries(fresh=fresh)
    from arkor_cli_studio.chart import merge_by_step, window_summaries

    with session.lock:
        frames = session.view.window_frames(last)
    return window_summaries(merge_by_step(frames))


class LinesSink(Sink):
    """Piped output: the stream thread writes each batch's lines; the main
    thread flushes them, then prints the summary (and `--advanced`'s cards).

    Subclasses say where the summary and notices go (`summary_to`,
    `notices_to`: "out" or "err") and what each event prints (`applied`).
    """

    summary_to: ClassVar[str] = "out"

    def __init__(
        self,
        *,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        advanced: bool = False,
        no_color: bool = False,
        last: int | None = None,
    ) -> None:
        """`out`: the lines (default stdout); `err`: the rest (default
        stderr); `advanced`: the loss cards after the summary (`last`: over
        the chart's last N points, as Studio's, instead of the whole run)."""
        self.out: IO[str] = out if out is not None else sys.stdout
        self.err: IO[str] = err if err is not None else sys.stderr
        self.advanced = self.needs_stats = advanced
        self.last = last
        self.no_color = no_color
        self.pending: list[str] = []

    def attach(self, session: WatchSession) -> None:
        super().attach(session)
        self.writer = LineWriter(self.out, session.leaving)

    def events(self, events: list[Event]) -> None:
        pending = self.pending
        if pending:
            text = "".join(pending)
            pending.clear()  # (the same list: `applied` holds it)
            self.writer.write(text)

    heartbeat: ClassVar[float] = HEARTBEAT
    #: Says the first line and the warm-up lines (`--plain`, `--json`; the
    #: other line sinks have their own words, or none: `--quiet`).
    announces: ClassVar[bool] = False
    #: Where the first line and the warm-up lines go ("out" or "err").
    status_to: ClassVar[str] = "out"

    def _say(self, line: str) -> None:
        from arkor_cli_studio.textsafe import clean_line

        text = clean_line(line) + "\n"
        if self.status_to == "out":
            self.writer.write(text)
            self.writer.flush()
        else:
            self.writer.write_to(self.err, text)

    def started(self) -> None:
        """`Watching <name> (<id>), <status>`: the first line names the job."""
        if not self.announces:
            return
        session = self.session
        with session.lock:
            view = session.view
            if view.job is None:
                return  # not listed (yet): the stream says whether it exists
            name, status = view.display_name, view.display_status(datetime.now(UTC))
        label = f"{name} ({session.job_id})" if name != session.job_id else name
        self._say(f"Watching {label}, {status}")

    def _warming(self, said_at: float | None) -> float | None:
        """While the job waits for a GPU: a line when that starts, then one a
        minute at most (`HEARTBEAT`); the time of the last line said."""
        from arkor_cli_studio.model import WARMING_UP, format_duration, local_time

        if not self.announces:
            return said_at
        session = self.session
        now = datetime.now(UTC)
        with session.lock:
            view = session.view
            if view.phase != WARMING_UP or view.step is not None or view.ended:
                return said_at
            waited = view.warmup_elapsed(now)
        monotonic = time.monotonic()
        if said_at is not None and monotonic - said_at < self.heartbeat:
            return said_at
        stamp = local_time(now)
        if said_at is None:
            self._say(f"{stamp}  warming up: waiting for a GPU")
        else:
            since = f" ({format_duration(waited)} so far)" if waited is not None else ""
            self._say(f"{stamp}  still warming up{since}")
        return monotonic

    def run(self) -> None:
        from arkor_cli_studio.output import stdout_closed

        done, flush = self.session.done, self.writer.flush
        # (First asked a second in: the stream's first events, training.started
        # among them, have arrived by then.)
        said_at: float | None = None
        checked = time.monotonic()
        while not done.wait(FLUSH_WITHIN):
            flush()
            if stdout_closed():  # `| head -1` on a quiet stream: don't wait for an event
                raise BrokenPipeError
            if time.monotonic() - checked >= 1.0:
                checked = time.monotonic()
                said_at = self._warming(said_at)
        flush()

    def close(self) -> None:
        self.writer.settle()

    def finish(self, status: str) -> None:
        from arkor_cli_studio.event_text import summary_line
        from arkor_cli_studio.textsafe import clean_line

        session = self.session
        with session.lock:
            view = session.view
            line = summary_line(view.display_name, view.summary(datetime.now(UTC)))
        stream = self.out if self.summary_to == "out" else self.err
        print(clean_line(line), file=stream, flush=True)
        if self.advanced:
            self._print_stats(stream)

    def _print_stats(self, stream: IO[str]) -> None:
        """The cards of `stats`, over the whole run or the chart's last
        `last` points (colours only on a terminal)."""
        from arkor_cli_studio.render.console import make_console
        from arkor_cli_studio.render.stats import stats_view

        session = self.session
        assert session.stats is not None
        loss, eval_loss = advanced_numbers(session, self.last, fresh=True)
        with session.lock:
            over = session.view.ended or session.view.finished
        console = make_console(file=stream, no_color=self.no_color)
        console.print(stats_view(loss, eval_loss, so_far=not over, last=self.last))
        stream.flush()


class JsonSink(LinesSink):
    """`--json`: one NDJSON record per event on stdout (the complete history);
    notices and the summary on stderr."""

    keep_raw = True
    summary_to = "err"
    status_to = "err"  # stdout stays NDJSON
    announces = True

    def attach(self, session: WatchSession) -> None:
        from arkor_cli_studio.model import PING
        from arkor_cli_studio.render.lines import record_line

        super().attach(session)
        pending = self.pending

        def applied(event: Event) -> None:
            if event.name != PING:
                pending.append(record_line(event))

        self.applied = applied

    def notice(self, notice: StreamNotice) -> None:
        from arkor_cli_studio.render.lines import plain_notice_line

        self.writer.write_to(self.err, plain_notice_line(notice, datetime.now(UTC)) + "\n")

    def alert(self, alert: Alert) -> None:
        """A record on stdout, in turn with the events': `{"event": "alert", ...}`."""
        from arkor_cli_studio.render.lines import alert_record_line

        line = alert_record_line(alert)
        if self.session.on_stream_thread():
            self.pending.append(line)
        else:
            self.writer.write(line)


class PlainSink(LinesSink):
    """`--plain` (and any pipe): one line per event, a progress line every
    10% or 30 s, notices in turn, the summary at the end."""

    announces = True

    def attach(self, session: WatchSession) -> None:
        from arkor_cli_studio.model import END, LOG, PING
        from arkor_cli_studio.progress import PlainThrottle
        from arkor_cli_studio.render import lines as render  # (no rich in piped mode)

        super().attach(session)
        # Bound once: no import or attribute look-up per event on the hot path.
        view, throttle, pending = session.view, PlainThrottle(), self.pending
        event_line, progress_line = render.plain_event_line, render.plain_progress_line
        may_be_due, due, monotonic = throttle.may_be_due, throttle.due, time.monotonic

        # The throttle's bounds (a time, a done count) hold while the job and
        # the presence of `epoch` (what the total depends on) stay the same.
        bound_job: object = self  # (no job is this: the first event asks)
        bound_epoch, until, below, by_epoch = False, -math.inf, -math.inf, False

        def applied(event: Event) -> None:
            # A progress line when one is due (every 10% or 30 s), decided per
            # event with the view as that event left it (a replay gets them too).
            nonlocal bound_job, bound_epoch, until, below, by_epoch
            name = event.name
            if name == LOG:
                pending.append(event_line(event))
                now = monotonic()
                epoch = view.epoch
                if now < until and view.job is bound_job and (epoch is not None) is bound_epoch:
                    done = epoch if by_epoch else view.step
                    if done is None or done < below:
                        return
                if may_be_due(view.fraction, now):
                    p = view.progress(None)
                    if due(p, now):
                        extra = progress_line(p, event.timestamp or datetime.now(UTC))
                        if extra:
                            pending.append(extra)
                total = view.total()
                bound_job, bound_epoch = view.job, epoch is not None
                until, below = throttle.quiet_bounds(total)
                by_epoch = total is not None and total.kind == "epochs"
            elif name != PING and name != END:
                pending.append(event_line(event))

        self.applied = applied

    def events(self, events: list[Event]) -> None:
        if self.pending:
            self.pending.append("")
            text = "\n".join(self.pending)
            self.pending.clear()
            self.writer.write(text)

    def notice(self, notice: StreamNotice) -> None:
        from arkor_cli_studio.render.lines import plain_notice_line

        self.writer.write(plain_notice_line(notice, datetime.now(UTC)) + "\n")
        self.writer.flush()

    def alert(self, alert: Alert) -> None:
        """`ALERT rule at step N: message`, right after its event's line."""
        from arkor_cli_studio.textsafe import clean_line

        line = clean_line(alert.line())
        if self.session.on_stream_thread():
            self.pending.append(line)
        else:
            self.writer.write(line + "\n")
