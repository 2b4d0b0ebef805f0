"""`watch <id> --once`: the job's state now, printed, then exit (for scripts and agents).

The history is read as `stats` reads it (the job detail's events, else the
stream replayed until caught up), folded into a `JobView`, within a
deadline: the command answers in under 2 s whatever the run's length (a
history too long to read in time is cut, and the answer says so). Plain:
the recent events, the progress line, the summary line. `--json`: the
recent events' records, then one `{"event":"summary", ...}` record.
Exit status: 0/1/3 for a completed/failed/cancelled job, 7 while it is
queued or running.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from arkor_cli_studio.errors import ExitCode

if TYPE_CHECKING:
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.model import Event

#: Reading the history stops after this long (the answer comes within 2 s).
DEADLINE: Final = 1.2
#: A running job's stream is caught up after this long without a byte.
CATCH_UP_IDLE: Final = 0.4
RECENT: Final = 5
CODES: Final = {
    "completed": ExitCode.OK,
    "failed": ExitCode.FAILURE,
    "cancelled": ExitCode.CANCELLED,
}


def watch_once(
    settings: Settings,
    job_id: str,
    *,
    as_json: bool,
    recent: int = RECENT,
    deadline: float = DEADLINE,
) -> ExitCode:
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.cloud.history import replay_history
    from arkor_cli_studio.model import validate_job_id
    from arkor_cli_studio.watching import JobView

    validate_job_id(job_id)
    started = time.monotonic()
    with connect(settings) as backend:
        replay = replay_history(backend, job_id, max_retries=0, catch_up_idle=CATCH_UP_IDLE)
        view = JobView(job_id, replay.job)
        last: deque[Event] = deque(maxlen=max(0, recent))
        cut = False
        for event in replay:
            view.apply(event)
            last.append(event)
            if time.monotonic() - started > deadline:
                cut = True
                break
        if replay.job is None:
            job = backend.find_job(job_id)
            if job is not None:
                view.apply_job(job)
    status = view.status
    code = CODES.get(status, ExitCode.STILL_RUNNING)
    now = datetime.now(UTC)
    if as_json:
        _print_json(view, list(last), status, code, now, cut)
    else:
        _print_plain(view, list(last), now, cut)
    return code


def _print_plain(view: Any, last: list[Event], now: datetime, cut: bool) -> None:
    from arkor_cli_studio.event_text import summary_line
    from arkor_cli_studio.render.lines import plain_event_line, plain_progress_line
    from arkor_cli_studio.textsafe import clean_line

    lines = [plain_event_line(event) for event in last]
    status = view.status
    if status not in CODES:
        progress = plain_progress_line(view.progress(now), now)
        if progress:
            lines.append(progress)
    if cut:
        lines.append(f"(only the first {view.events_seen} events were read in time)")
    lines.append(f"{clean_line(summary_line(view.display_name, view.summary(now)))}")
    lines.append(f"Phase: {view.phase}" + ("" if status in CODES else " (still going: exit 7)"))
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def _print_json(
    view: Any, last: list[Event], status: str, code: ExitCode, now: datetime, cut: bool
) -> None:
    from arkor_cli_studio.render.lines import record_line
    from arkor_cli_studio.runfacts import outcome_of, summary_record

    out = [record_line(event) for event in last]
    outcome = status if status in CODES else status or "running"
    record = summary_record(outcome_of(view, outcome, int(code), now))
    p = view.progress(now)
    record["phase"] = view.phase
    record["percent"] = round(p.fraction * 100, 1) if p.fraction is not None else None
    record["stepsPerSecond"] = p.rate
    record["etaSeconds"] = round(p.eta, 1) if p.eta is not None else None
    record["partial"] = cut
    out.append(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
    sys.stdout.write("".join(out))
    sys.stdout.flush()
