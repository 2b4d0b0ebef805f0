"""The state of a watched job: events and polls in, view state out.

No I/O, no terminals, no HTTP: `JobView` is fed `model.Event`s and
`model.StreamNotice`s from the stream and `model.Job`s from the 5-second
poll, and keeps exactly what Studio's Job-detail page shows (status,
phase, banners, the 500-entry event log, the loss chart's last 2,000
frames: `chart.py`) plus the progress figures and the final summary. Memory is
bounded whatever the run's length. `version` grows on every change, so a
renderer redraws only when something changed. What events and summaries say
in words: `event_text`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from arkor_cli_studio import progress
from arkor_cli_studio.chart import CHART_SIZE, ChartPoint, merge_by_step
from arkor_cli_studio.model import (
    CHECKPOINT,
    COMPLETED,
    END,
    FAILED,
    LOG,
    PING,
    STARTED,
    TERMINAL_STATUSES,
    WARMING_UP,
    Event,
    Job,
    RunTimes,
    StreamNotice,
    duration,
    number,
    run_times,
)

LOG_SIZE: Final = 500
#: An ending this much older than the start of the watch is still news
#: (Studio's `notify.ts`: the page's opening minus 5 s).
NEWS_GRACE: Final = timedelta(seconds=5)

#: Called with (loss, evalLoss) for every training.log frame of the run that
#: carries either number (e.g. a statistics accumulator for --advanced).
LossObserver = Callable[[float | None, float | None], None]


@dataclass(frozen=True, slots=True)
class Summary:
    """The values of the one-line summary at the end."""

    status: str
    duration: timedelta | None
    step: float | None
    loss: float | None
    eval_loss: float | None
    artifacts: int | None
    rate: float | None


class JobView:
    """What the watch shows, derived from events and polls (single-threaded:
    callers that feed it from several threads hold one lock)."""

    def __init__(
        self,
        job_id: str,
        job: Job | None = None,
        *,
        log_size: int = LOG_SIZE,
        chart_size: int = CHART_SIZE,
    ) -> None:
        self.job_id = job_id
        self.job = job
        self.version = 0
        self.started = False
        self.stream_status: str | None = None  # from a terminal event
        self.ended = False  # `end` arrived
        self.error: str | None = None  # training.failed's error
        self.interrupted: StreamNotice | None = None
        # The last alert that fired (its `ALERT ...` line) and whether its
        # condition still holds: the live view's alert banner.
        self.alert: str | None = None
        self.alert_active = False
        self.artifacts: int | None = None
        self.log: deque[Event] = deque(maxlen=log_size)
        # Studio's `points`: the last `chart_size` training.log frames with a
        # step and a loss or evalLoss (`chart_points()` merges them by step).
        self.points: deque[ChartPoint] = deque(maxlen=chart_size)
        self._points_added = 0
        self._merged: tuple[int, list[ChartPoint]] = (0, [])
        self.events_seen = 0
        # The stream's own times (Studio's `liveStartedAt` and the terminal
        # event's `completedAt`): Started, Completed and Duration fall back to them.
        self.live_started_at: datetime | None = None
        self.terminal_at: datetime | None = None
        # The first poll already said the job was over (a replayed ending).
        self.over_when_first_polled: bool | None = None
        # Latest values of the run (not only of the chart's window).
        self.step: float | None = None
        self.loss: float | None = None
        self.eval_loss: float | None = None
        self.learning_rate: float | None = None
        self.epoch: float | None = None
        self.samples_per_second: float | None = None
        self.steps_rate = progress.RateWindow()
        self._first_step: tuple[float, float] | None = None  # (event time, step)
        self._last_step: tuple[float, float] | None = None
        self.epochs_rate = progress.RateWindow()
        self.loss_observers: list[LossObserver] = []
        self._total: progress.Total | None = None
        self._total_key: tuple[Job | None, bool] | None = None

    # ---- input ---------------------------------------------------------

    def apply(self, event: Event) -> None:
        """One event from the stream (pings are ignored: no meaning)."""
        name = event.name
        if name == PING:
            return
        self.version += 1
        self.interrupted = None  # a frame arrived: the stream is back
        if name == END:
            self.ended = True
            return
        self.events_seen += 1
        self.log.append(event)
        if name == LOG:
            self._apply_log(event)
            return
        when = event.timestamp
        if name == STARTED:
            self.started = True
            if self.live_started_at is None:
                self.live_started_at = when
        elif name == COMPLETED:
            self.stream_status = "completed"
            self.artifacts = len(event.artifacts)
            self.terminal_at = when
        elif name == FAILED:
            self.stream_status = "failed"
            error = event.data.get("error")
            self.error = error if isinstance(error, str) else None
            self.artifacts = 0  # as Studio's sidebar says for a failed job
            self.terminal_at = when
            step = event.step
            if step is not None and self.step is None:
                self.step = step
        elif name == CHECKPOINT:
            step = event.step
            if step is not None and self.step is None:
                self.step = step

    def _apply_log(self, event: Event) -> None:
        # The hot path: once per training.log frame of the run. A finite
        # float is taken as it is (x - x is 0.0 for those only), as number()
        # would; anything else present is number()'s to judge.
        get = event.data.get
        step = event.step
        if step is not None:
            self.step = step
        lr = get("learningRate")
        if lr is not None:
            if lr.__class__ is not float or lr - lr != 0.0:
                lr = number(lr)
            if lr is not None:
                self.learning_rate = lr
        epoch = get("epoch")
        if epoch is not None:
            if epoch.__class__ is not float or epoch - epoch != 0.0:
                epoch = number(epoch)
            if epoch is not None:
                self.epoch = epoch
        sps = get("samplesPerSecond")
        if sps is not None:
            if sps.__class__ is not float or sps - sps != 0.0:
                sps = number(sps)
            if sps is not None:
                self.samples_per_second = sps
        t = event.epoch_seconds  # (None: no time, or not one that parses)
        if t is not None:
            if step is not None:
                self.steps_rate.add(t, step)
                if self._first_step is None:
                    self._first_step = (t, step)
                self._last_step = (t, step)
            if epoch is not None:
                self.epochs_rate.add(t, epoch)
        loss, eval_loss = event.loss, event.eval_loss
        if loss is None and eval_loss is None:
            return  # neither number: the chart ignores the frame
        if step is not None:  # (Studio's chart drops a frame without a step)
            self.points.append(ChartPoint(step, loss, eval_loss))
            self._points_added += 1
        if loss is not None:
            self.loss = loss
        if eval_loss is not None:
            self.eval_loss = eval_loss
        for observer in self.loss_observers:
            observer(loss, eval_loss)

    def apply_notice(self, notice: StreamNotice) -> None:
        self.version += 1
        self.interrupted = notice if notice.kind == "interrupted" else None

    def apply_alert(self, line: str | None, active: bool) -> None:
        """The alert banner: the last alert's line, and whether it still holds."""
        if (line, active) != (self.alert, self.alert_active):
            self.alert, self.alert_active = line, active
            self.version += 1

    def apply_job(self, job: Job) -> None:
        """The job as the poll saw it; a change bumps the version."""
        if self.over_when_first_polled is None:
            self.over_when_first_polled = job.status in TERMINAL_STATUSES
        if job != self.job:
            self.job = job
            self.version += 1

    # ---- derived -----------------------------------------------------------

    @property
    def status(self) -> str:
        """Studio's precedence: a terminal event, a terminal polled status,
        `running` from training.started, the polled status, `queued`."""
        if self.stream_status is not None:
            return self.stream_status
        job = self.job
        if job is not None and job.status in TERMINAL_STATUSES:
            return job.status
        if self.started:
            return "running"
        if job is not None:
            return job.status
        return "queued"

    def display_status(self, now: datetime) -> str:
        """The status, `Warming up GPU` while queued: with the stream open, a
        queued job is warming up for as long as that lasts (the 90 s rule is
        the Jobs list's, which has no stream), so the badge, the Status row
        and the Phase row agree."""
        status = self.status
        if status == "queued" and not self.ended:
            return WARMING_UP
        return status

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def phase(self) -> str:
        status = self.status
        if status in TERMINAL_STATUSES:
            return status.capitalize()
        if status == "running":
            return "Training run"
        return WARMING_UP

    def warmup_elapsed(self, now: datetime) -> timedelta | None:
        """Since createdAt, while warming up (None once training started)."""
        if self.status != "queued" or self.job is None or self.job.created_at is None:
            return None
        return duration(self.job.created_at, now)

    def ending_is_news(self, since: datetime) -> bool:
        """Whether the job's end should be announced (notification, title) to
        someone who started watching at `since`: Studio announces a terminal
        event only when it is newer than the page's opening minus
        NEWS_GRACE, so a replayed ending is shown, not announced.

        The terminal event's time decides; without one (a cancelled job has
        no terminal event; an event may lack its time), the job's
        `completedAt`; without that, whether the first poll already saw the
        job over."""
        if not self.finished:
            return False
        when = self.terminal_at if self.stream_status is not None else None
        if when is None and self.job is not None and self.stream_status is None:
            when = self.job.completed_at
        if when is not None:
            return when >= since - NEWS_GRACE
        return not self.over_when_first_polled

    @property
    def display_name(self) -> str:
        return self.job.name if self.job is not None and self.job.name else self.job_id

    def window_frames(self, last: int) -> list[ChartPoint]:
        """The chart's last `last` frames (a copy: merge and summarise them
        outside the lock, `chart.window_summaries(merge_by_step(...))`)."""
        points = self.points
        return list(points)[-last:] if last < len(points) else list(points)

    def chart_points(self) -> list[ChartPoint]:
        """The chart's points: `points` merged by step (cached until a new frame)."""
        added, merged = self._merged
        if added != self._points_added:
            merged = merge_by_step(self.points)
            self._merged = (self._points_added, merged)
        return merged

    @property
    def banners(self) -> list[tuple[str, str]]:
        """(kind, text): `failed` (red, only with an error text to show: the
        event's, else the job's), `alert` (highlighted while its condition
        holds, `alert-cleared` after) and `interrupted` (amber)."""
        out = []
        if self.status == "failed":
            error = self.error or (self.job.error if self.job is not None else None)
            if error and error.strip():
                out.append(("failed", f"Job failed: {error}"))
        if self.alert is not None:
            if self.alert_active:
                out.append(("alert", self.alert))
            else:
                out.append(("alert-cleared", f"{self.alert} (cleared)"))
        if self.interrupted is not None:
            out.append(("interrupted", "Event stream interrupted."))
        return out

    def total(self) -> progress.Total | None:
        """From the polled config; recomputed only when the job or the
        presence of `epoch` changes (it is asked once per event in plain mode)."""
        job, epoch_seen = self.job, self.epoch is not None
        cached = self._total_key
        if cached is None or cached[0] is not job or cached[1] != epoch_seen:
            config = job.config if job is not None else {}
            self._total = progress.total_of(config, epoch_seen=epoch_seen)
            self._total_key = (job, epoch_seen)
        return self._total

    @property
    def fraction(self) -> float | None:
        """Done / total, unclamped (cheap: for throttling progress lines)."""
        job = self.job
        if job is None or not job.config:
            return None
        total = self.total()
        done = None if total is None else self.step if total.kind == "steps" else self.epoch
        return None if total is None or done is None else done / total.value

    def progress(self, now: datetime | None) -> progress.Progress:
        """`now`: the wall clock of a live run (stall decay), or None."""
        # While the history is replayed, a poll may already say "completed":
        # the bar follows the stream, so it reads 100% only at its end.
        status = self.stream_status or (
            "running" if self.started and not self.ended else self.status
        )
        return progress.compute(
            total=self.total(),
            step=self.step,
            epoch=self.epoch,
            steps=self.steps_rate,
            epochs=self.epochs_rate,
            status=status,
            now=now.timestamp() if now is not None else None,
        )

    def times(self, now: datetime) -> RunTimes:
        """Started, Completed and Duration as Studio's Job detail computes
        them (`model.run_times`), with the stream's fallbacks."""
        return run_times(
            self.job,
            now,
            live_started=self.live_started_at,
            terminal=self.stream_status is not None,
            terminal_at=self.terminal_at,
        )

    def run_duration(self, now: datetime) -> timedelta | None:
        """Studio's Duration: from the start (not the queue, not the warm-up),
        ticking while running, frozen at the end; None (N/A) before the start
        and for an end without a time."""
        return self.times(now).duration

    def summary(self, now: datetime) -> Summary:
        return Summary(
            status=self.status,
            duration=self.run_duration(now),
            step=self.step,
            loss=self.loss,
            eval_loss=self.eval_loss,
            artifacts=self.artifacts,
            rate=self.overall_rate(),
        )

    def overall_rate(self) -> float | None:
        """Steps per second over the whole run, from the events' timestamps."""
        first, last = self._first_step, self._last_step
        if first is None or last is None or last[0] <= first[0] or last[1] < first[1]:
            return None
        return (last[1] - first[1]) / (last[0] - first[0])
