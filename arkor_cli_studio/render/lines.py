"""The lines of piped `watch`: `--plain` text and `--json` records; no rich.

Piped mode prints one line per event, so this is its hot path; kept apart
from `render.watch` (which draws the live frame with rich) so that a piped
run does not import rich at all.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Final

from arkor_cli_studio.event_text import event_message, log_message
from arkor_cli_studio.model import KNOWN_EVENTS, LOG, Event, StreamNotice, event_record, local_time
from arkor_cli_studio.progress import Progress, progress_line
from arkor_cli_studio.textsafe import clean_line, json_text

if TYPE_CHECKING:
    from arkor_cli_studio.alerts import Alert

NAME_WIDTH: Final = 18  # len("training.completed")


def event_time(event: Event, tz: tzinfo | None = None, *, date: bool = True) -> str:
    """The event's own time, local: `2026-03-01 12:00:02` (or only the time)."""
    if tz is None:  # the user's zone: the hot path of --plain, exact (_LocalStamps)
        seconds = event.epoch_seconds
        if seconds is None:
            return "-"
        text = _local_stamp(seconds)
        if text is not None:
            return text if date else text[11:]
    when = event.timestamp
    if when is None:
        return "-"
    t = when.astimezone(tz)  # f-strings: twice as fast as strftime on the hot path
    clock = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {clock}" if date else clock


class _LocalStamps:
    """`when.astimezone()` (the local zone) as `YYYY-mm-dd HH:MM:SS`, from POSIX
    seconds, without building the datetime; exactly what `event_time` makes
    of it (tests/test_fast_paths.py compares them across the offset changes
    of several zones, leap-second zones included).

    `astimezone()` takes the zone's offset at the whole second (the floor of
    the time) from the C library's `localtime()`, as `time.localtime()` does,
    and adds it by date arithmetic; the seconds' fraction is not shown. So
    the text is a function of that whole second (and of the zone: the memo
    is dropped when `time.tzset()` has run): the last one is kept (events
    come several a second), and the text up to the minute of the last local
    minute.

    `localtime()` is the costly part (a replay's events are seconds apart,
    each its own second), so its offset is kept for a span: when the offsets
    at a second and SPAN seconds later agree, every second between has it
    too, unless the zone changed its offset twice within SPAN. No zone of the
    tz database does (its closest two changes are days apart:
    `tests/test_fast_paths.py` checks the machine's database).
    """

    LIMIT: Final = 2.0**33  # whole seconds exact from a float below this (year 2242)
    SECONDS: Final = tuple(f"{second:02d}" for second in range(60))
    SPAN: Final = 3600

    def __init__(self) -> None:
        # Tuples, replaced whole: the stream and the drawing threads both call this.
        self._last: tuple[int, str, object] = (-1, "", None)
        self._minute: tuple[int, str] = (-1, "")
        self._span: tuple[int, int, int, object] = (-1, -1, 0, None)  # first, last, offset, zone

    def stamp(self, seconds: float) -> str | None:
        """The text, or None outside 1970..2242 (then ask `astimezone()`)."""
        if not 0.0 <= seconds < self.LIMIT:
            return None
        whole = int(seconds)
        last = self._last
        zone = time.tzname  # a new tuple after every time.tzset()
        if last[0] == whole and last[2] is zone:
            return last[1]
        span = self._span
        if span[3] is zone and span[0] <= whole <= span[1]:
            offset = span[2]
        else:
            offset = time.localtime(whole).tm_gmtoff
            ahead = whole + self.SPAN
            if ahead < self.LIMIT and time.localtime(ahead).tm_gmtoff == offset:
                self._span = (whole, ahead, offset, zone)
        local = whole + offset
        minutes = local // 60
        secs = local - minutes * 60
        minute = self._minute
        if minute[0] != minutes:
            # Date arithmetic, as astimezone(): not fromtimestamp(), which asks
            # the C library (and a zone file with leap seconds moves it).
            t = _EPOCH + timedelta(minutes=minutes)
            minute = self._minute = (
                minutes,
                f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:",
            )
        text = minute[1] + self.SECONDS[secs]
        self._last = (whole, text, zone)
        return text


