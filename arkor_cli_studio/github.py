"""GitHub Actions: workflow commands and the shape of a watched run's log.

Pure (no I/O): `GitHubLog` turns what the watch sees (events, stream
notices, alerts, the end) into the lines a GitHub Actions log shows. The
per-event lines go inside a collapsible `::group::` per phase (warm-up,
training in tenths of the run, the end); outside the groups, the visible
log is a short story: one progress line per tenth, the summary line, an
`::error` annotation when training failed and a `::warning` when the
stream dropped or an alert fired.

Server text can never form a workflow command. The runner reads a line as
a command when, after leading whitespace, it starts with `::` (or, in the
legacy form, holds `##[` anywhere); in a command's message `%`, CR and LF
are escaped (`%25`, `%0D`, `%0A`) and in its properties `:` and `,` too
(`%3A`, `%2C`), which the runner turns back. So: server text in a command
is cleaned (`textsafe.clean_line`) and escaped by those rules, and a plain
line that would read as a command gets its leading `::` written `%3A%3A`
and any `##[` written `##%5B` (visible, and inert).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from arkor_cli_studio.model import (
    CHECKPOINT,
    COMPLETED,
    END,
    FAILED,
    LOG,
    PING,
    STARTED,
    Event,
    StreamNotice,
)
from arkor_cli_studio.textsafe import clean_line

if TYPE_CHECKING:
    from arkor_cli_studio.progress import Progress
    from arkor_cli_studio.watching import JobView

WARMUP_GROUP: Final = "Warming up GPU"
TRAINING_GROUP: Final = "Training run"
END_GROUP: Final = "The end"
#: Without a total (no maxSteps/numTrainEpochs), a progress line and a new
#: group every this many seconds of the run's own time.
UNTOTALLED_EVERY: Final = 15 * 60.0


def detect_ci(env: Mapping[str, str], choice: str = "auto") -> str | None:
    """`"github"` when the workflow commands are used, else None.

    `choice`: `--ci github|none|auto`; auto means GitHub Actions' own
    marker, `GITHUB_ACTIONS=true`.
    """
    if choice == "github":
        return "github"
    if choice == "none":
        return None
    return "github" if env.get("GITHUB_ACTIONS") == "true" else None


def escape_data(text: str) -> str:
    """A command's message, as the runner reads it back (`%`, CR, LF escaped)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command's property value: also `:` and `,` escaped."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str = "", **properties: str) -> str:
    """One workflow command line (no newline): `::name k=v,k=v::message`.

    `message` and the property values may be server text: they are cleaned
    to one line and escaped. `name` and the property names are ours.
    """
    props = ",".join(
        f"{key}={escape_property(clean_line(value))}" for key, value in properties.items()
    )
    head = f"{name} {props}" if props else name
    return f"::{head}::{escape_data(_inert(clean_line(message)))}"


def log_line(text: str) -> str:
    """A plain log line that the runner shows as text, never obeys."""
    return _inert_start(_inert(clean_line(text)))


def _inert(text: str) -> str:
    """The legacy `##[command]` form is found anywhere in a line."""
    return text.replace("##[", "##%5B") if "##[" in text else text


def _inert_start(text: str) -> str:
    stripped = text.lstrip()
    if stripped.startswith("::"):
        return text[: len(text) - len(stripped)] + "%3A%3A" + stripped[2:]
    return text


