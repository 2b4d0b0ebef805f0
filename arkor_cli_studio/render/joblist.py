"""The jobs table's rows: each job's cells as safe text (no rich: `jobs |
grep` of 50,000 jobs is this module's hot path).

Studio's Jobs list: Status, Name, Duration, Created, ID. A name is never
wrapped and an ID never cut; how the rows fit a width: `render.jobtable`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, tzinfo
from typing import Final, NamedTuple

from arkor_cli_studio.model import (
    WARMING_UP,
    WARMING_WINDOW,
    Job,
    duration_text,
    parse_time,
    text_field,
)
from arkor_cli_studio.textsafe import clean_line

NO_JOBS: Final = "No jobs yet."
NO_MATCHES: Final = "No matches."
NO_VALUE: Final = "N/A"  # Studio's placeholder
GAP: Final = "  "
NAME_MIN: Final = 8  # a shortened name keeps at least this many cells
HEADERS: Final = ("Status", "Name", "Duration", "Created", "ID")


class Row(NamedTuple):
    """One job's cells, as text that is safe to print."""

    status: str  # the displayed status (Warming up GPU for a young queued job)
    name: str
    duration: str
    ago: str  # `3 min ago`
    created: str  # `2026-03-01 12:00:00`, local
    id: str


def relative_time(when: datetime | None, now: datetime) -> str:
    """Studio's `formatRelativeTime` (the same thresholds), in short units:
    `12 s ago`, `3 min ago`, `5 h ago`, `2 d ago`, `4 mo ago`, `1 y ago`."""
    seconds = _epoch(when)
    return NO_VALUE if seconds is None else _relative(seconds - now.timestamp())


def _relative(diff_seconds: float) -> str:
    diff = round(diff_seconds)
    size = abs(diff)
    if size < 45:
        value, unit = diff, "s"
    elif size < 2700:  # 45 min
        value, unit = round(diff / 60), "min"
    elif size < 79_200:  # 22 h
        value, unit = round(diff / 3600), "h"
    elif size < 2_246_400:  # 26 d
        value, unit = round(diff / 86_400), "d"
    elif size < 27_648_000:  # 320 d
        value, unit = round(diff / 2_592_000), "mo"
    else:
        value, unit = round(diff / 31_536_000), "y"
    if value == 0:
        return "now"
    return f"{-value} {unit} ago" if value < 0 else f"in {value} {unit}"


def _epoch(when: datetime | None) -> float | None:
    """POSIX seconds of an aware time (None when absent or off the calendar)."""
    if when is None:
        return None
    try:
        return when.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def _list_seconds(job: Job, now: float) -> float | None:
    start = _epoch(job.started_at)
    if start is None:
        return None
    if job.completed_at is not None:
        end = _epoch(job.completed_at)
        return None if end is None else max(0.0, end - start)
    if job.status != "running":
        return None
    return max(0.0, now - start)


def _local(when: datetime | None, tz: tzinfo | None) -> str:
    """`YYYY-mm-dd HH:MM:SS` in the user's zone (or `tz`), N/A when absent."""
    if when is None:
        return NO_VALUE
    if tz is None:  # the hot path
        seconds = _epoch(when)
        if seconds is not None and 0.0 <= seconds < _LIMIT:
            return _local_text(int(seconds))
    try:
        t = when.astimezone(tz)
    except (OverflowError, ValueError, OSError):
        return NO_VALUE
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"


_LIMIT: Final = 2.0**33  # whole seconds exact from a float below this (year 2242)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


_ZONE: object = None  # time.tzname when the memos were filled
_HOURS: dict[int, int | None] = {}  # hour since the epoch -> its one UTC offset, or None
_PREFIXES: dict[int, str] = {}  # local hour since the epoch -> "YYYY-mm-dd HH:"
_MINUTES_SECONDS: Final = tuple(f"{m:02d}:{s:02d}" for m in range(60) for s in range(60))


def _zone_check() -> None:
    """Drop the memos when the zone changed (`time.tzset()` makes a new tzname)."""
    global _ZONE
    if time.tzname is not _ZONE:
        _HOURS.clear()
        _PREFIXES.clear()
        _ZONE = time.tzname


def _offset(whole: int) -> int:
    """The zone's UTC offset at `whole` (`time.localtime().tm_gmtoff`): asked
    once per hour when the hour starts and ends with the same offset (zones
    change at most once in an hour), else per second."""
    hour = whole // 3600
    offset = _HOURS.get(hour, -1)
    if offset == -1:
        start = time.localtime(hour * 3600).tm_gmtoff
        offset = start if time.localtime(hour * 3600 + 3599).tm_gmtoff == start else None
        if len(_HOURS) > 100_000:
            _HOURS.clear()
        _HOURS[hour] = offset
    return offset if offset is not None else time.localtime(whole).tm_gmtoff


