"""The watched job's state machine, fed plain values (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arkor_cli_studio.event_text import event_message, summary_line
from arkor_cli_studio.model import Event, Job, RunTimes, StreamNotice
from arkor_cli_studio.watching import JobView

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def ev(name: str, event_id: str = "1", **data: object) -> Event:
    return Event(name, event_id, {"type": name, "jobId": "j1", **data})


def log(step: object = None, *, at: float = 0, **data: object) -> Event:
    payload = dict(data, timestamp=ts(at))
    if step is not None:
        payload["step"] = step
    return ev("training.log", **payload)


def job(status: str = "queued", **kw: object) -> Job:
    return Job(id="j1", name="run", status=status, created_at=T0, **kw)  # type: ignore[arg-type]


def test_studio_messages():
    assert event_message(log(3, loss=0.123456)) == "step=3 loss=0.1235"
    assert event_message(log(3, evalLoss=0.5)) == "step=3 evalLoss=0.5000"
    assert event_message(log(3, loss=0.1, evalLoss=0.2)) == "step=3 loss=0.1000 evalLoss=0.2000"
    assert event_message(log(None, loss=0.1)) == "step=- loss=0.1000"
    assert event_message(log(4, loss=None, evalLoss="x")) == "step=4"
    assert event_message(log(4, loss=float("inf"))) == "step=4"
    started = Event("training.started", "1", {"type": "training.started", "metadata": {"a": 1}})
    assert event_message(started) == "a=1"  # no GPU, parameters or precision: its fields
    full = Event(
        "training.started",
        "1",
        {
            "type": "training.started",
            "metadata": {
                "gpu": "NVIDIA L4 (24 GB)",
                "baseModel": "Qwen/Qwen2.5-0.5B-Instruct",
                "trainableParameters": 8_798_208,
                "totalParameters": 502_830_976,
                "precision": "bf16",
            },
        },
    )
    assert event_message(full) == (
        "GPU NVIDIA L4 (24 GB) · 502.8M parameters (8.8M trainable) · precision bf16"
    )
    assert event_message(Event("training.started", "1", {})) == "training started"
    assert event_message(ev("checkpoint.saved", step=40)) == "step=40"
    assert event_message(ev("training.completed", artifacts=[{}])) == "1 artifact"
    assert event_message(ev("training.completed", artifacts=[{}, {}])) == "2 artifacts"
    assert event_message(ev("training.completed")) == "0 artifacts"
    assert event_message(ev("training.failed", error="OOM")) == "OOM"


def test_status_precedence():
    view = JobView("j1")
    assert (view.status, view.phase) == ("queued", "Warming up GPU")
    view.apply_job(job("queued"))
    assert view.status == "queued"
    assert view.display_status(T0 + timedelta(seconds=10)) == "Warming up GPU"
    # With the stream open, queued is warming up for as long as it lasts (the
    # 90 s rule is the Jobs list's): the badge does not flip to `queued`.
    assert view.display_status(T0 + timedelta(seconds=100)) == "Warming up GPU"
    assert view.display_status(T0 + timedelta(hours=3)) == "Warming up GPU"
    assert view.warmup_elapsed(T0 + timedelta(seconds=42)) == timedelta(seconds=42)
    view.apply(ev("training.started"))
    assert (view.status, view.phase) == ("running", "Training run")
    assert view.warmup_elapsed(T0) is None
    view.apply_job(job("queued"))  # a stale poll does not undo the stream
    assert view.status == "running"
    view.apply_job(job("cancelled"))  # a terminal poll beats training.started
    assert view.status == "cancelled"
    view.apply(ev("training.failed", error="boom"))  # a terminal event beats the poll
    assert (view.status, view.phase) == ("failed", "Failed")
    assert view.banners == [("failed", "Job failed: boom")]


def test_polled_status_before_the_stream_says_anything():
    view = JobView("j1")
    view.apply_job(job("running"))
    assert view.status == "running"
    assert view.display_name == "run"
    assert JobView("other").display_name == "other"


def test_interrupted_banner_clears_at_next_frame():
    view = JobView("j1")
    view.apply_notice(StreamNotice("interrupted", "dropped", 1, 1.0))
    assert view.banners == [("interrupted", "Event stream interrupted.")]
    view.apply(log(1, loss=0.5))
    assert view.banners == []
    view.apply_notice(StreamNotice("interrupted"))
    view.apply_notice(StreamNotice("resumed"))
    assert view.banners == []


def test_version_changes_only_on_change():
    view = JobView("j1")
    v0 = view.version
    view.apply(ev("ping"))
    assert view.version == v0
    view.apply_job(job())
    v1 = view.version
    assert v1 > v0
    view.apply_job(job())  # same job again: nothing to redraw
    assert view.version == v1
    view.apply(log(1, loss=1.0))
    assert view.version > v1


def test_chart_points_eval_only_null_and_non_finite():
    view = JobView("j1")
    view.apply(log(1, loss=1.0))
    view.apply(log(2, evalLoss=2.0))  # eval-only counts
    view.apply(log(3, loss=None, evalLoss=None))  # neither: ignored
    view.apply(log(4, loss=float("nan"), evalLoss=float("inf")))  # non-finite = absent
    view.apply(log(None, loss=0.5))  # no step: not on the chart (Studio drops it)
    assert [(p.step, p.loss, p.eval_loss) for p in view.points] == [
        (1, 1.0, None),
        (2, None, 2.0),
    ]
    assert (view.step, view.loss, view.eval_loss) == (4, 0.5, 2.0)
    assert len(view.log) == 5 and view.events_seen == 5


def test_bounded_log_and_chart_and_observers():
    view = JobView("j1")
    seen: list[tuple[float | None, float | None]] = []
    view.loss_observers.append(lambda loss, ev_loss: seen.append((loss, ev_loss)))
    for i in range(1, 3001):
        view.apply(log(i, at=i, loss=1 / i, evalLoss=1.0 if i % 10 == 0 else None))
    assert len(view.log) == 500 and view.log[0].step == 2501
    assert len(view.points) == 2000 and view.points[0].step == 1001
    assert sum(p.eval_loss is not None for p in view.chart_points()) == 200
    assert len(seen) == 3000 and seen[9] == (0.1, 1.0)  # the whole run, not the window


def test_completed_and_summary():
    view = JobView("j1")
    view.apply_job(job("running", started_at=T0 + timedelta(seconds=30)))
    view.apply(ev("training.started", timestamp=ts(30)))
    for i in range(1, 11):
        view.apply(log(i, at=30 + 2 * i, loss=1 / i, evalLoss=0.5 if i == 10 else None))
    view.apply(ev("training.completed", artifacts=[{}, {}], timestamp=ts(55)))
    assert view.status == "completed" and view.artifacts == 2
    now = T0 + timedelta(hours=1)
    summary = view.summary(now)
    assert summary.duration == timedelta(seconds=25)  # frozen at the last event (no poll yet)
    view.apply_job(
        job(
            "completed",
            started_at=T0 + timedelta(seconds=30),
            completed_at=T0 + timedelta(seconds=60),
        )
    )
    summary = view.summary(now)
    assert summary.duration == timedelta(seconds=30)
    assert summary_line("run", summary) == (
        "Job run completed in 30s · 10 steps (0.5 steps/s) · loss 0.1000 · evalLoss 0.5000"
        " · 2 artifacts"
    )
    assert view.progress(None).fraction is None  # no total configured


def test_end_without_terminal_event_keeps_polled_status():
    view = JobView("j1")
    view.apply(ev("training.started"))
    view.apply(ev("end"))
    assert view.ended and view.status == "running" and not view.finished
    view.apply_job(job("cancelled"))
    assert view.status == "cancelled" and view.finished
    assert view.run_duration(T0) is None  # terminal with no end time: N/A


def test_progress_follows_the_stream_not_an_early_poll():
    view = JobView("j1")
    view.apply_job(job("completed", config={"maxSteps": 10}))
    view.apply(ev("training.started"))
    view.apply(log(2, at=2, loss=1.0))
    assert view.status == "completed"
    p = view.progress(None)
    assert p.fraction == 0.2 and p.total is not None and p.total.value == 10
    view.apply(ev("training.completed"))
    assert view.progress(None).fraction == 1.0


def test_numbers_that_do_not_fit_a_float_are_absent():
    from arkor_cli_studio.model import parse_event

    event = parse_event("training.log", "1", '{"step": 1' + "0" * 400 + ', "loss": 0.5}')
    assert event is not None
    assert (event.step, event.loss) == (None, 0.5)
    view = JobView("j1")
    view.apply(event)  # never raises on a malformed payload
    assert event_message(event) == "step=- loss=0.5000"


# --------------------------------------------------------------------------
# Issue 15: times, warm-up, the chart's points, failed without an error


def test_duration_runs_from_the_start_not_the_queue():
    # Queued 100 s (GPU warm-up), then 22 s of training: Studio says 22s.
    view = JobView("j1")
    view.apply_job(job("queued"))
    assert view.run_duration(T0 + timedelta(seconds=50)) is None  # warming up: N/A, no tick
    assert view.times(T0 + timedelta(seconds=50)).started is None
    view.apply(ev("training.started", timestamp=ts(100)))
    now = T0 + timedelta(seconds=110)
    times = view.times(now)
    assert times.started == T0 + timedelta(seconds=100)  # from the event, before any poll
    assert times.duration == timedelta(seconds=10)  # ticks from training.started
    view.apply(ev("training.completed", artifacts=[], timestamp=ts(122)))
    later = T0 + timedelta(hours=2)
    times = view.times(later)
    assert times.completed == T0 + timedelta(seconds=122)  # the terminal event's time
    assert times.duration == timedelta(seconds=22)  # frozen there, not 2m02s
    assert view.summary(later).duration == timedelta(seconds=22)
    # The poll's startedAt / completedAt win once known (Studio's precedence).
    view.apply_job(
        job(
            "completed",
            started_at=T0 + timedelta(seconds=99),
            completed_at=T0 + timedelta(seconds=123),
        )
    )
    assert view.times(later).duration == timedelta(seconds=24)


def test_duration_na_for_a_terminal_job_without_an_end_time():
    view = JobView("j1")
    view.apply_job(job("running", started_at=T0))
    assert view.run_duration(T0 + timedelta(seconds=5)) == timedelta(seconds=5)
    view.apply(ev("training.failed", error="x"))  # no timestamp: no Completed
    assert view.times(T0 + timedelta(seconds=9)) == RunTimes(T0, None, None)


def test_failed_without_an_error_says_failed_and_no_banner_text_it_lacks():
    view = JobView("j1")
    view.apply(ev("training.failed"))
    assert event_message(view.log[-1]) == "failed"
    assert view.banners == []  # nothing to say: no "unknown error"
    assert view.artifacts == 0  # Studio's sidebar: 0 for a failed job
    assert event_message(ev("training.failed", error={"code": 1})) == "failed"
    view.apply_job(job("failed", error="OOM on the worker"))
    assert view.banners == [("failed", "Job failed: OOM on the worker")]


def test_chart_points_merge_same_step_frames_and_sort_by_step():
    view = JobView("j1")
    view.apply(log(10, loss=0.5))
    view.apply(log(10, evalLoss=0.7))  # the eval frame of the same step: one point
    view.apply(log(5, loss=0.9))  # out of order: placed by step
    view.apply(log(10, loss=0.4))  # a re-emitted step: the later value wins
    view.apply(log(None, loss=0.01))  # no step: dropped, not a dip
    assert [(p.step, p.loss, p.eval_loss) for p in view.chart_points()] == [
        (5, 0.9, None),
        (10, 0.4, 0.7),
    ]


def test_only_an_ending_newer_than_the_watch_minus_5s_is_news():
    since = T0 + timedelta(hours=1)
    view = JobView("j1")
    view.apply_job(job("running"))
    assert not view.ending_is_news(since)  # not over
    view.apply(ev("training.completed", timestamp=ts(3600 - 4)))  # 4 s before: news
    assert view.ending_is_news(since)
    old = JobView("j1")
    old.apply_job(job("completed"))
    old.apply(ev("training.completed", timestamp=ts(3600 - 6)))  # 6 s before: replayed
    assert not old.ending_is_news(since)
    # A cancelled job has no terminal event: the poll's completedAt decides...
    cancelled = JobView("j1")
    cancelled.apply_job(job("running"))
    cancelled.apply_job(job("cancelled", completed_at=T0))
    assert not cancelled.ending_is_news(since)
    cancelled.apply_job(job("cancelled", completed_at=since))
    assert cancelled.ending_is_news(since)
    # ...and without any time, whether the first poll already saw it over.
    seen_over = JobView("j1")
    seen_over.apply_job(job("cancelled"))
    assert not seen_over.ending_is_news(since)
    untimed = JobView("j1")
    untimed.apply_job(job("running"))
    untimed.apply(ev("training.failed", error="x"))
    assert untimed.ending_is_news(since)
