"""Plain values: jobs, events, parsing. No I/O, no terminals, no HTTP.

Everything here takes what the server sent as untrusted data: unknown
fields are ignored, wrong types become "absent", and nothing raises on a
malformed payload.
"""

# Long on purpose: the bottom layer's one vocabulary (jobs, events, their
# times), which every other module imports; split, each caller would import
# from several places for one concept.

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final

TERMINAL_STATUSES: Final = frozenset({"completed", "failed", "cancelled"})
WARMING_UP: Final = "Warming up GPU"
WARMING_WINDOW: Final = timedelta(seconds=90)

# The event names the contract defines. Anything else is skipped.
STARTED: Final = "training.started"
LOG: Final = "training.log"
CHECKPOINT: Final = "checkpoint.saved"
COMPLETED: Final = "training.completed"
FAILED: Final = "training.failed"
PING: Final = "ping"
END: Final = "end"
KNOWN_EVENTS: Final = frozenset({STARTED, LOG, CHECKPOINT, COMPLETED, FAILED, PING, END})
TERMINAL_EVENTS: Final = {COMPLETED: "completed", FAILED: "failed"}


@dataclass(frozen=True, slots=True)
class Scope:
    """Where jobs live: `orgSlug` / `projectSlug` from `.arkor/state.json`."""

    org: str
    project: str

    def __str__(self) -> str:
        return f"{self.org}/{self.project}"


# --------------------------------------------------------------------------
# Numbers and times


def number(value: Any, _isfinite: Any = math.isfinite) -> float | None:
    """A finite JSON number, else None (bools, strings, inf and NaN are absent)."""
    kind = type(value)
    if kind is float:  # the hot path of every training.log frame
        return value if _isfinite(value) else None
    if value is None:  # (an absent field: as common)
        return None
    if kind is int:  # (not bool: its type is bool) a float of an int is finite, or raises
        try:
            return float(value)
        except OverflowError:  # an integer literal too big for a float: as 1e309
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        f = float(value)
    except OverflowError:
        return None
    return f if _isfinite(f) else None


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp as an aware datetime (naive ones are UTC), else None.

    A time in the first or the last year of the calendar (`0001-01-01T00:00:00Z`,
    `9999-12-31T23:59:59-05:00`) is None too: moved to UTC or to a local zone,
    or given the 90 s of the warm-up rule, it would leave `datetime`'s range
    (OverflowError); a day's margin each side keeps every such step safe."""
    if not isinstance(value, str) or not value:
        return None
    try:  # the usual `2026-03-01T12:00:00.000Z` (3.11 reads the Z): `jobs` of 50,000
        parsed = datetime.fromisoformat(value)
    except ValueError:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    if not _FIRST_YEAR < parsed.year < _LAST_YEAR:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# datetime's range (years 1..9999), less the first and the last year.
_FIRST_YEAR: Final = 1
_LAST_YEAR: Final = 9999


# --------------------------------------------------------------------------
# Jobs


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    name: str
    status: str
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


def text_field(value: Any) -> str | None:
    """A field as the API sends text: a string, a number or bool as JSON, else None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


def parse_job(obj: Any) -> Job | None:
    """A Job from the API's object, or None when it has no usable id."""
    if not isinstance(obj, dict):
        return None
    job_id = text_field(obj.get("id"))
    if not job_id:
        return None
    config = obj.get("config")
    return Job(
        id=job_id,
        name=text_field(obj.get("name")) or "",
        status=text_field(obj.get("status")) or "unknown",
        created_at=parse_time(obj.get("createdAt")),
        started_at=parse_time(obj.get("startedAt")),
        completed_at=parse_time(obj.get("completedAt")),
        error=text_field(obj.get("error")),
        config=config if isinstance(config, dict) else {},
        raw=obj,
    )


def parse_jobs(body: Any) -> list[Job]:
    """`{"jobs": [...]}` -> jobs in the server's order; junk entries are dropped."""
    items = body.get("jobs") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    return [job for job in (parse_job(item) for item in items) if job is not None]


