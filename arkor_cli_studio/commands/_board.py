"""`jobs --follow` on a terminal: the interactive board.

Three kinds of threads feed one `board.Board` under one lock: the poller
(the jobs list every --interval seconds), the keys (`keys.read_keys`), and
at most `MAX_STREAMS` event streams, one per running job on screen, that
give the Progress and Loss columns (opened when a running job scrolls into
view, closed when it leaves). The main thread only waits for a change, then
redraws, at most ~10 times a second. Enter hands the terminal to the job's
live `watch` view and takes it back when that view is left.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from arkor_cli_studio.board import Board, Live
from arkor_cli_studio.errors import ArkorStudioError

if TYPE_CHECKING:
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.model import Job
    from arkor_cli_studio.render.console import Console

MAX_STREAMS = 6
FRAME_INTERVAL = 0.1


class _Streams:
    """The event streams of the running jobs on screen (a thread and a
    connection each, `MAX_STREAMS` at most)."""

    def __init__(
        self, settings: Settings, board: Board, lock: threading.Lock, changed: Callable[[], None]
    ) -> None:
        self.settings = settings
        self.board = board
        self.lock = lock
        self.changed = changed
        self.open: dict[str, tuple[threading.Event, list[Backend]]] = {}

    def want(self, jobs: list[Job]) -> None:
        """Follow exactly these jobs' streams (the first `MAX_STREAMS`)."""
        wanted = {job.id: job for job in jobs[:MAX_STREAMS]}
        for job_id in list(self.open):
            if job_id not in wanted:
                self._close(job_id)
        for job_id, job in wanted.items():
            if job_id not in self.open:
                stop = threading.Event()
                holder: list[Backend] = []
                self.open[job_id] = (stop, holder)
                threading.Thread(
                    target=self._follow,
                    args=(job, stop, holder),
                    daemon=True,
                    name=f"board-{job_id}",
                ).start()

    def close_all(self) -> None:
        for job_id in list(self.open):
            self._close(job_id)

    def _close(self, job_id: str) -> None:
        stop, holder = self.open.pop(job_id)
        stop.set()
        for backend in holder:
            try:
                backend.close()  # ends a read that is waiting for the server
            except Exception:  # closing is best effort
                pass

    def _follow(self, job: Job, stop: threading.Event, holder: list[Backend]) -> None:
        from arkor_cli_studio import progress
        from arkor_cli_studio.cloud import connect
        from arkor_cli_studio.cloud.events import StreamOptions, follow_events
        from arkor_cli_studio.model import LOG, Event

        def pause(seconds: float) -> None:
            if stop.wait(seconds):
                raise _Closed

        try:
            backend = connect(self.settings)
            holder.append(backend)
            if stop.is_set():
                return
            live = Live()
            total = progress.total_of(job.config, epoch_seen=False)
            if total is not None and total.kind == "steps":
                live.total = total.value
            with self.lock:
                self.board.live[job.id] = live
            last_draw = 0.0
            options = StreamOptions(max_retries=None, sleep=pause)
            for item in follow_events(backend, job.id, options):
                if stop.is_set():
                    return
                if not isinstance(item, Event) or item.name != LOG:
                    continue
                with self.lock:
                    if item.step is not None:
                        live.step = item.step
                    if item.loss is not None:
                        live.losses.append(item.loss)
                now = time.monotonic()
                if now - last_draw >= FRAME_INTERVAL:  # a replay: one redraw, not thousands
                    last_draw = now
                    self.changed()
            self.changed()
        except (_Closed, ArkorStudioError):
            return
        except Exception:  # a closed connection mid-read, etc.
            return
        finally:
            for backend in holder:
                try:
                    backend.close()
                except Exception:  # best effort
                    pass


class _Closed(Exception):
    pass


