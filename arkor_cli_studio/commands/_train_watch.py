"""`train --watch`: find `Started job <id>` in arkor start's output, then follow that job.

The watch is a guest of the run: it starts when the id appears, never
changes what arkor printed on a pipe, never changes the exit status, and
a watch that can't connect (or fails later) is one line on stderr while
the run goes on. On a terminal (stdout), the live `watch` view is drawn
and arkor's output is printed above it (`render.passthrough`); otherwise
arkor's bytes go to stdout untouched and the watch's plain lines to stderr.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from arkor_cli_studio.errors import ArkorStudioError
from arkor_cli_studio.start_output import StartedJobScanner

if TYPE_CHECKING:
    from arkor_cli_studio.alert_config import AlertSettings
    from arkor_cli_studio.alerts import Rule
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.render.passthrough import TerminalPassthrough
    from arkor_cli_studio.session.alerts import AlertGuard
    from arkor_cli_studio.session.engine import WatchSession
    from arkor_cli_studio.session.reports import EndReport
    from arkor_cli_studio.session.sinks import Sink


class TrainAlerts:
    """`train --watch`'s alert rules (checked before arkor start runs) and,
    at the end, what an alert did (`acted`: None when none acted)."""

    def __init__(self, settings: Settings, alerts: AlertSettings) -> None:
        from arkor_cli_studio.session.alerts import rules_of

        self.action = alerts.action
        self.rules: list[Rule] = rules_of(settings, alerts, "JOB_ID")
        self.acted: str | None = None


class TrainWatch:
    def __init__(
        self,
        settings: Settings,
        *,
        live: bool,
        backend: Backend | None = None,
        alerts: TrainAlerts | None = None,
    ) -> None:
        """`live`: draw the live view (stdout is a terminal). `backend`: share
        this one (Studio mode) instead of connecting when the id appears.
        `alerts`: the rules to run on the job's events; `--on-alert exit` or
        `cancel` stops arkor start as SIGTERM does (after cancelling the job)."""
        self.settings = settings
        self.alerts = alerts
        self.live = live
        self.backend = backend
        self.scanner = StartedJobScanner()
        self.sink: TerminalPassthrough | None = None
        if live:
            from arkor_cli_studio.render.console import make_console
            from arkor_cli_studio.render.passthrough import TerminalPassthrough

            self.sink = TerminalPassthrough(make_console(no_color=settings.no_color))
        self.job_id: str | None = None
        self.status: str | None = None
        self.problem: str | None = None
        self._lock = threading.Lock()
        self._session: WatchSession | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    # ---- feeding arkor's output -----------------------------------------------

    def stdout_feed(self, fd: int = 1) -> Callable[[bytes], bool]:
        """The callback for arkor's stdout (it searches for the job id).

        Not live: the bytes are already written; True once the id is found
        (the rest needs no look). Live: this writes them (raw, or above the view).
        """
        write = self.sink.stream(fd) if self.sink is not None else None

        def feed(chunk: bytes) -> bool:
            if write is not None:
                write(chunk)
            if self.scanner.job_id is None:
                found = self.scanner.feed(chunk)
                if found is not None:
                    self._start(found)
            return write is None and self.scanner.job_id is not None

        return feed

    def peek(self, held: bytes) -> None:
        """Bytes not written yet (Studio holds back a newline that might start
        its trailer): enough to see that the `Started job` line has ended."""
        if self.scanner.job_id is None and held:
            found = self.scanner.feed(held)
            if found is not None:
                self._start(found)

    def stderr_feed(self, fd: int = 2) -> Callable[[bytes], None] | None:
        """Live only: arkor's stderr also goes above the view (None otherwise)."""
        return self.sink.stream(fd) if self.sink is not None else None

    # ---- the watch ----------------------------------------------------------------

    def _start(self, job_id: str) -> None:
        self.job_id = job_id
        with self._lock:
            if self._stopping:
                return
            self._thread = threading.Thread(
                target=self._run, args=(job_id,), name="train-watch", daemon=True
            )
            self._thread.start()

    def _run(self, job_id: str) -> None:
        from arkor_cli_studio.cloud import connect
        from arkor_cli_studio.config import env_float
        from arkor_cli_studio.model import validate_job_id
        from arkor_cli_studio.session.alerts import guarding
        from arkor_cli_studio.session.engine import WatchSession
        from arkor_cli_studio.watching import JobView

        passthrough = self.sink
        try:
            validate_job_id(job_id)
            backend = self.backend if self.backend is not None else connect(self.settings)
            try:
                sink = self._watch_sink()
                session = WatchSession(
                    backend,
                    JobView(job_id),
                    sink,
                    retry_scale=env_float(self.settings.env, "ARKOR_STUDIO_RETRY_SCALE", 1.0),
                )
                report = self._github_report(session, sink)
                with self._lock:
                    self._session = session
                    if self._stopping:
                        session.end()
                guard = self._guard(session)
                if passthrough is not None:
                    passthrough.go_live(session.changed.set)
                try:
                    with guarding(guard):
                        self.status = session.run()
                finally:
                    if passthrough is not None:
                        passthrough.go_raw()
                if report is not None:  # the job summary, as `watch` writes it
                    report.write(report.outcome(None, session.exit_code or 0))
                if guard is not None and guard.acting is not None:
                    self._act(guard, backend, job_id)
            finally:
                if backend is not self.backend:
                    backend.close()
        except ArkorStudioError as exc:
            self.problem = exc.message
        except Exception as exc:  # the run goes on whatever happens to the watch
            self.problem = f"{type(exc).__name__}: {exc}"

    def _github(self) -> bool:
        from arkor_cli_studio.github import detect_ci

        return self.sink is None and detect_ci(self.settings.env) == "github"

    def _github_report(self, session: WatchSession, sink: Sink) -> EndReport | None:
        """Under GitHub Actions: the job summary to $GITHUB_STEP_SUMMARY at the end."""
        from arkor_cli_studio.session.reports import GitHubSink

        if not isinstance(sink, GitHubSink):
            return None
        from arkor_cli_studio.session.reports import EndReport, ReportOptions

        report = EndReport(ReportOptions(github=True), self.settings.env)
        report.attach(session)
        return report

    def _guard(self, session: WatchSession) -> AlertGuard | None:
        from arkor_cli_studio.session.alerts import AlertGuard

        alerts = self.alerts
        if alerts is None or not alerts.rules:
            return None
        return AlertGuard(session, alerts.rules, alerts.action, notify=self.live)

    def _act(self, guard: AlertGuard, backend: Backend, job_id: str) -> None:
        """An alert ended the watch (`exit` / `cancel`): cancel the job (once),
        then stop arkor start the way SIGTERM does, unless it has ended."""
        import os
        import signal

        from arkor_cli_studio.textsafe import clean_line

        assert self.alerts is not None and guard.acting is not None
        line = guard.acting.line()
        if self.alerts.action == "cancel":
            try:
                backend.cancel(job_id)
            except ArkorStudioError as error:
                self.problem = f"{line}: the job could not be cancelled: {error.message}"
                return
            self.alerts.acted = f"{line}: cancelled job {clean_line(job_id)}, stopped arkor start"
        else:
            self.alerts.acted = f"{line}: stopped arkor start (the job goes on)"
        with self._lock:
            if self._stopping:
                return  # arkor start is over already
        os.kill(os.getpid(), signal.SIGTERM)  # train's own way to stop arkor start

    def _watch_sink(self) -> Sink:
        """Live above arkor's output on a terminal, else plain lines on stderr
        (under GitHub Actions, its groups and annotations, on stderr too)."""
        passthrough = self.sink
        if self._github():
            from arkor_cli_studio.session.reports import GitHubSink

            return GitHubSink(out=sys.stderr, no_color=self.settings.no_color)
        if passthrough is None:
            from arkor_cli_studio.session.sinks import PlainSink

            return PlainSink(out=sys.stderr, no_color=self.settings.no_color)
        from arkor_cli_studio.session.live import LiveSink

        return LiveSink(
            console=passthrough.console,
            no_color=self.settings.no_color,
            reserve_rows=_reserve(passthrough),
            before_draw=passthrough.drain,
            keys=False,  # stdin is arkor start's
        )

    def finish(self, drain: float) -> None:
        """arkor start is over: give the stream `drain` seconds to reach its
        end (the job's last events trail arkor's last line), then stop."""
        thread = self._thread
        if thread is not None and drain > 0:
            thread.join(drain)
        with self._lock:
            self._stopping = True
            session = self._session
        if session is not None:
            session.end()
        if thread is not None:
            thread.join(15)  # the last frame or summary (and one last poll) come first

    def report(self, *, interrupted: bool) -> None:
        """One line when the watch did not see the job to its end."""
        from arkor_cli_studio.output import say

        if interrupted:
            return  # the user stopped it all: no advice
        if self.job_id is None:
            say(
                "--watch: arkor start printed no `Started job <id>` line; "
                "there was no job to follow."
            )
            return
        job = self.job_id
        if self.problem is not None:
            say(
                f"--watch stopped following {job}: {self.problem} "
                f"(arkor start was not affected). Follow it with: arkor-studio watch {job}"
            )
        elif self.status not in _terminal_statuses():
            what = f"still {self.status}" if self.status else "not finished"
            say(
                f"job {job} is {what}; arkor start has ended, so train stops "
                f"watching. Follow it with: arkor-studio watch {job}"
            )


def _reserve(sink: TerminalPassthrough | None) -> int:
    """Rows left above the live frame for arkor's latest lines."""
    if sink is None:
        return 0
    return min(10, max(0, sink.console.size.height // 3))


def _terminal_statuses() -> frozenset[str]:
    from arkor_cli_studio.model import TERMINAL_STATUSES  # (train without --watch needs no model)

    return TERMINAL_STATUSES