def display_status(job: Job, now: datetime) -> str:
    """Studio's one derived state: a queued job younger than 90 s is warming up."""
    if (
        job.status == "queued"
        and job.created_at is not None
        and now - job.created_at < WARMING_WINDOW
    ):
        return WARMING_UP
    return job.status


def warming_ends_at(job: Job) -> datetime | None:
    """When the derived Warming-up state expires, if the job shows it at all."""
    if job.status == "queued" and job.created_at is not None:
        return job.created_at + WARMING_WINDOW
    return None


def base_model(config: dict[str, Any]) -> str | None:
    model = config.get("model")
    return model if isinstance(model, str) and model else None


#: A URL's query parameter whose name holds one of these carries a credential
#: (S3's X-Amz-Signature / -Credential / -Security-Token, GCS's X-Goog-*,
#: Azure SAS's `sig`, CloudFront's Signature / Key-Pair-Id / Policy, `token=`).
_URL_SECRET_PARTS: Final = (
    "sig", "token", "credential", "secret", "key", "auth", "policy", "password", "pass",
)  # fmt: skip


def hide_url_secrets(url: str) -> str:
    """`url` with a password in it and the values of credential-like query
    parameters as `(hidden)`: a presigned dataset URL is a key to the data,
    and `show`'s output ends up in CI logs. The rest stays as sent."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        userinfo, _, host = authority.rpartition("@")
        if ":" in userinfo:
            authority = f"{userinfo.split(':', 1)[0]}:(hidden)@{host}"
    path, mark, query = tail.partition("?")
    if mark:
        query, hash_mark, fragment = query.partition("#")
        parts = []
        for part in query.split("&"):
            name, eq, _value = part.partition("=")
            squashed = "".join(c for c in name.lower() if c.isalnum())
            hidden = eq and any(secret in squashed for secret in _URL_SECRET_PARTS)
            parts.append(f"{name}=(hidden)" if hidden else part)
        path = f"{path}?{'&'.join(parts)}{hash_mark}{fragment}"
    return f"{scheme}://{authority}{slash}{path}"


def describe_dataset(config: dict[str, Any]) -> str | None:
    """The dataset as Studio's `getDatasetLabel()` names it.

    `datasetSource`, then the older `dataset`, the first object that names
    something: a Hugging Face `name (subset/split)`, a blob `url`, then the
    legacy `source.name` / `source.url`, then a bare `name` / `url`. A
    `datasetSource: null` beside a legacy `dataset` names the legacy one."""
    for candidate in (config.get("datasetSource"), config.get("dataset")):
        if not isinstance(candidate, dict) or not candidate:
            continue
        kind = candidate.get("type")
        if kind == "huggingface":
            name = candidate.get("name")
            if not isinstance(name, str) or not name:
                continue
            qualifiers = [
                part
                for part in (candidate.get("subset"), candidate.get("split"))
                if isinstance(part, str) and part
            ]
            return f"{name} ({'/'.join(qualifiers)})" if qualifiers else name
        url = candidate.get("url")
        if kind == "blob" and isinstance(url, str):
            return hide_url_secrets(url) or None
        source = candidate.get("source")
        if isinstance(source, dict) and source:
            for key in ("name", "url"):
                found = source.get(key)
                if isinstance(found, str):
                    return found or None
        for key in ("name", "url"):
            found = candidate.get(key)
            if isinstance(found, str):
                return found or None
    return None


#: Studio's placeholder for a value that is missing or does not apply yet
#: (`NO_VALUE_PLACEHOLDER` in its `lib/format.ts`).
NO_VALUE: Final = "N/A"


def duration(start: datetime | None, end: datetime | None) -> timedelta | None:
    if start is None or end is None:
        return None
    return max(end - start, timedelta(0))


def format_duration(value: timedelta | None) -> str:
    """`45s`, `10m02s`, `1h05m00s` (whole seconds); N/A for None."""
    return NO_VALUE if value is None else duration_text(value.total_seconds())


def duration_text(seconds: float | None) -> str:
    """`format_duration` of seconds (the jobs table's hot path needs no timedelta)."""
    if seconds is None:
        return NO_VALUE
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def local_time(value: datetime | None, tz: tzinfo | None = None, missing: str = "-") -> str:
    """Local date and time (the user's zone unless `tz`), as Studio's toLocaleString()."""
    if value is None:
        return missing
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class RunTimes:
    """Started, Completed and Duration of Studio's Job detail (`JobDetail.tsx`)."""

    started: datetime | None
    completed: datetime | None
    duration: timedelta | None


def run_times(
    job: Job | None,
    now: datetime,
    *,
    live_started: datetime | None = None,
    terminal: bool = False,
    terminal_at: datetime | None = None,
) -> RunTimes:
    """Studio's `computeDuration()` and its Started / Completed rows.

    Started: the job's `startedAt`, else `live_started` (the first
    `training.started` event's time). Completed: `completedAt`, else
    `terminal_at` (the time of the terminal event, `terminal`: one was seen).
    Duration runs from Started: to Completed when known; None (N/A) when the
    job ended without an end time, and before the start (queued, warming up:
    the queue and the GPU warm-up are not the run); it ticks (to `now`) once
    the job runs (the poll says `running`, or training.started was seen).
    Without stream values this is the Jobs list's Duration cell too.
    """
    started = (job.started_at if job is not None else None) or live_started
    completed = (job.completed_at if job is not None else None) or terminal_at
    if started is None:
        return RunTimes(None, completed, None)
    if completed is not None:
        return RunTimes(started, completed, duration(started, completed))
    if terminal or (job is not None and job.status in TERMINAL_STATUSES):
        return RunTimes(started, None, None)
    running = (job is not None and job.status == "running") or live_started is not None
    return RunTimes(started, None, duration(started, now) if running else None)


def job_duration(job: Job, now: datetime) -> timedelta | None:
    """The Jobs list's Duration (`JobsTable.jobDurationMs()`): startedAt to
    completedAt, ticking only while running; None (N/A) otherwise."""
    return run_times(job, now).duration


def metadata_rows(
    job: Job,
    now: datetime,
    *,
    status: str | None = None,
    artifacts: int | None = None,
    times: RunTimes | None = None,
    tz: tzinfo | None = None,
) -> list[tuple[str, str]]:
    """The metadata sidebar of Studio's Job detail, as (label, value) text rows.

    `status` overrides the job's (watch derives it from the stream);
    `artifacts`: the count once a terminal event told it (Studio: the
    completed event's count, 0 for a failed job; N/A otherwise); `times`:
    Started / Completed / Duration with the stream's fallbacks (default: the
    job's own, `run_times(job, now)`). Missing values read `N/A`, as in
    Studio. Values are raw server text: callers sanitise before display.
    """
    shown = status or display_status(job, now)
    times = times if times is not None else run_times(job, now)
    return [
        ("Status", shown),
        ("Duration", format_duration(times.duration)),
        ("Created", local_time(job.created_at, tz, NO_VALUE)),
        ("Started", local_time(times.started, tz, NO_VALUE)),
        ("Completed", local_time(times.completed, tz, NO_VALUE)),
        ("Base model", base_model(job.config) or NO_VALUE),
        ("Dataset", describe_dataset(job.config) or NO_VALUE),
        ("Artifacts", str(artifacts) if artifacts is not None else NO_VALUE),
        ("Job ID", job.id),
    ]


# --------------------------------------------------------------------------
# Events


_UNSET: Final[Any] = object()  # a cached value not computed yet


class Event:
    """One named frame of the event stream, with its JSON payload.

    Treat it as immutable (as its `data`): the numbers and the time that the
    view and the lines read are computed from `data` once, on first use, and
    kept (a stream's events are read several times each: the hot path).
    """

    __slots__ = ("_epoch", "_eval_loss", "_loss", "_step", "_when", "data", "id", "name", "raw")

    name: str
    id: str
    data: dict[str, Any]
    #: The frame's `data` text as the server sent it, when asked for
    #: (`watch --json` writes it through instead of re-encoding).
    raw: str | None

    def __init__(self, name: str, id: str, data: dict[str, Any], raw: str | None = None) -> None:
        self.name = name
        self.id = id
        self.data = data
        self.raw = raw
        self._step = self._loss = self._eval_loss = self._when = self._epoch = _UNSET

    # What @dataclass(frozen=True) gave: equality and hash by (name, id, data), a repr.
    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Event)
        return (self.name, self.id, self.data) == (other.name, other.id, other.data)

    def __hash__(self) -> int:
        # By name and id only (`data` is a dict: unhashable). Equal events
        # have equal names and ids, so equal events hash alike.
        return hash((self.name, self.id))

    def __repr__(self) -> str:
        return f"Event(name={self.name!r}, id={self.id!r}, data={self.data!r})"

    @property
    def step(self) -> float | None:
        value = self._step
        if value is _UNSET:
            value = self._step = number(self.data.get("step"))
        return value  # type: ignore[no-any-return]

    @property
    def loss(self) -> float | None:
        value = self._loss
        if value is _UNSET:
            value = self._loss = number(self.data.get("loss"))
        return value  # type: ignore[no-any-return]

    @property
    def eval_loss(self) -> float | None:
        value = self._eval_loss
        if value is _UNSET:
            value = self._eval_loss = number(self.data.get("evalLoss"))
        return value  # type: ignore[no-any-return]

    @property
    def timestamp(self) -> datetime | None:
        value = self._when
        if value is _UNSET:
            value = self._when = parse_time(self.data.get("timestamp"))
        return value  # type: ignore[no-any-return]

    @property
    def epoch_seconds(self) -> float | None:
        """`timestamp` as POSIX seconds (`datetime.timestamp()`), or None."""
        value = self._epoch
        if value is _UNSET:
            when = self.timestamp
            value = self._epoch = None if when is None else when.timestamp()
        return value  # type: ignore[no-any-return]

    @property
    def terminal_status(self) -> str | None:
        return TERMINAL_EVENTS.get(self.name)

    @property
    def artifacts(self) -> list[Any]:
        items = self.data.get("artifacts")
        return items if isinstance(items, list) else []