def _prefix(local_hour: int) -> str:
    d = date.fromordinal(_EPOCH_ORDINAL + local_hour // 24)
    text = f"{d.year:04d}-{d.month:02d}-{d.day:02d} {local_hour % 24:02d}:"
    if len(_PREFIXES) > 100_000:
        _PREFIXES.clear()
    _PREFIXES[local_hour] = text
    return text


def _local_text(whole: int) -> str:
    """`when.astimezone()` as text, from POSIX seconds: the zone's offset at
    that second (the C library's, as astimezone() asks it), then date
    arithmetic; the text up to the hour is kept per hour."""
    _zone_check()
    local_hour, rest = divmod(whole + _offset(whole), 3600)
    return (_PREFIXES.get(local_hour) or _prefix(local_hour)) + _MINUTES_SECONDS[rest]


def job_rows(jobs: Sequence[Job], now: datetime, tz: tzinfo | None = None) -> list[Row]:
    """The rows of `jobs` (`object_rows` is the same from the API's objects)."""
    rows: list[Row] = []
    append = rows.append
    now_s = now.timestamp()
    warm_after = now_s - WARMING_WINDOW.total_seconds()
    for job in jobs:
        status = job.status
        created_at = job.created_at
        created = _epoch(created_at)
        if status == "queued" and created is not None and created > warm_after:
            status = WARMING_UP
        append(
            Row(
                clean_line(status),
                clean_line(job.name) or "-",
                duration_text(_list_seconds(job, now_s)),
                NO_VALUE if created is None else _relative(created - now_s),
                _local(created_at, tz),
                clean_line(job.id),
            )
        )
    return rows


# Long on purpose: the hot path of `jobs` over 50,000 objects, inlined.
def object_rows(
    items: Sequence[object],
    now: datetime,
    keep: Callable[[str, str, str], bool] | None = None,
    limit: int | None = None,
) -> list[Row]:
    """`job_rows(parse_jobs({"jobs": items}))` in one pass over the API's own
    objects (no `Job` built): the piped `jobs` of 50,000 jobs. `keep(status,
    name, id)` is the filter (the job's own status, not the displayed one);
    `limit` counts the rows kept. tests/test_jobs_table.py holds the two equal."""
    rows: list[Row] = []
    append = rows.append
    now_s = now.timestamp()
    warm_after = now_s - WARMING_WINDOW.total_seconds()
    stamp_of, relative = _stamp, _relative
    make_row = Row._make
    _zone_check()
    hours_get, prefixes_get, minutes_seconds = _HOURS.get, _PREFIXES.get, _MINUTES_SECONDS
    for obj in items:
        if type(obj) is not dict and not isinstance(obj, dict):
            continue
        get = obj.get
        job_id = get("id")
        if type(job_id) is not str:
            job_id = text_field(job_id)
        if not job_id:
            continue
        name = get("name")
        if type(name) is not str:
            name = text_field(name) or ""
        status = get("status")
        if type(status) is not str or not status:
            status = text_field(status) or "unknown"
        if keep is not None and not keep(status, name, job_id):
            continue
        created = stamp_of(get("createdAt"))
        started = stamp_of(get("startedAt"))
        duration: float | None = None
        if started is not None:
            value = get("completedAt")
            end = stamp_of(value)
            if end is not None:
                duration = max(0.0, end - started)
            elif status == "running" and (value is None or parse_time(value) is None):
                duration = max(0.0, now_s - started)  # no end time (or an unreadable one): ticking
        shown = status
        if status == "queued" and created is not None and created > warm_after:
            shown = WARMING_UP
        if created is None:
            ago = stamp = NO_VALUE
        else:
            ago = relative(created - now_s)
            if 0.0 <= created < _LIMIT:  # _local_text(), inline
                whole = int(created)
                offset = hours_get(whole // 3600, -1)
                if offset is None or offset == -1:
                    offset = _offset(whole)
                local_hour, rest = divmod(whole + offset, 3600)
                stamp = (prefixes_get(local_hour) or _prefix(local_hour)) + minutes_seconds[rest]
            else:
                stamp = _local(parse_time(get("createdAt")), None)
        append(
            make_row(
                (
                    shown if shown.isprintable() else clean_line(shown),
                    (name if name.isprintable() else clean_line(name)) or "-",
                    duration_text(duration),
                    ago,
                    stamp,
                    job_id if job_id.isprintable() else clean_line(job_id),
                )
            )
        )
        if limit is not None and len(rows) >= limit:
            break
    return rows


def _stamp(value: object) -> float | None:
    """An API time as POSIX seconds: ISO 8601 with its zone at C speed
    (`datetime.fromisoformat`), anything else by `parse_time`'s rules; None
    when absent, unreadable or off the calendar."""
    if type(value) is str:
        try:
            parsed = _fromisoformat(value)
            if parsed.tzinfo is not None and 1 < parsed.year < 9999:
                return parsed.timestamp()
        except (ValueError, OverflowError, OSError):
            pass
    return None if value is None else _epoch(parse_time(value))


_fromisoformat = datetime.fromisoformat
