"""`arkor-studio stats [JOB_ID] [--file PATH|-]`: Studio's Advanced-panel statistics."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from arkor_cli_studio.commands import boundary, examples
from arkor_cli_studio.commands._options import Last, json_flag
from arkor_cli_studio.env import environment_of
from arkor_cli_studio.errors import UsageError

if TYPE_CHECKING:
    from arkor_cli_studio.chart import ChartWindow
    from arkor_cli_studio.config import Settings
    from arkor_cli_studio.env import Environment
    from arkor_cli_studio.model import Event
    from arkor_cli_studio.stats import ChartSeries

EPILOG = examples(
    "arkor-studio stats job_123  # both cards, over the whole run",
    "arkor-studio stats job_123 --last 2000  # exactly Studio's cards",
    "arkor-studio stats --file run.ndjson  # from `watch --json > run.ndjson`",
    "arkor-studio stats job_123 --json | jq '.loss.mean, .evalLoss.p95'",
)

STDIN = "-"


def register(app: typer.Typer) -> None:
    app.command("stats", epilog=EPILOG)(boundary(stats))


# Long on purpose: a Typer command: mostly its parameter declarations.
def stats(
    ctx: typer.Context,
    job_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[JOB_ID]",
            help="The job. Optional with --file (then it picks one job out of the file).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        json_flag('One JSON object: {"loss": {...}, "evalLoss": {...}, "complete": ...}.'),
    ] = False,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            metavar="PATH",
            help="Read the events from NDJSON written by `watch --json` ('-' for stdin) "
            "instead of the API.",
            show_default=False,
        ),
    ] = None,
    last: Last = None,
) -> None:
    """Loss statistics of a job: count, mean ± 95% CI, std dev, variance, p90, p95.

    Computed, as Studio's Advanced panel does, from the numeric loss and
    evalLoss of the training.log events: over the whole run (every frame
    with a number), or with --last N over Studio's chart window. For a job
    still running the numbers are so far (the history is read until it is
    caught up).
    """
    from arkor_cli_studio.model import validate_job_id

    if job_id is not None:
        validate_job_id(job_id)
    environment = environment_of(ctx)
    if file is not None:
        # A file needs no project, credentials or Studio: the settings (which
        # check --project) are not asked for.
        result = _from_file(file, job_id, last, environment)
    elif job_id is None:
        raise UsageError(
            "Give a job id, or --file PATH to read a `watch --json` file.",
            hint="`arkor-studio jobs` lists the ids.",
        )
    else:
        result = _from_api(environment.settings, job_id, last)

    loss, eval_loss = result.series.summaries()
    if as_json:
        from arkor_cli_studio.stats import stats_json

        body = stats_json(
            loss,
            eval_loss,
            complete=result.complete,
            jobId=result.job_id,
            source=result.source,
            last=last,
            window="run" if last is None else "chart",
        )
        sys.stdout.write(json.dumps(body, indent=2, allow_nan=False) + "\n")
        sys.stdout.flush()
        return
    from arkor_cli_studio.render.stats import stats_view

    environment.console().print(
        stats_view(loss, eval_loss, so_far=not result.complete, last=last, title=result.title)
    )


@dataclass
class Loaded:
    series: ChartSeries | ChartWindow
    complete: bool
    job_id: str | None
    source: str  # "detail", "stream" or "file"
    title: str


def _series(last: int | None) -> ChartSeries | ChartWindow:
    """The whole run's series, or Studio's chart window of `last` frames."""
    if last is None:
        from arkor_cli_studio.stats import ChartSeries

        return ChartSeries()
    from arkor_cli_studio.chart import ChartWindow

    return ChartWindow(last)


def _from_api(settings: Settings, job_id: str, last: int | None = None) -> Loaded:
    from arkor_cli_studio.cloud import connect
    from arkor_cli_studio.cloud.history import replay_history

    series = _series(last)
    with connect(settings) as backend:
        history = replay_history(backend, job_id)
        # Each event is folded into the series as it arrives and dropped:
        # only the numbers are kept, never the run's events.
        feed = series.feed
        for event in history:
            feed(event)
    # The detail was read before the replay: a terminal event seen since wins.
    status = history.terminal_status or (history.job.status if history.job is not None else None)
    origin = "the job's history" if history.source == "detail" else "the event stream"
    title = f"Job {job_id}" + (f" · {status}" if status else "") + f" · from {origin}"
    return Loaded(series, history.complete, job_id, history.source, title)


# --------------------------------------------------------------------------
# --file: the NDJSON that `watch --json` writes, one `model.event_record()` a line


@dataclass
class FileEvents:
    """What a pass over an event file found, besides the events themselves."""

    bad_lines: int = 0
    first_bad: int | None = None
    records: int = 0


def iter_file_events(lines: Iterable[bytes | str], found: FileEvents) -> Iterator[Event]:
    """The known events of NDJSON lines, in order; tallies the rest in `found`.

    Blank lines are ignored. A line that is not a JSON object naming an
    `event` is bad (counted); a record of an unknown event (a newer writer)
    is skipped quietly, as on the stream.
    """
    from arkor_cli_studio.model import event_from_record

    decode = json.JSONDecoder().decode
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            # Bytes are decoded here: json.loads(bytes) sniffs the encoding
            # of every line, a sixth of the time spent on a large file.
            obj = decode(line.decode() if isinstance(line, bytes) else line)
        except (ValueError, RecursionError):  # includes UnicodeDecodeError
            obj = None
        if not isinstance(obj, dict) or not isinstance(obj.get("event"), str):
            found.bad_lines += 1
            if found.first_bad is None:
                found.first_bad = number
            continue
        found.records += 1
        event = event_from_record(obj)
        if event is not None:
            yield event


@dataclass
class JobSeries:
    series: ChartSeries | ChartWindow
    complete: bool
    target: str | None  # the job
    others: list[str]  # the other jobs seen, in order of appearance
    seen: bool  # an event named the job


def series_of_job(
    events: Iterable[Event], job_id: str | None, last: int | None = None
) -> JobSeries:
    """Fill the chart's series from one job's events.

    The job is `job_id`, else the first `jobId` seen; events of other jobs
    are left out (and their ids returned). An event that names no job (the
    `end` sentinel's data is often empty) belongs to the job of the event
    before it, so files written one after the other can be concatenated.

    Linear in the events whatever the number of jobs: the other jobs are
    kept in a dict (an ordered set), never searched in a list. `last`: only
    Studio's chart window of that many frames is kept.
    """
    from arkor_cli_studio.model import END

    series = _series(last)
    target = job_id
    current: str | None = None
    others: dict[str, None] = {}
    seen = False
    complete = False
    for event in events:
        owner = event.data.get("jobId")
        if isinstance(owner, str):
            current = owner
            if target is None or owner == target:
                target = owner
                seen = True
            elif owner not in others:
                others[owner] = None
        if current is not None and current != target:
            continue
        series.feed(event)
        if event.name == END or event.terminal_status is not None:
            complete = True
    return JobSeries(series, complete, target, list(others), seen)


def _open_lines(
    path: str, environment: Environment
) -> tuple[Iterable[bytes | str], IO[Any] | None]:
    if path == STDIN:
        stream = getattr(environment.stdin, "buffer", environment.stdin)
        if environment.stdin_isatty:
            from arkor_cli_studio.output import say

            say("reading events from stdin (Ctrl-D ends)…")
        return stream, None
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(
            f"Can't read --file {path}: {reason}.",
            hint="Give the NDJSON file that `arkor-studio watch JOB_ID --json` wrote, "
            "or - for stdin.",
        ) from None
    return handle, handle


def _from_file(path: str, job_id: str | None, last: int | None, environment: Environment) -> Loaded:
    from arkor_cli_studio.textsafe import clean_line

    shown = "stdin" if path == STDIN else clean_line(path)
    lines, handle = _open_lines(path, environment)
    found = FileEvents()
    try:
        picked = series_of_job(iter_file_events(lines, found), job_id, last)
    except OSError as exc:  # e.g. EISDIR on read, EIO
        raise UsageError(
            f"Can't read --file {shown}: {exc.strerror or type(exc).__name__}."
        ) from None
    finally:
        if handle is not None:
            handle.close()

    if found.bad_lines:
        noun = "line" if found.bad_lines == 1 else "lines"
        from arkor_cli_studio.output import say

        say(
            f"skipped {found.bad_lines} {noun} of {shown} that "
            f"{'is' if found.bad_lines == 1 else 'are'} not event records "
            f"(first: line {found.first_bad})."
        )
        if not found.records:
            raise UsageError(
                f"{shown} holds no event records.",
                hint="Expected the NDJSON that `arkor-studio watch JOB_ID --json` writes.",
            )
    target, others = picked.target, picked.others
    if job_id is None and others:
        jobs = ", ".join(clean_line(j) for j in [target or "", *others][:5])
        raise UsageError(
            f"{shown} holds the events of {1 + len(others)} jobs ({jobs}).",
            hint="Give the JOB_ID to choose one: arkor-studio stats JOB_ID --file PATH",
        )
    if job_id is not None and others and not picked.seen:
        jobs = ", ".join(clean_line(j) for j in others[:5])
        raise UsageError(f"{shown} has no events of job {job_id} (it has: {jobs}).")
    title = (f"Job {clean_line(target)} · " if target else "") + f"from {shown}"
    return Loaded(picked.series, picked.complete, target, "file", title)