def parse_event(name: str, event_id: str, data: str, *, keep_raw: bool = False) -> Event | None:
    """A known event from one SSE frame, or None (unknown name, bad JSON).

    A frame is known by its SSE `event:` name, or, when that is absent or
    `message`, by its data's `type`.

    `keep_raw`: keep the `data` text on the event (`Event.raw`)."""
    if name not in KNOWN_EVENTS:
        if name and name != "message":
            return None
        # No name (or SSE's default, `message`): the data's `type` names it,
        # as arkor's own SDK reads it (`core/trainer.ts`).
        payload = _loads_object(data)
        kind = payload.get("type") if payload is not None else None
        if not isinstance(kind, str) or kind not in KNOWN_EVENTS:
            return None
        if kind == END:
            return Event(END, event_id, payload or {})
        return Event(kind, event_id, payload or {}, data if keep_raw else None)
    if name == END:
        # The sentinel's data may be empty or anything at all: it only ends.
        payload = _loads_object(data) if data else None
        return Event(END, event_id, payload or {})
    payload = _loads_object(data)
    if payload is None:
        return None
    return Event(name, event_id, payload, data if keep_raw else None)


def event_from_record(obj: Any) -> Event | None:
    """An event from one NDJSON record written by `watch --json`."""
    if not isinstance(obj, dict):
        return None
    name = obj.get("event")
    data = obj.get("data")
    if not isinstance(name, str) or name not in KNOWN_EVENTS:
        return None
    event_id = obj.get("id")
    return Event(
        name,
        event_id if isinstance(event_id, str) else "",
        data if isinstance(data, dict) else {},
    )