class BoardApp:
    """The board until `q` (`run` returns) or Ctrl-C (KeyboardInterrupt)."""

    def __init__(
        self,
        backend: Backend,
        settings: Settings,
        console: Console,
        select: Callable[[list[Job]], list[Job]],
        interval: float,
        open_job: Callable[[str], None],
    ) -> None:
        self.backend = backend
        self.console = console
        self.select = select
        self.interval = interval
        self.open_job = open_job
        self.board = Board()
        self.lock = threading.Lock()  # the board and the poll's outcome
        self.wake = threading.Event()  # something to draw or a key to take
        self.keys: queue.Queue[str] = queue.Queue()
        self.error: str | None = None
        self.loaded = False
        self.stopping = threading.Event()
        self.poll_now = threading.Event()
        self.streams = _Streams(settings, self.board, self.lock, self.wake.set)

    def run(self) -> None:
        threading.Thread(target=self._poll, daemon=True, name="board-poll").start()
        try:
            while True:
                action, job_id = self._screen()
                if action == "quit":
                    return
                if job_id is None:
                    continue
                if action == "open":
                    self.streams.close_all()
                    self.open_job(job_id)  # the job's live view, until it is left
                elif action == "cancel":
                    self._cancel(job_id)
                self.poll_now.set()
        finally:
            self.stopping.set()
            self.poll_now.set()
            self.streams.close_all()

    def _poll(self) -> None:
        from arkor_cli_studio.polling import polls

        # Any error is shown, never fatal to the board; `poll_now` cuts the wait short.
        every = polls(
            self.backend.list_jobs, self.select, self.interval, wait=self._wait, tolerate=Exception
        )
        for poll in every:
            with self.lock:
                self.error = poll.error
                if poll.jobs is not None:
                    self.board.update(poll.jobs)
                    self.loaded = True
            self.wake.set()

    def _wait(self, interval: float) -> bool:
        """Until the next poll is due (or wanted now); False once the board is left."""
        self.poll_now.wait(interval)
        self.poll_now.clear()
        return not self.stopping.is_set()

    def _on_key(self, key: str) -> None:
        self.keys.put(key)
        self.wake.set()

    def _screen(self) -> tuple[str, str | None]:
        """Draw and take keys until an action needs the terminal or the network."""
        from arkor_cli_studio.keys import read_keys
        from arkor_cli_studio.render.live import live_screen

        last = 0.0
        self.wake.set()
        with read_keys(self._on_key), live_screen(self.console, screen=True) as draw:
            while True:
                self.wake.wait(1.0)  # a key, a poll, a stream, or the clock's next second
                self.wake.clear()
                pause = FRAME_INTERVAL - (time.monotonic() - last)
                if pause > 0:
                    time.sleep(pause)  # at most ~10 frames a second; keys queue meanwhile
                last = time.monotonic()
                acted = self._frame(draw)
                if acted is not None:
                    return acted

    def _frame(self, draw: Callable[[Any], None]) -> tuple[str, str | None] | None:
        """Take the keys typed since the last frame, then draw one."""
        from arkor_cli_studio.render.board import CHROME, board_view

        now = datetime.now(UTC)
        width, height = self.console.size
        with self.lock:
            while not self.keys.empty():
                action = self.board.key(self.keys.get_nowait(), now, page=max(1, height - CHROME))
                if action is not None:
                    job = self.board.selected_job(now)
                    return action, job.id if job is not None else None
            everything = self.board.rows(now)  # filtered and sorted once a frame
            room = max(1, height - CHROME - (1 if self.error else 0))
            rows, _ = self.board.window(now, room, everything)
            self.streams.want([j for j in rows if j.status == "running"])
            frame = board_view(
                self.board,
                now,
                width,
                height,
                loaded=self.loaded,
                error=self.error,
                rows=everything,
            )
        draw(frame)
        return None

    def _cancel(self, job_id: str) -> None:
        from arkor_cli_studio.textsafe import clean_line

        try:
            self.backend.cancel(job_id)
        except ArkorStudioError as error:
            message = f"Could not cancel {clean_line(job_id)}: {clean_line(error.message)}"
        else:
            message = f"Cancel requested for {clean_line(job_id)}."
        with self.lock:
            self.board.message = message


def watch_from_board(settings: Settings, job_id: str) -> None:
    """The job's live view, as `watch JOB_ID` draws it, until Esc or q (or
    the job's end). Its own connection, closed on the way out, so the stream
    it was reading ends with it."""
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.keys import ESC
    from arkor_cli_studio.session.engine import WatchSession
    from arkor_cli_studio.session.live import LiveSink
    from arkor_cli_studio.watching import JobView

    sink = LiveSink(no_color=settings.no_color, leave_keys=frozenset({ESC, "q", "Q"}))
    with connect(settings) as backend:
        WatchSession(backend, JobView(job_id), sink, max_retries=None).run()
