"""`AlertGuard`: the alert rules on a running `WatchSession`.

The rules (`alerts.AlertWatch`, pure) see every event on the stream thread,
under the view lock, as a hook; a small thread ticks them once a second
(`stall`) and tells them the job's status and whether the stream is up,
read from the view. Each alert goes to the sink (`Sink.alert`: a line, a
record, an annotation; in turn with the events), to the view (the live
banner), and, with `--on-alert notify`, to a desktop notification (on the
guard's thread: a notifier may take seconds). `exit` and `cancel` end the
watch once the batch that fired is written; `cancel` sends its one request
on the main thread after the watch (`finish()`), then the exit code is 6.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from arkor_cli_studio.errors import ArkorStudioError, ExitCode

if TYPE_CHECKING:
    from arkor_cli_studio.alert_config import AlertSettings
    from arkor_cli_studio.alerts import Alert, Rule
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.model import Event
    from arkor_cli_studio.session.engine import WatchSession

TICK: Final = 1.0  # the stall clock is read once a second


class AlertGuard:
    def __init__(
        self,
        session: WatchSession,
        rules: Sequence[Rule],
        action: str,
        *,
        notify: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`action`: notify, exit or cancel (`--on-alert`); `notify`: desktop
        notifications are on (a terminal, or `--notify`)."""
        from arkor_cli_studio.alerts import AlertWatch

        self.session = session
        self.watch = AlertWatch(rules, clock)
        self.action = action
        self.notify = notify
        self.acting: Alert | None = None  # the alert that ended the watch
        self.cancelled = False
        self._notifications: deque[Alert] = deque(maxlen=10)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._interrupted = False
        self._shown: tuple[Alert | None, bool] = (None, False)  # the banner's
        session.add_hook(self._event)

    # ---- the stream thread (lock held) -------------------------------------

    def _event(self, event: Event) -> None:
        watch = self.watch
        fired = watch.observe(event)
        if fired:
            for alert in fired:
                self._show(alert)
        if watch.fired:
            self._banner()

    def _show(self, alert: Alert) -> None:
        """One alert fired (lock held): the sink, the banner, the action."""
        session = self.session
        session.alert(alert)
        if self.acting is not None:
            return
        if self.action == "notify":
            if self.notify:
                self._notifications.append(alert)
                self._wake.set()
            return
        # exit / cancel: the first alert ends the watch (from the stream
        # thread, the batch's lines, this alert's included, are written first).
        self.acting = alert
        session.end(ExitCode.ALERT)

    def _banner(self) -> None:
        """The live banner follows the last alert and whether it still holds."""
        latest = self.watch.latest
        shown = self._shown
        if latest[0] is not shown[0] or latest[1] != shown[1]:
            self._shown = latest
            alert, holding = latest
            if alert is not None:
                self.session.view.apply_alert(alert.line(), holding)
                self.session.changed.set()

    # ---- the guard's thread ---------------------------------------------------

    def start(self) -> None:
        """The guard's thread, when there is work for it: a timed rule to
        tick, or desktop notifications to send."""
        if self.watch.timed or (self.notify and self.action == "notify"):
            self._thread = threading.Thread(target=self._run, name="watch-alerts", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def _run(self) -> None:
        session = self.session
        stop, lock, view = session.stop, session.lock, session.view
        next_tick = time.monotonic() + TICK
        while not stop.is_set():
            self._wake.wait(max(0.0, next_tick - time.monotonic()))
            self._wake.clear()
            if stop.is_set():
                break
            if time.monotonic() >= next_tick:
                next_tick += TICK
                fired: list[Alert] = []
                try:
                    with lock:
                        interrupted = view.interrupted is not None
                        if interrupted != self._interrupted:
                            self._interrupted = interrupted
                            self.watch.notice("interrupted" if interrupted else "resumed")
                        self.watch.status(view.status)
                        fired = self.watch.tick()
                        for alert in fired:
                            self._show(alert)
                        if self.watch.fired:
                            self._banner()
                except Exception:  # (the stopping session closed the sink's stream)
                    return
                if fired and self.acting is not None:
                    return
            self._send_notifications()

    def _send_notifications(self) -> None:
        from arkor_cli_studio.notify import desktop_notify

        while self._notifications:
            alert = self._notifications.popleft()
            desktop_notify(f"⚠ {self.session.view.display_name}", alert.line(), critical=True)

    # ---- after the watch (main thread) ---------------------------------------------

    def notify_acted(self) -> None:
        """The desktop notification at the end of a watch an alert ended."""
        from arkor_cli_studio.notify import desktop_notify, set_terminal_title

        alert = self.acting
        if alert is None:
            return
        name = self.session.view.display_name
        set_terminal_title(f"⚠ {name}")
        what = "The job was cancelled." if self.action == "cancel" else "Stopped watching."
        desktop_notify(f"⚠ {name}", f"{alert.line()} {what}", critical=True)

    def finish(self, backend: Backend, job_id: str) -> None:
        """`--on-alert cancel`: the one cancel request. A failed request is
        the watch's error (its own exit code: the job may still be running)."""
        from arkor_cli_studio.output import say
        from arkor_cli_studio.textsafe import clean_line

        alert = self.acting
        if alert is None:
            return
        if self.action == "cancel" and not self.cancelled:
            self.cancelled = True
            try:
                backend.cancel(job_id)
            except ArkorStudioError as error:
                failure = ArkorStudioError(
                    f"{alert.line()}: the job could not be cancelled: {error.message}",
                    hint=error.hint,
                )
                failure.exit_code = error.exit_code
                raise failure from None
            what = f"cancelled job {clean_line(job_id)}"
        else:
            what = "stopped watching (the job goes on)"
        say(f"{alert.line()}: {what}.")


def rules_of(settings: Settings, alerts: AlertSettings | None, job_id: str) -> list[Rule]:
    """The rules to run (none: no guard); `--on-alert cancel` is refused in
    Studio mode here, before anything is sent (Studio has no cancel route)."""
    if alerts is None or not alerts.rules:
        return []
    from arkor_cli_studio.alert_config import parse_rules

    rules = parse_rules(alerts.rules)
    if rules and alerts.action == "cancel":
        from arkor_cli_studio.cloud import refuse_unsupported

        refuse_unsupported(settings, "cancel", job_id)
    return rules


@contextmanager
def guarding(guard: AlertGuard | None) -> Iterator[None]:
    """The guard's thread while the session runs."""
    if guard is None:
        yield
        return
    guard.start()
    try:
        yield
    finally:
        guard.stop()