def event_record(event: Event) -> dict[str, Any]:
    """The NDJSON record for one event: what `watch --json` prints."""
    return {"event": event.name, "id": event.id, "data": event.data}


def history_events(items: Any) -> list[Event]:
    """Events embedded in `GET /v1/jobs/{id}` (`events`), in order.

    Entries are accepted as `{"event"|"type": name, "id"?, "data"?: {...}}`
    or as a bare payload that names itself with `type`.
    """
    if not isinstance(items, list):
        return []
    events: list[Event] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        name = item.get("event", item.get("type"))
        if not isinstance(name, str) or name not in KNOWN_EVENTS:
            continue
        data = item.get("data")
        payload = data if isinstance(data, dict) else item
        raw_id = item.get("id")
        event_id = (
            raw_id if isinstance(raw_id, str) else str(raw_id) if raw_id is not None else str(index)
        )
        events.append(Event(name, event_id, payload))
    return events


_INT64: Final = 2.0**63  # orjson's integers are exact below this in size (and to 2**64 - 1)
#: orjson.loads once looked for (on the first event, not at start-up: the
#: import costs milliseconds that `--help` and TAB completion do not need).
_fast_loads: Any = _UNSET


def _bind_fast_loads() -> Any:
    global _fast_loads
    loads: Any = None  # (a platform without its wheel: json alone, as fast as before)
    try:
        from orjson import loads
    except ImportError:
        pass
    _fast_loads = loads
    return loads


