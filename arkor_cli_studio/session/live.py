"""`LiveSink`: the live frame on a terminal (rich), redrawn on change."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from arkor_cli_studio.session.sinks import Sink

if TYPE_CHECKING:
    from arkor_cli_studio.model import Event
    from arkor_cli_studio.render.console import Console
    from arkor_cli_studio.render.watch import Advanced

FRAME_INTERVAL: Final = 0.1  # at most ~10 frames a second
TICK: Final = 1.0  # timers tick once a second


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
    ) -> None:
        """`console` to draw on (default: a new one on stdout), `reserve_rows`
        left free above the frame, `before_draw()` called on the drawing
        thread before every frame (it may print above the Live region),
        `advanced`: the statistics panel shown; `keys`: read keys (the `a`
        toggle) from a terminal stdin; off when stdin belongs to someone else
        (`train --watch`'s child)."""
        from arkor_cli_studio.keys import available

        self.console = console
        self.no_color = no_color
        self.reserve_rows = reserve_rows
        self.before_draw = before_draw
        self.advanced = advanced  # shown now (the key toggles it)
        self.keys = keys and available()
        self.needs_stats = advanced or self.keys  # the `a` key may show them

    def events(self, events: list[Event]) -> None:
        changed = self.session.changed
        if not changed.is_set():  # (set() takes a lock: once per batch at most)
            changed.set()

    def run(self) -> None:  # (one loop: wait, coalesce, draw; ~50 lines)
        from arkor_cli_studio.keys import read_keys
        from arkor_cli_studio.render.console import make_console
        from arkor_cli_studio.render.live import live_screen
        from arkor_cli_studio.render.watch import watch_frame

        session = self.session
        view, lock, changed, done = session.view, session.lock, session.changed, session.done
        console = self.console or make_console(no_color=self.no_color)
        drawn_version = -1
        drawn_at = 0.0
        drawn_advanced = self.advanced
        key_reader = read_keys(self._key) if self.keys else contextlib.nullcontext(False)
        with key_reader as keys, live_screen(console) as draw:
            while True:
                finished = done.is_set()
                if not finished:
                    # Wake on change or at the next tick, then coalesce to ~10 fps.
                    changed.wait(max(0.0, drawn_at + TICK - time.monotonic()))
                    time.sleep(max(0.0, drawn_at + FRAME_INTERVAL - time.monotonic()))
                    changed.clear()
                    finished = done.is_set()
                if finished and session.failure is None:
                    session.finish()
                if self.before_draw is not None:
                    self.before_draw()
                shown = self.advanced
                advanced = self._advanced_stats(finished) if shown else None
                with lock:
                    version = view.version
                    due = (
                        version != drawn_version
                        or time.monotonic() >= drawn_at + TICK
                        or shown != drawn_advanced
                    )
                    if due or finished:
                        height, width = console.size.height, console.size.width
                        height = max(1, height - self.reserve_rows)
                        frame = watch_frame(
                            view,
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

        stats = self.session.stats
        if stats is None:
            return None
        loss, eval_loss = stats.summaries(fresh=finished)
        return Advanced(loss, eval_loss, so_far=not finished)

    def _key(self, key: str) -> None:
        """A key typed in the live view (on the key thread)."""
        from arkor_cli_studio.render.watch import ADVANCED_KEY

        if key in (ADVANCED_KEY, ADVANCED_KEY.upper()) and self.session.stats is not None:
            self.advanced = not self.advanced
            self.session.changed.set()