_EPOCH: Final = datetime(1970, 1, 1)
_local_stamp = _LocalStamps().stamp
#: The name column of the known events, padded (the names are plain text).
_NAME_CELLS: Final = {name: f"{name:<{NAME_WIDTH}}" for name in KNOWN_EVENTS}
_LOG_CELL: Final = _NAME_CELLS[LOG]


def plain_event_line(event: Event, tz: tzinfo | None = None) -> str:
    """`<local time>  <event name>  <message>`: one line, no controls."""
    if tz is None and event.name == LOG:
        # The hot path. A log line's message is numbers (nothing to clean) and
        # ends with one (nothing to strip); the time as event_time() makes it.
        seconds = event.epoch_seconds
        stamp = "-" if seconds is None else _local_stamp(seconds) or event_time(event)
        step, loss, eval_loss = event.step, event.loss, event.eval_loss
        if (
            eval_loss is None
            and loss is not None
            and step is not None
            and step.is_integer()
            and len(stamp) == 19
        ):  # the usual frame, in one go (as log_message writes it)
            return f"{stamp}  {_LOG_CELL}  step={step:.0f} loss={loss:.4f}"
        return f"{stamp:<19}  {_LOG_CELL}  {log_message(step, loss, eval_loss)}"
    name = _NAME_CELLS.get(event.name) or f"{clean_line(event.name):<{NAME_WIDTH}}"
    return (f"{event_time(event, tz):<19}  {name}  {clean_line(event_message(event))}").rstrip()


def plain_notice_line(notice: StreamNotice, now: datetime, tz: tzinfo | None = None) -> str:
    stamp = local_time(now, tz)
    if notice.kind == "resumed":
        return f"{stamp}  stream resumed"
    if notice.kind != "interrupted":  # from another component (an alert): its own words
        return f"{stamp}  {clean_line(notice.kind)}: {clean_line(notice.reason)}"
    retry = f"; retrying in {notice.delay:.0f}s" if notice.delay else ""
    attempt = f" (attempt {notice.attempt})" if notice.attempt else ""
    reason = f": {clean_line(notice.reason)}" if notice.reason else ""
    return f"{stamp}  stream interrupted{reason}{retry}{attempt}"


def plain_progress_line(p: Progress, now: datetime, tz: tzinfo | None = None) -> str | None:
    line = progress_line(p)
    return f"{local_time(now, tz)}  progress  {line}" if line else None


def alert_record_line(alert: Alert) -> str:
    """An alert's `--json` record as one NDJSON line (its numbers are finite:
    a non-finite one, which no rule gives, would become null)."""
    from arkor_cli_studio.jobinfo import jsonable

    return json.dumps(jsonable(alert.record()), separators=(",", ":"), allow_nan=False) + "\n"


def record_line(event: Event) -> str:
    """`model.event_record()` as one NDJSON line. The server's own `data` text
    is spliced in when it is one line (no re-encoding: the hot path of
    `--json`, and numbers keep their exact spelling). Otherwise, and when it
    may hold `NaN`/`Infinity` (Python's json reads them; JSON has no such
    thing), it is re-encoded with non-finite numbers as null, as `jobs --json`
    does: every line stays valid JSON."""
    raw = event.raw
    if raw is None or "\n" in raw or "\r" in raw or "NaN" in raw or "Infinity" in raw:
        from arkor_cli_studio.jobinfo import jsonable

        # ensure_ascii: C1 controls and bidi overrides travel as \u escapes too
        record = jsonable(event_record(event))
        return json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"
    if not raw.isascii() or "\x7f" in raw:  # (textsafe.json_text's own fast check)
        raw = json_text(raw)  # C1 controls and bidi overrides travel as \u escapes
    head = _RECORD_HEADS.get(event.name) or f'{{"event":{json.dumps(event.name)},"id":'
    event_id = event.id
    # json.dumps() of a str is this C function (ensure_ascii), minus its dispatch.
    text = _json_string(event_id) if type(event_id) is str else json.dumps(event_id)
    return f'{head}{text},"data":{raw}}}\n'


_json_string = json.encoder.encode_basestring_ascii
_RECORD_HEADS: Final = {name: f'{{"event":{json.dumps(name)},"id":' for name in KNOWN_EVENTS}