# What json.loads() runs, minus its checks (an attribute typeshed does not list).
_scan_once: Any = getattr(json.decoder.JSONDecoder(), "scan_once")  # noqa: B009


def _loads_object(data: str) -> dict[str, Any] | None:
    """`json.loads(data)` when that is a JSON object, else None.

    The fast path is orjson (about 2.5x json's speed on an event's data),
    when it is installed and its object is one that json.loads() reads the
    same: orjson refuses what strict JSON does not allow and json.loads()
    takes (NaN, Infinity, a number past a double, a lone surrogate: those
    go to json below) and reads an integer past 64 bits as a float where
    json keeps the int. So an object is taken from orjson only when its
    values are flat and no float among them is 2**63 or more in size (such
    a float may have been such an int; nested values are not looked into).

    Then the scanner that `json.loads()` itself uses, from index 0: when it
    reads a value that ends exactly at the end of the text, that is
    `json.loads()`'s value (no leading whitespace, BOM or trailing text to
    judge). Anything else goes through `json.loads()`. tests/test_fast_paths.py
    holds all three to json.loads() on every kind of JSON text."""
    fast = _fast_loads
    if fast is _UNSET:
        fast = _bind_fast_loads()
    if fast is not None:
        try:
            value = fast(data)
        except ValueError:  # (orjson.JSONDecodeError): json judges below
            pass
        else:
            if value.__class__ is dict:
                for item in value.values():
                    kind = item.__class__
                    if kind is float:
                        if -_INT64 < item < _INT64:
                            continue
                        break
                    if kind is dict or kind is list:
                        break
                else:
                    return value
    try:
        value, end = _scan_once(data, 0)
    except Exception:  # json.loads() below says what it is
        end = -1
    if end != len(data):
        try:
            value = json.loads(data)
        except (ValueError, RecursionError):
            return None
    return value if type(value) is dict else None


def validate_job_id(job_id: str) -> str:
    """Job ids are opaque, but never empty, never dot-segments, never control text."""
    from arkor_cli_studio.errors import UsageError

    if not job_id or job_id in {".", ".."}:
        raise UsageError(f"Not a job id: {job_id!r}")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in job_id):
        raise UsageError("A job id cannot contain control characters.")
    if len(job_id) > 512:
        raise UsageError("That job id is too long to be real (over 512 characters).")
    return job_id


@dataclass(frozen=True, slots=True)
class StreamNotice:
    """Something that happened to the connection rather than the job.

    kind: "interrupted" (the stream dropped or a request failed; we retry
    after `delay` seconds; `attempt` counts consecutive failures) or
    "resumed" (a stream is open again after an interruption).
    """

    kind: str
    reason: str = ""
    attempt: int = 0
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class JobDetail:
    """`GET /v1/jobs/{id}`: the job, and its history when the server sends it."""

    job: Job
    events: list[Event] | None