class GitHubLog:
    """The lines of a watched run in a GitHub Actions log (pure state machine).

    Feed it in the order things happen: `begin()` once, then `event()` for
    each event with its plain line (after the view applied it), `notice()`
    for stream notices, `alert()` for alerts, and `finish()` once. Each
    returns the lines to print, in order, without newlines.
    """

    def __init__(self) -> None:
        self.group: str | None = None  # the open group's title
        self.phase = "warmup"  # warmup -> training -> end
        self.tenth = 0  # the last tenth of the run announced
        self.next_untotalled: float | None = None  # run time of the next line (no total)
        self.interrupted = False  # within a stream interruption (one warning each)
        self.training_groups = 0
        self.visible = 0  # lines outside any group (for tests and the budget)

    # ---- helpers -----------------------------------------------------------

    def _open(self, title: str) -> list[str]:
        out = self._close()
        self.group = title
        return [*out, command("group", title)]

    def _close(self) -> list[str]:
        if self.group is None:
            return []
        self.group = None
        return [command("endgroup")]

    def _inside(self, title: str, lines: list[str]) -> list[str]:
        """`lines` in the group `title` (opened unless it is the open one)."""
        out = [] if self.group == title else self._open(title)
        return out + [log_line(line) for line in lines]

    def _outside(self, lines: list[str]) -> list[str]:
        out = self._close()
        self.visible += len(lines)
        return out + lines

    def _training_title(self) -> str:
        self.training_groups += 1
        return TRAINING_GROUP if self.training_groups == 1 else f"{TRAINING_GROUP} (continued)"

    # ---- input -----------------------------------------------------------------

    def begin(self, heading: str, *, queued: bool) -> list[str]:
        """The first lines: who is watched; the warm-up group when queued."""
        out = self._outside([log_line(heading)])
        if queued:
            out += self._inside(WARMUP_GROUP, ["The job is queued: waiting for a GPU."])
        return out

    def event(
        self,
        event: Event,
        line: str,
        *,
        fraction: float | None = None,
        run_seconds: float | None = None,
        progress: str | None = None,
    ) -> list[str]:
        """One event and its plain line. `fraction`: done/total after it (None
        without a total); `run_seconds`: the run's own time at it (for runs
        without a total); `progress`: the progress line to show when a tenth
        of the run (or UNTOTALLED_EVERY) has passed."""
        name = event.name
        if name in (PING, END):
            return []
        if name == STARTED:
            self.phase = "training"
            return [*self._open(self._training_title()), log_line(line)]
        if name in (COMPLETED, FAILED):
            self.phase = "end"
            return self._inside(END_GROUP, [line])
        if self.phase == "end":
            return self._inside(END_GROUP, [line])
        if self.phase == "warmup" and name in (LOG, CHECKPOINT):
            self.phase = "training"  # (a stream without training.started)
        if self.phase == "warmup":
            return self._inside(WARMUP_GROUP, [line])
        title = self.group if self.group is not None else self._training_title()
        out = self._inside(title, [line])
        if name == LOG and progress is not None and self._milestone(fraction, run_seconds):
            out += self._outside([log_line(progress)])
        return out

    def _milestone(self, fraction: float | None, run_seconds: float | None) -> bool:
        if fraction is not None:
            tenth = int(min(fraction, 1.0) * 10 + 1e-9)
            if tenth > self.tenth:
                self.tenth = tenth
                return True
            return False
        if run_seconds is None:
            return False
        if self.next_untotalled is None:
            self.next_untotalled = run_seconds + UNTOTALLED_EVERY
            return False
        if run_seconds >= self.next_untotalled:
            self.next_untotalled = run_seconds + UNTOTALLED_EVERY
            return True
        return False

    def notice(self, kind: str, line: str, warning: str | None = None) -> list[str]:
        """A stream notice: its plain line in the open group, and (`warning`)
        one `::warning::` for the first notice of each interruption."""
        out: list[str] = []
        if kind == "interrupted":
            if not self.interrupted and warning is not None:
                self.visible += 1
                out.append(command("warning", warning, title="Event stream interrupted"))
            self.interrupted = True
        else:
            self.interrupted = False
        title = self.group or (END_GROUP if self.phase == "end" else None)
        if title is None:
            title = WARMUP_GROUP if self.phase == "warmup" else self._training_title()
        return out + self._inside(title, [line])

    def alert(self, message: str, title: str = "Training alert") -> list[str]:
        """An alert (from the alert rules): a `::warning::` annotation."""
        self.visible += 1
        return [command("warning", message, title=title)]

    def stream_lost(self, message: str) -> list[str]:
        """The watch gave up on the stream (exit 5)."""
        out = self._close()
        self.visible += 1
        return [*out, command("warning", message, title="Event stream lost")]

    def finish(
        self,
        summary: str,
        status: str,
        *,
        progress: str | None = None,
        error: str | None = None,
    ) -> list[str]:
        """The end: the last progress line (when the last tenth was not yet
        shown), the summary line, and an annotation for a failed or
        cancelled job."""
        out: list[str] = self._close()
        if progress is not None and status == "completed" and self.tenth < 10:
            out += self._outside([log_line(progress)])
            self.tenth = 10
        out += self._outside([log_line(summary)])
        if status == "failed":
            self.visible += 1
            out.append(command("error", error or "unknown error", title="Training failed"))
        elif status == "cancelled":
            self.visible += 1
            out.append(command("warning", "The job was cancelled.", title="Training cancelled"))
        return out


class GitHubReport:
    """`GitHubLog` fed from a `JobView`: what a GitHub Actions sink prints.

    `event_line(event)` and `progress_line(progress, now)` make the plain
    lines (the sink passes `render.lines`' own, so the log reads as
    `--plain` does). Call `event()` after the view applied the event.
    """

    def __init__(
        self,
        event_line: Callable[[Event], str],
        progress_line: Callable[[Progress, datetime], str | None],
    ) -> None:
        self.log = GitHubLog()
        self.event_line = event_line
        self.progress_line = progress_line
        self.first_time: datetime | None = None  # the first event's own time
        self.last_time: datetime | None = None

    def begin(self, view: JobView) -> list[str]:
        name = view.display_name
        heading = f"Watching {name} ({view.job_id})" if name != view.job_id else f"Watching {name}"
        return self.log.begin(heading, queued=view.status == "queued")

    def event(self, view: JobView, event: Event) -> list[str]:
        name = event.name
        if name in (PING, END):
            return []
        progress = fraction = run_seconds = None
        when = event.timestamp
        if when is not None:
            if self.first_time is None:
                self.first_time = when
            self.last_time = when
        if name == LOG:
            fraction = view.fraction
            if self.first_time is not None and when is not None:
                run_seconds = (when - self.first_time).total_seconds()
            progress = self._progress(view, when or _now())
        return self.log.event(
            event,
            self.event_line(event),
            fraction=fraction,
            run_seconds=run_seconds,
            progress=progress,
        )

    def _progress(self, view: JobView, when: datetime) -> str | None:
        """The progress line, with the loss so far (the visible story)."""
        line = self.progress_line(view.progress(None), when)
        if line is not None and view.loss is not None:
            line += f" · loss {view.loss:.4f}"
        return line

    def notice(self, notice: StreamNotice, line: str) -> list[str]:
        warning = None
        if notice.kind == "interrupted":
            warning = "The event stream dropped"
            if notice.reason:
                warning += f": {notice.reason}"
            warning += "; reconnecting."
        return self.log.notice(notice.kind, line, warning)

    def finish(self, view: JobView, summary: str) -> list[str]:
        status = view.status
        progress = None
        if status == "completed":
            progress = self._progress(view, self.last_time or _now())
        error = None
        if status == "failed":
            error = view.error if view.error is not None else (view.job.error if view.job else None)
        return self.log.finish(summary, status, progress=progress, error=error)


def _now() -> datetime:
    return datetime.now(UTC)
