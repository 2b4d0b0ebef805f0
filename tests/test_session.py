"""The watch engine as a library: a new sink, a hook that sees every event and
ends the watch with its own code, a notice from any component. Against the
simulator, through the real client (no mocks of our own code)."""

from __future__ import annotations

import threading

from arkor_cli_studio.cloud.client import Backend
from arkor_cli_studio.errors import ExitCode
from arkor_cli_studio.model import LOG, Event, Scope, StreamNotice
from arkor_cli_studio.session.engine import WatchSession
from arkor_cli_studio.session.sinks import Sink
from arkor_cli_studio.watching import JobView
from tests.helpers import TOKEN
from tests.test_watch import lifecycle


class Recorder(Sink):
    """A sink written the way docs/ARCHITECTURE.md says: only what it needs."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.notices: list[StreamNotice] = []
        self.finished: str | None = None
        self.threads: set[str] = set()

    def events(self, events: list[Event]) -> None:
        self.threads.add(threading.current_thread().name)
        self.seen.extend(event.name for event in events)

    def notice(self, notice: StreamNotice) -> None:
        self.notices.append(notice)

    def finish(self, status: str) -> None:
        self.finished = status


def backend(sim) -> Backend:
    return Backend(sim.url, token=TOKEN, scope=Scope("acme", "demo"), read_timeout=10)


def test_a_new_sink_gets_every_event_and_the_end(sim):
    lifecycle(sim, steps=5)
    sink = Recorder()
    with backend(sim) as client:
        session = WatchSession(client, JobView("j1"), sink)
        assert session.run() == "completed"
    assert sink.seen[0] == "training.started" and sink.seen.count(LOG) == 5
    assert sink.seen[-2:] == ["training.completed", "end"]
    assert sink.finished == "completed" and session.exit_code == ExitCode.OK
    assert sink.threads == {"watch-stream"}


def test_a_hook_sees_each_applied_event_and_ends_the_watch_with_its_code(sim):
    lifecycle(sim, steps=10)
    sink = Recorder()
    steps: list[float | None] = []
    with backend(sim) as client:
        session = WatchSession(client, JobView("j1"), sink)

        def alert(event: Event) -> None:
            if event.name == LOG:
                steps.append(session.view.step)  # the view as this event left it
                if event.step == 3:
                    session.notice(StreamNotice("alert", "loss went up"))
                    session.end(ExitCode.ALERT)

        session.add_hook(alert)
        status = session.run()
    assert steps == [1, 2, 3]  # nothing applied after the end
    # The job's own outcome (polled once more at the end) does not decide the code.
    assert status == "completed" and session.exit_code == ExitCode.ALERT
    assert [n.reason for n in sink.notices] == ["loss went up"]
    assert sink.finished == "completed"


def test_an_unfinished_stream_has_no_exit_code_of_its_own(sim):
    # `end` while the job still runs is resumed (arkor's session timeout), so
    # a watch stopped from outside before any outcome is the unfinished one.
    lifecycle(sim, steps=2, finish=False)
    with backend(sim) as client:
        session = WatchSession(client, JobView("j1"), Recorder())

        def stop_after_the_history(event: Event) -> None:
            if event.name == LOG and event.step == 2:
                session.end()

        session.add_hook(stop_after_the_history)
        assert session.run() == "running"
    assert session.exit_code is None


def test_a_notice_of_another_kind_is_printed_in_its_own_words():
    from datetime import UTC, datetime

    from arkor_cli_studio.render.lines import plain_notice_line

    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    line = plain_notice_line(StreamNotice("alert", "loss\x1b[31m rose"), when, UTC)
    assert line == "2026-03-01 12:00:00  alert: loss rose"  # cleaned, as server text


def test_events_hash_by_name_and_id_and_equal_events_hash_alike():
    from arkor_cli_studio.model import parse_event

    one = parse_event("training.log", "7", '{"step": 1, "loss": 0.5}')
    same = parse_event("training.log", "7", '{"loss": 0.5, "step": 1}')
    assert one == same and hash(one) == hash(same)  # it raised TypeError (a dict in the hash)
    assert len({one, same, parse_event("training.log", "8", "{}")}) == 2
