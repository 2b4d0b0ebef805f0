"""The sinks and end-of-run reports for where a run is watched from.

Sinks (one output mode each, see `session.sinks`):
- `GitHubSink`: GitHub Actions' workflow commands (`github.GitHubReport`):
  per-event lines in a collapsible group per phase, a visible progress
  line per tenth, `::error` when training failed, `::warning` for a
  dropped stream or an alert.
- `AccessibleSink`: `--accessible`, sentences for a screen reader
  (`accessible.AccessibleLog`).
- `QuietSink`: `--quiet`, nothing until the end.

`EndReport` gathers what the end tells (a hook on every event, the loss
statistics) and, once the watch is over however it ended, writes the job
summary Markdown (`$GITHUB_STEP_SUMMARY`, `--summary-file`), the final
`{"event":"summary"}` record of `--json` and the webhook.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from arkor_cli_studio.progress import format_step
from arkor_cli_studio.session.sinks import LinesSink

if TYPE_CHECKING:
    from arkor_cli_studio.alerts import Alert
    from arkor_cli_studio.model import Event, StreamNotice
    from arkor_cli_studio.runfacts import Outcome, RunFacts
    from arkor_cli_studio.session.engine import WatchSession
    from arkor_cli_studio.session.sinks import Sink
    from arkor_cli_studio.stats import LiveStats
    from arkor_cli_studio.watching import JobView

#: The outcome and exit code of endings that are not the job's own.
ENDINGS = {
    "interrupted": 130,
    "terminated": 143,
}


def _now() -> datetime:
    return datetime.now(UTC)


class _LogSink(LinesSink):
    """A sink whose lines come from a log object (`GitHubReport`,
    `AccessibleLog`): its `begin(view)` lines first, in `run()`, then what
    its `event(view, event)` gives for each applied event, written once per
    batch. Subclasses make the log in `make_log()`."""

    def make_log(self) -> Any:
        raise NotImplementedError

    def attach(self, session: WatchSession) -> None:
        super().attach(session)
        log = self.make_log()
        self._lines_log = log
        view, pending = session.view, self.pending

        def applied(event: Event) -> None:
            pending.extend(log.event(view, event))

        self.applied = applied

    def events(self, events: list[Event]) -> None:
        if self.pending:
            self.pending.append("")
            text = "\n".join(self.pending)
            self.pending.clear()
            self.writer.write(text)

    def started(self) -> None:
        """(The first line is the log's `begin()`, in `run()`.)"""

    def run(self) -> None:
        with self.session.lock:
            lines = self._lines_log.begin(self.session.view)
        self.writer.write("\n".join([*lines, ""]))
        super().run()


class GitHubSink(_LogSink):
    """`--ci github` (auto under `GITHUB_ACTIONS=true`): the workflow commands."""

    def make_log(self) -> Any:
        from arkor_cli_studio.github import GitHubReport
        from arkor_cli_studio.render import lines as render

        self.report = GitHubReport(render.plain_event_line, render.plain_progress_line)
        return self.report

    def notice(self, notice: StreamNotice) -> None:
        from arkor_cli_studio.render.lines import plain_notice_line

        line = plain_notice_line(notice, _now())
        with self.session.lock:
            if notice.kind in ("interrupted", "resumed"):
                lines = self.report.notice(notice, line)
            else:  # an alert (its kind names it): an annotation
                title = f"Training alert ({notice.kind})" if notice.kind != "alert" else None
                lines = self.report.log.alert(notice.reason, title=title or "Training alert")
        self.writer.write("\n".join([*lines, ""]))
        self.writer.flush()

    def alert(self, alert: Alert) -> None:
        """An alert fired (view lock held): a `::warning` annotation, in turn."""
        at = f" at step {format_step(alert.step)}" if alert.step is not None else ""
        lines = self.report.log.alert(f"{alert.rule}{at}: {alert.message}", title="Training alert")
        if self.session.on_stream_thread():
            self.pending.extend(lines)
        else:
            self.writer.write("\n".join([*lines, ""]))

    def finish(self, status: str) -> None:
        from arkor_cli_studio.event_text import summary_line

        session = self.session
        with session.lock:
            view = session.view
            lines = self.report.finish(view, summary_line(view.display_name, view.summary(_now())))
        print("\n".join(lines), file=self.out, flush=True)
        if self.advanced:
            self._print_stats(self.out)

    def stream_lost(self, message: str) -> None:
        """The watch gave up on the stream: close the group, say so."""
        print("\n".join(self.report.log.stream_lost(message)), file=self.out, flush=True)


class AccessibleSink(_LogSink):
    """`--accessible`: whole sentences, no cursor movement (see `accessible`)."""

    def make_log(self) -> Any:
        from arkor_cli_studio.accessible import AccessibleLog

        self.log = AccessibleLog()
        return self.log

    def alert(self, alert: Alert) -> None:
        """An alert fired (view lock held): a sentence, in turn."""
        from arkor_cli_studio.textsafe import clean_line

        at = f" at step {format_step(alert.step)}" if alert.step is not None else ""
        line = clean_line(f"Alert{at}: {alert.message} (rule {alert.rule}).")
        if self.session.on_stream_thread():
            self.pending.append(line)
        else:
            self.writer.write(line + "\n")

    def notice(self, notice: StreamNotice) -> None:
        if notice.kind in ("interrupted", "resumed"):
            lines = self.log.notice(notice)
        else:
            from arkor_cli_studio.textsafe import clean_line

            lines = [f"Alert: {clean_line(notice.reason)}"]
        self.writer.write("\n".join([*lines, ""]))
        self.writer.flush()

    def finish(self, status: str) -> None:
        from arkor_cli_studio.event_text import summary_line

        session = self.session
        with session.lock:
            view = session.view
            lines = self.log.finish(view, summary_line(view.display_name, view.summary(_now())))
        print("\n".join(lines), file=self.out, flush=True)
        if self.advanced:
            self._print_stats(self.out)


class QuietSink(LinesSink):
    """`--quiet`: nothing until the end, then the summary line (with `--json`
    nothing at all: the final record is the one line)."""

    def __init__(self, *, as_json: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.as_json = as_json

    def alert(self, alert: Alert) -> None:
        """Quiet: nothing until the end (the exit code tells an alert that ended it)."""

    def started(self) -> None:
        """Quiet: no first line naming the job (the summary names it)."""

    def _warming(self, said_at: float | None) -> float | None:
        return said_at  # quiet: no warm-up lines either

    def finish(self, status: str) -> None:
        if not self.as_json:
            super().finish(status)


class HistoryCut:
    """`--tail N` / `--since WHEN` for a lines sink: the view takes every
    event (the state and the summary are the whole run's), but the lines of
    the history before the cut are not printed. An event is history when it
    is older than the watch (its own time before the start, less a little
    slack for clocks); `--tail` keeps the lines of the last N of those and
    prints them when the first new event arrives, or at the end."""

    SLACK = 2.0

    def __init__(self, *, tail: int | None = None, since: datetime | None = None) -> None:
        self.tail = tail
        self.since = since
        self.started = _now().timestamp() - self.SLACK
        self.held: deque[list[str]] = deque(maxlen=max(0, tail or 0))
        self.live = False

    def attach(self, sink: Sink) -> None:
        inner = sink.applied
        pending = getattr(sink, "pending", None)
        if inner is None or pending is None:
            return
        held, since = self.held, self.since
        since_seconds = since.timestamp() if since is not None else None

        def applied(event: Event) -> None:
            before = len(pending)
            inner(event)
            when = event.epoch_seconds
            if since_seconds is not None and when is not None and when < since_seconds:
                del pending[before:]  # before --since: never printed
                return
            if self.tail is None or self.live:
                return
            if when is None or when < self.started:
                chunk = pending[before:]
                del pending[before:]
                if chunk:
                    held.append(chunk)
                return
            self.live = True  # the first new event: the last N of the history first
            pending[before:before] = [line for chunk in held for line in chunk]
            held.clear()

        sink.applied = applied
        finish = sink.finish

        def finish_after_held(status: str) -> None:
            if held:  # the whole run was history: its last N lines
                lines = [line for chunk in held for line in chunk]
                held.clear()
                text = "".join(lines) if lines[0].endswith("\n") else "\n".join(lines) + "\n"
                out = getattr(sink, "out", sys.stdout)
                out.write(text)
                out.flush()
            finish(status)

        sink.finish = finish_after_held  # type: ignore[method-assign]


@dataclass
class ReportOptions:
    """What the end of the watch writes beyond the sink's own lines."""

    github: bool = False  # the job summary to $GITHUB_STEP_SUMMARY
    summary_file: Path | None = None
    json_record: bool = False  # the final {"event":"summary"} record on stdout
    webhook: str | None = None

    @property
    def markdown(self) -> bool:
        return self.github or self.summary_file is not None

    @property
    def facts(self) -> bool:
        return self.markdown or self.webhook is not None


class EndReport:
    """Everything written once the watch is over (whatever ended it)."""

    def __init__(self, options: ReportOptions, env: Mapping[str, str]) -> None:
        self.options = options
        self.env = env
        self.facts: RunFacts | None = None
        self.stats: LiveStats | None = None
        self.session: WatchSession | None = None
        self.done = False

    def attach(self, session: WatchSession) -> None:
        """Before `session.run()`: the hook and the statistics it needs."""
        self.session = session
        if not self.options.facts:
            return
        from arkor_cli_studio.runfacts import RunFacts

        self.facts = RunFacts()
        session.add_hook(self.facts.observe)
        if self.options.markdown:
            if session.stats is not None:
                self.stats = session.stats
            else:
                from arkor_cli_studio.stats import LiveStats

                self.stats = LiveStats()
                session.view.loss_observers.append(self.stats.observe)

    def outcome(self, outcome: str | None, code: int, reason: str | None = None) -> Outcome:
        from arkor_cli_studio.runfacts import outcome_of

        assert self.session is not None
        with self.session.lock:
            view = self.session.view
            return outcome_of(view, outcome or view.status, code, _now(), reason)

    def write(self, outcome: Outcome, *, out: IO[str] | None = None) -> None:
        """The reports, once (never raises for a report that cannot be made:
        each failure is one warning line)."""
        if self.done:
            return
        self.done = True
        if self.options.json_record:
            self._json_record(outcome, out or sys.stdout)
        if self.options.markdown:
            self._markdown(outcome)
        if self.options.webhook is not None and outcome.outcome not in ENDINGS:
            self._webhook(outcome)

    def _json_record(self, outcome: Outcome, out: IO[str]) -> None:
        import json

        from arkor_cli_studio.runfacts import summary_record

        record = summary_record(outcome, self.facts)
        try:
            out.write(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
            out.flush()
        except (BrokenPipeError, ValueError):
            pass  # stdout is gone: nobody is reading the record

    def _markdown(self, outcome: Outcome) -> None:
        from arkor_cli_studio.render.summary import summary_markdown
        from arkor_cli_studio.stats import EMPTY

        assert self.facts is not None
        loss, eval_loss = self.stats.summaries(fresh=True) if self.stats else (EMPTY, EMPTY)
        text = summary_markdown(outcome, self.facts, loss, eval_loss)
        targets: list[tuple[str, str]] = []
        if self.options.github:
            path = self.env.get("GITHUB_STEP_SUMMARY")
            if path:
                targets.append((path, "a"))
        if self.options.summary_file is not None:
            targets.append((str(self.options.summary_file), "w"))
        for path, mode in targets:
            try:
                with open(path, mode, encoding="utf-8") as handle:
                    handle.write(text if mode == "w" else text + "\n")
            except OSError as error:
                _warn(f"could not write the job summary to {path}: {error.strerror or error}")

    def _webhook(self, outcome: Outcome) -> None:
        from arkor_cli_studio.cloud.webhook import send_webhook, webhook_body
        from arkor_cli_studio.runfacts import summary_record

        assert self.session is not None
        record = summary_record(outcome, self.facts)
        text = f"{_MARKS.get(outcome.outcome, '⚠️')} {_summary_text(self.session.view)}"
        title = f"arkor-studio: {outcome.name} {outcome.outcome}"
        assert self.options.webhook is not None
        reason = send_webhook(self.options.webhook, webhook_body(record, text, title))
        if reason is not None:
            _warn(f"the webhook notification was not delivered ({reason}).")


_MARKS = {"completed": "✅", "failed": "❌", "cancelled": "⏹️"}


def _summary_text(view: JobView) -> str:
    from arkor_cli_studio.event_text import summary_line

    return summary_line(view.display_name, view.summary(_now()))


def _warn(text: str) -> None:
    from arkor_cli_studio import output

    output.say(f"warning: {text}")
