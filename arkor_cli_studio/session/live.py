"""`LiveSink`: the live frame on a terminal (rich), redrawn on change."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from arkor_cli_studio.session.sinks import Sink

if TYPE_CHECKING:
    from arkor_cli_studio.alerts import Alert
    from arkor_cli_studio.model import Event
    from arkor_cli_studio.render.advanced import Advanced
    from arkor_cli_studio.render.console import Console

FRAME_INTERVAL: Final = 0.1  # at most ~10 frames a second
TICK: Final = 1.0  # timers tick once a second
#: `before_draw` (arkor's lines above the view, `train --watch`) runs this often
#: while the frame waits for its turn: a line waits ~10 ms, not a frame's 100.
LINES_INTERVAL: Final = 0.01


class LiveSink(Sink):
    """The main thread draws the frame when the view changed, at most ~10
    times a second, plus a 1 Hz tick for the timers; notices show as the
    frame's banner (the view holds them)."""

    def __init__(
        self,
        *,
        console: Console | None = None,
        no_color: bool = False,
        reserve_rows: int = 0,
        before_draw: Callable[[], None] | None = None,
        advanced: bool = False,
        keys: bool = True,
        last: int | None = None,
        leave_keys: frozenset[str] = frozenset(),
    ) -> None:
        """`console` to draw on (default: a new one on stdout), `reserve_rows`
        left free above the frame, `before_draw()` called on the drawing
        thread before every frame (it may print above the Live region),
        `advanced`: the statistics panel shown (`last`: over the chart's last
        N points, as Studio's cards, instead of the whole run); `keys`: read
        keys (the `a` toggle, the chart cursor) from a terminal stdin; off
        when stdin belongs to someone else (`train --watch`'s child);
        `leave_keys`: keys that end the view, the job still running (the
        board's Esc and q: back to the board; Esc first puts a chart cursor
        away, when one is shown)."""
        from arkor_cli_studio.keys import available

        self.console = console
        self.no_color = no_color
        self.reserve_rows = reserve_rows
        self.before_draw = before_draw
        self.advanced = advanced  # shown now (the key toggles it)
        self.last = last
        self.cursor: float | None = None  # the chart cursor's step (None: the latest)
        self.width = 80  # the console's, for the cursor's steps
        self.keys = keys and available()
        self.leave_keys = leave_keys
        self.needs_stats = advanced or self.keys  # the `a` key may show them

    def alert(self, alert: Alert) -> None:
        """Nothing to print: the banner is the view's (`JobView.apply_alert`)."""

    def events(self, events: list[Event]) -> None:
        changed = self.session.changed
        if not changed.is_set():  # (set() takes a lock: once per batch at most)
            changed.set()

    # Long on purpose: one loop (wait, coalesce, draw) whose timing reads as one.
    def run(self) -> None:
        from arkor_cli_studio.keys import read_keys
        from arkor_cli_studio.render.console import make_console
        from arkor_cli_studio.render.live import live_screen
        from arkor_cli_studio.render.watch import watch_frame

        session = self.session
        view, lock, changed, done = session.view, session.lock, session.changed, session.done
        console = self.console or make_console(no_color=self.no_color)
        drawn_version = -1
        drawn_at = drained_at = 0.0
        drawn_advanced = self.advanced
        drawn_cursor = self.cursor
        key_reader = read_keys(self._key) if self.keys else contextlib.nullcontext(False)
        with key_reader as keys, live_screen(console) as draw:
            while True:
                finished = done.is_set()
                if not finished:
                    # Wake on change or at the next tick, then coalesce to ~10 fps.
                    changed.wait(max(0.0, drawn_at + TICK - time.monotonic()))
                    if self.before_draw is None:
                        time.sleep(max(0.0, drawn_at + FRAME_INTERVAL - time.monotonic()))
                    else:  # lines above the view go out every LINES_INTERVAL meanwhile
                        while True:
                            time.sleep(max(0.0, drained_at + LINES_INTERVAL - time.monotonic()))
                            self.before_draw()
                            drained_at = time.monotonic()
                            if drained_at + LINES_INTERVAL > drawn_at + FRAME_INTERVAL:
                                break
                        time.sleep(max(0.0, drawn_at + FRAME_INTERVAL - time.monotonic()))
                    changed.clear()
                    finished = done.is_set()
                if finished and session.failure is None:
                    session.finish()
                began = time.monotonic()  # frames are paced by their starts
                if self.before_draw is not None:
                    self.before_draw()
                shown = self.advanced
                cursor = self.cursor
                advanced = self._advanced_stats(finished) if shown else None
                with lock:
                    version = view.version
                    due = (
                        version != drawn_version
                        or time.monotonic() >= drawn_at + TICK
                        or shown != drawn_advanced
                        or cursor != drawn_cursor
                    )
                    if due or finished:
                        height, width = console.size.height, console.size.width
                        height = max(1, height - self.reserve_rows)
                        self.width = width
                        frame = watch_frame(
                            view,
                            datetime.now(UTC),
                            width,
                            height,
                            advanced=advanced,
                            toggle=shown if keys else None,
                            cursor=cursor if keys else None,
                        )
                if due or finished:
                    draw(frame)
                    drawn_version, drawn_at, drawn_advanced = version, began, shown
                    drawn_cursor = cursor
                if finished:
                    return

    def _advanced_stats(self, finished: bool) -> Advanced | None:
        """The panel's numbers (outside the view lock: `LiveStats` has its own)."""
        from arkor_cli_studio.render.advanced import Advanced
        from arkor_cli_studio.session.sinks import advanced_numbers

        if self.session.stats is None:
            return None
        loss, eval_loss = advanced_numbers(self.session, self.last, fresh=finished)
        return Advanced(loss, eval_loss, so_far=not finished, last=self.last)

    def _key(self, key: str) -> None:
        """A key typed in the live view (on the key thread)."""
        from arkor_cli_studio.render.losschart import ADVANCED_KEY, CURSOR_KEYS, move_cursor

        session = self.session
        if key in self.leave_keys and not (key == "esc" and self.cursor is not None):
            session.end()
            return
        if key in (ADVANCED_KEY, ADVANCED_KEY.upper()) and session.stats is not None:
            self.advanced = not self.advanced
            session.changed.set()
        elif key in CURSOR_KEYS:
            with session.lock:
                points = session.view.chart_points()
            self.cursor = move_cursor(points, self.cursor, key, self.width)
            session.changed.set()
