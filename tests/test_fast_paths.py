"""The ingest hot path's fast paths, each against the reference it replaces.

`watch` reads hundreds of thousands of events, so the per-event path has
fast versions of: the SSE line splitting (feeding httpx-sse's decoder), the JSON object reader
(`json.loads`), `number()`, the local time of an event (`astimezone()`), and
the NDJSON record (`json.dumps`). Each must give exactly what the reference
gives, on the inputs where they could differ.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from httpx_sse import EventSource

from arkor_cli_studio.cloud.reader import COMMENT, LineTooLong, Reader
from arkor_cli_studio.jobinfo import jsonable
from arkor_cli_studio.model import Event, _loads_object, event_record, number, parse_event
from arkor_cli_studio.progress import format_step
from arkor_cli_studio.render.lines import _LocalStamps, event_time, plain_event_line, record_line
from arkor_cli_studio.textsafe import json_text

# ---- SSE: our parser vs. httpx-sse ------------------------------------------------------


class _Response:
    """What httpx-sse's EventSource reads: headers and iter_text()."""

    def __init__(self, chunks: list[str]) -> None:
        self.headers = httpx.Headers({"content-type": "text/event-stream"})
        self._chunks = chunks

    def iter_text(self) -> Iterator[str]:
        yield from self._chunks


def reference_frames(chunks: list[str]) -> list[tuple[str, str, str, int | None]]:
    """httpx-sse's own reading; minus a leading BOM, which it would glue to the
    first field's name (losing the first event) and we drop."""
    text = "".join(chunks)
    if text.startswith("\ufeff"):
        chunks = [text[1:]] if len(text) > 1 else []
    source = EventSource(_Response(chunks))  # type: ignore[arg-type]
    return [(sse.event, sse.data, sse.id, sse.retry) for sse in source.iter_sse()]


def our_frames(chunks: list[str]) -> list[tuple[str, str, str, int | None]]:
    """Our line splitting (capped) feeding httpx-sse's decoder, read by read."""
    reader = Reader(1 << 30)
    items = [
        item for chunk in chunks for item in reader.feed(chunk.encode("utf-8", "surrogatepass"))
    ]
    items += reader.end()
    return [sse for sse in items if sse is not COMMENT]


STREAMS = [
    "",
    "\n",
    "\r",
    "\r\n",
    "\n\n\n",
    "data: x",  # unterminated: never dispatched
    "data: x\n",  # no blank line: never dispatched
    "data: x\n\n",
    "data: x\r\r",  # CR-only line ends
    "data: x\r\n\r\n",
    "data: x\r\n\n\rdata: y\r\r\n",  # mixed line ends
    'id: 1\nevent: training.log\ndata: {"step": 1}\n\n',
    "id: 1\nevent: a\ndata: 1\n\nevent: b\ndata: 2\n\n",  # the id carries over
    "id: 1\n\n\n",  # an id alone dispatches (and the empty blocks after it too)
    "id: 1\ndata: a\n\nid\ndata: b\n\n",  # `id` with no colon: the id becomes empty
    "id: a\0b\ndata: x\n\n",  # an id with NUL is ignored
    "data\n\n",  # a field with no colon: empty data
    "data:\n\n",
    "data:  two spaces\n\n",  # only one space is dropped
    "data:no space\n\n",
    "data: 1\ndata: 2\ndata:\ndata: 3\n\n",  # multi-line data
    ": a comment\ndata: x\n\n",
    ":\n\n",
    "  : not a comment\n\n",
    "event: end\n\n",  # a name with no data
    "event\ndata: x\n\n",  # an empty name: message
    "event: a\nevent: b\ndata: x\n\n",  # the last name wins
    "retry: 1000\n\n",  # retry alone dispatches
    "retry: x\n\n",  # junk retry: not kept, nothing to dispatch
    "retry: +5\ndata: x\n\n",
    "retry: 1_000\ndata: x\n\nretry: \ndata: y\n\n",
    "unknown: field\ndata: x\n\n",
    "DATA: upper case is another field\n\n",
    "data: é ✓ \u2028 \x9b\n\n",
    "data: a\u2029b\x85c\x0bd\x0ce\x1cf\n\n",  # line separators Python's splitlines obeys
    "\ufeffdata: x\n\n",  # a BOM in the middle of the text is a character
    "data: " + "x" * 200_000 + "\n\n",
    # The reader's fast path (id, event, data, blank) mixed with the decoder's blocks:
    "id: 1\nevent: a\ndata: 1\n\nid: x\0y\nevent: b\ndata: 2\n\n",  # NUL: the last id stays
    "id: 1\nevent: a\ndata: 1\n\nid: 2\nevent: b\ndata: 2\ndata: 3\n\n",  # two data lines
    "id: 1\nevent: a\ndata: 1\n\n\n\n",  # blank lines after it: nothing
    "retry: 5\nid: 1\nevent: a\ndata: x\n\n",  # a field pending before the block
    "data: x\nid: 1\nevent: a\ndata: y\n\n",
    "id: 1\nevent: a\ndata: x\n\nid: \nevent: b\ndata: y\n\nevent: c\ndata: z\n\n",
    "id: 1\nevent: \ndata: x\n\n",  # an empty name: message
    "id: 1\nevent: a\ndata: x\n\nid\n\n",  # the id emptied by the decoder
    "id: 1\nevent: a\ndata: x\n\nretry: 9\n\nid: 2\nevent: a\ndata: y\n\ndata: z\n\n",
    "id: 1\nevent: a\ndata: x\n\n: c\nid: 2\nevent: b\ndata: y\n\n",
    "id: 1\nevent: a\ndata: x\n\nid: 2\nevent: a\ndata: y\n",  # unterminated
    "id: 1\r\nevent: a\r\ndata: x\r\n\r\nid: 2\revent: b\rdata: y\r\r",
    "id: 1\nevent: a\ndata: x\n\nid:2\nevent:b\ndata:y\n\nid: 3\nevent: c\ndata: z\n\n",
    "id: 1\ndata: x\nevent: a\n\nid: 2\nevent: a\ndata: y\n\nevent: b\ndata: z\n\n",
    "id: \0\nevent: a\ndata: x\n\nevent: b\ndata: y\n\n",  # no id yet, then NUL
    "id: 1\nevent: a: b\ndata: c: d\n\n",  # colons in the values
]


def chunkings(text: str, rng: random.Random) -> Iterator[list[str]]:
    yield [text] if text else []
    yield list(text)  # one character at a time: every boundary
    if len(text) < 2:
        return
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 6))))
        bounds = [0, *cuts, len(text)]
        yield [text[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize("text", STREAMS, ids=range(len(STREAMS)))
def test_sse_frames_are_httpx_sses_at_every_chunking(text):
    rng = random.Random(text)
    expected = reference_frames([text] if text else [])
    for chunks in chunkings(text if len(text) < 1000 else text[:50] + text[-50:], rng):
        assert our_frames(chunks) == reference_frames(chunks), chunks
    assert our_frames([text] if text else []) == expected


def test_sse_frames_on_random_streams():
    rng = random.Random(9)
    pieces = [
        "data: x",
        "data:",
        "data",
        "id: 7",
        "id: \0",
        "id",
        "event: training.log",
        "event:",
        "retry: 5",
        "retry: z",
        ": c",
        "",
        "junk",
        " data: y",
    ]
    ends = ["\n", "\r", "\r\n"]
    for _ in range(300):
        text = "".join(rng.choice(pieces) + rng.choice(ends) for _ in range(rng.randint(0, 12)))
        for chunks in chunkings(text, rng):
            assert our_frames(chunks) == reference_frames(chunks), chunks


def test_sse_frames_on_random_streams_of_whole_blocks():
    """The reader's fast path (a block of id, event, data and a blank line)
    between the decoder's blocks: the ids carry over either way."""
    rng = random.Random(22)
    pieces = [
        "id: 7\nevent: training.log\ndata: {}\n",
        "id: 8\nevent: e\ndata: d\n",
        "id: a\0\nevent: e\ndata: d\n",
        "id: \nevent: \ndata: \n",
        "id: 9\nevent: x\ndata: y\ndata: z\n",
        "event: e\ndata: d\n",
        "data: x",
        "id: 3",
        "id",
        "retry: 5",
        ": c",
        "",
        "",
    ]
    ends = ["\n", "\r", "\r\n"]
    for _ in range(300):
        text = "".join(rng.choice(pieces) + rng.choice(ends) for _ in range(rng.randint(0, 12)))
        for chunks in chunkings(text, rng):
            assert our_frames(chunks) == reference_frames(chunks), chunks


def test_a_large_line_over_many_chunks_is_joined_once():
    line = "data: " + "y" * (1 << 20) + "\n\n"
    chunks = [line[i : i + 65536] for i in range(0, len(line), 65536)]
    assert our_frames(chunks) == [("message", "y" * (1 << 20), "", None)]


@pytest.mark.parametrize(
    "chunks",
    [
        [],
        ["\ufeff"],
        ["\ufeff", "\ufeffdata: x\n\n"],
        ["\ufeff\ufeffdata: x\n\n"],
        ["data: \ufeff\n\n", "\ufeff"],
        ["\ufeffdata: x\n", "\ufeff\n"],
    ],
)
def test_one_leading_bom_is_stripped(chunks):
    """httpx-sse would glue a leading BOM to the first field (and lose the
    first event): we drop one, at the very start of the stream only."""
    assert our_frames(chunks) == reference_frames(chunks)


def test_utf8_split_across_reads_is_joined():
    data = "data: é✓\n\n".encode()
    reader = Reader(1 << 20)
    items = [item for i in range(len(data)) for item in reader.feed(data[i : i + 1])]
    assert [sse[1] for sse in items] == ["é✓"]


def test_comment_lines_are_reported_in_order():
    reader = Reader(1 << 20)
    items = reader.feed(b"data: 1\n\n: keepalive\ndata: 2\n\n")
    assert [item if item is COMMENT else item[1] for item in items] == ["1", COMMENT, "2"]


@pytest.mark.parametrize(
    "chunks",
    [
        [b"data: " + b"x" * 2000],  # a line that never ends
        [b"data: " + b"x" * 600 + b"\n", b"data: " + b"y" * 600 + b"\n"],  # one event, two lines
        [b"data: 1\n\n" + b"data: " + b"z" * 1100 + b"\n\ndata: 2\n\n"],  # inside one read
        [b"data: " + b"x" * 100] * 20,  # many small reads
    ],
)
def test_a_line_or_an_event_past_the_cap_raises(chunks):
    reader = Reader(1024)
    with pytest.raises(LineTooLong, match="over 1 KiB"):
        for chunk in chunks:
            reader.feed(chunk)


def test_events_under_the_cap_pass_however_many():
    reader = Reader(1024)
    frame = b"data: " + b"x" * 1000 + b"\n\n"  # each event just under the cap
    got = [item for _ in range(50) for item in reader.feed(frame)]
    got += [item for chunk in (frame[:500], frame[500:]) * 5 for item in reader.feed(chunk)]
    got += [item for chunk in (frame[:-1], frame[-1:]) * 5 for item in reader.feed(chunk)]
    assert len(got) == 60


# ---- JSON objects: the scanner fast path vs. json.loads ------------------------------------


def _loads_reference(data: str) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


@pytest.mark.parametrize(
    "data",
    [
        '{"step": 1}',
        ' {"step": 1}',
        '{"step": 1} ',
        '{"step": 1}\n',
        '\t{"a":1}\r\n',
        "\ufeff{}",
        "{}",
        "{} {}",
        "{}x",
        '{"a": NaN, "b": Infinity, "c": -Infinity}',
        '{"big": 1e309, "int": 123456789012345678901234567890}',
        '{"a": "\\u00e9\\ud83d\\ude00", "b": "\\ud800"}',
        '{"a": 1, "a": 2}',
        "[1, 2]",
        '"text"',
        "5",
        "null",
        "",
        " ",
        "{",
        '{"a": }',
        '{"a": "\x01"}',  # a raw control inside a string: strict JSON refuses it
        '{"n": ' + "[" * 100_000 + "]" * 100_000 + "}",  # deeper than the recursion limit
        '{"n": ' + "[" * 50 + "]" * 50 + "}",
        '{"x": "' + "z" * 100_000 + '"}',
    ],
)
def test_loads_object_is_json_loads(data):
    assert _typed(_loads_object(data)) == _typed(_loads_reference(data))
    if _loads_object(data) is not None:
        assert type(_loads_object(data)) is dict


def _typed(value: Any) -> Any:
    """A value with the type of every part spelt out (1 and 1.0 are equal
    in Python, and NaN is not equal to itself: neither may hide a difference)."""
    if isinstance(value, dict):
        return ("dict", [(key, _typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(item) for item in value])
    if isinstance(value, float):
        return ("float", value.hex())
    return (type(value).__name__, value)


# Where orjson (the first fast path) and json.loads() part ways, or could.
_ORJSON_EDGES = [
    # integers: orjson's are exact to 64 bits, then a float (json: the int)
    '{"n": 9223372036854775807}',
    '{"n": 9223372036854775808}',
    '{"n": 18446744073709551615}',
    '{"n": 18446744073709551616, "loss": 0.5}',
    '{"n": -9223372036854775808}',
    '{"n": -9223372036854775809}',
    '{"n": [18446744073709551616]}',  # nested: not looked into, so json reads it
    '{"n": {"m": 123456789012345678901234567890}}',
    '{"x": 9.3e18, "y": -9.3e18}',  # floats that large: json reads them (the same)
    # numbers at a double's ends
    '{"x": 1e-400, "y": -1e-400, "z": 4.9e-324, "w": 2.2250738585072011e-308}',
    '{"x": 1.7976931348623157e308}',
    '{"x": 1.7976931348623159e308}',  # past the largest double: json says inf
    '{"x": -0, "y": -0.0, "z": 0e0, "w": 1E+2, "v": 1e-2}',
    # what strict JSON refuses and json.loads() takes
    '{"x": NaN}',
    '{"x": -Infinity}',
    '{"s": "\\udc00\\ud800"}',
    # order and repeats of keys
    '{"a": 1, "b": 2, "a": 3}',
    # whitespace json and orjson both allow, and what neither does
    ' \t\r\n{"a": 1}\n ',
    '{"a": 1}\x0c',
    '\u00a0{"a": 1}',
    # strings
    '{"s": "\\u0000\\u001f\\"\\\\\\/\\b\\f\\n\\r\\t", "e": "é✓\U0001f600"}',
    '{"s": "\\ud83d\\ude00"}',
    '{"s": "\udc80"}',  # a raw lone surrogate in the text itself: orjson refuses it
    '{"a": 1}\x00',
    '{"n": ' + "[" * 1100 + "]" * 1100 + "}",  # past orjson's depth limit (1024)
]


@pytest.mark.parametrize("data", _ORJSON_EDGES)
def test_loads_object_is_json_loads_where_orjson_differs(data):
    assert _typed(_loads_object(data)) == _typed(_loads_reference(data))


def _random_number(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:  # an integer of 1 to 30 digits, either sign
        return rng.choice(["", "-"]) + str(rng.randrange(10 ** rng.randrange(1, 31)))
    if kind == 1:  # around 2**63 and 2**64
        return str(rng.choice([2**63, 2**64, -(2**63)]) + rng.randrange(-3, 4))
    if kind == 2:  # a double's shortest text
        return repr(rng.uniform(-1e6, 1e6))
    if kind == 3:  # many digits, an exponent anywhere in a double's range and past it
        digits = str(rng.randrange(1, 10**25))
        return f"{digits[0]}.{digits[1:]}e{rng.randrange(-330, 330)}"
    if kind == 4:  # a random double, any magnitude
        return repr(rng.choice([-1, 1]) * rng.random() * 10.0 ** rng.randrange(-320, 309))
    return rng.choice(["0", "-0", "0.0", "-0.0", "1E5", "1e-7", "12.5e+3"])


def test_loads_object_is_json_loads_on_random_events():
    """Event-like objects with numbers of every kind: orjson's reading where
    it is taken, json's otherwise: json.loads()'s value every time."""
    rng = random.Random(20261202)
    for _ in range(3000):
        fields = [f'"k{i}": {_random_number(rng)}' for i in range(rng.randrange(1, 8))]
        fields.append('"type": "training.log"')
        rng.shuffle(fields)
        data = "{" + ", ".join(fields) + "}"
        assert _typed(_loads_object(data)) == _typed(_loads_reference(data)), data


def test_loads_object_takes_orjson_when_installed():
    """The fast path is there (else the two tests above compare json with itself)."""
    import arkor_cli_studio.model as model

    pytest.importorskip("orjson")
    _loads_object('{"a": 1}')
    assert model._fast_loads is not None and model._fast_loads is not model._UNSET


def test_parse_event_skips_what_it_skipped():
    assert parse_event("training.log", "1", "[1]") is None
    assert parse_event("training.log", "1", " ") is None
    assert parse_event("end", "9", "not json") == Event("end", "9", {})
    event = parse_event("training.log", "2", ' {"step": 3} ', keep_raw=True)
    assert event == Event("training.log", "2", {"step": 3})
    assert event is not None and event.raw == ' {"step": 3} '


# ---- number() -------------------------------------------------------------------------------


def _number_reference(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        f = float(value)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


class _Int(int):
    pass


class _Float(float):
    pass


_NUMBER_CASES = [
    0,
    1,
    -7,
    2**53 + 1,
    10**308,
    10**309,
    -(10**400),
    0.0,
    -0.0,
    1.5,
    1e308,
    math.inf,
    -math.inf,
    math.nan,
    True,
    False,
    None,
    "5",
    [1],
    {"a": 1},
    _Int(3),
    _Float(2.5),
    _Float("inf"),
]


@pytest.mark.parametrize("value", _NUMBER_CASES)
def test_number_is_the_reference(value):
    got, expected = number(value), _number_reference(value)
    assert got == expected or (got is None and expected is None)
    assert type(got) is type(expected)


@pytest.mark.parametrize("value", _NUMBER_CASES)
def test_event_numbers_are_number(value):
    """Event.step, .loss and .eval_loss are number() of their fields: the
    same answer, of the same type, for every kind of value."""
    event = Event("training.log", "1", {"step": value, "loss": value, "evalLoss": value})
    expected = _number_reference(value)
    for got in (event.step, event.loss, event.eval_loss):
        assert got == expected or (got is None and expected is None)
        assert type(got) is type(expected)


def test_event_caches_what_it_computes():
    data = {"step": 5, "loss": 0.5, "evalLoss": math.inf, "timestamp": "2026-03-01T12:00:00.5Z"}
    event = Event("training.log", "1", data)
    assert (event.step, event.loss, event.eval_loss) == (5.0, 0.5, None)
    assert event.timestamp == datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC)
    assert event.epoch_seconds == event.timestamp.timestamp()
    assert event.timestamp is event.timestamp  # parsed once
    assert Event("ping", "", {}).epoch_seconds is None
    # What @dataclass(frozen=True) gave: equality by value, raw not compared, the repr.
    assert event == Event("training.log", "1", dict(data), raw="{}")
    assert event != Event("training.log", "2", data)
    assert event != ("training.log", "1", data)
    assert repr(Event("a", "1", {"x": 1}, raw="r")) == "Event(name='a', id='1', data={'x': 1})"


# ---- local time: _LocalStamps vs. astimezone() ---------------------------------------------


def _reference_time(when: datetime, *, date: bool = True) -> str:
    t = when.astimezone(None)
    clock = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {clock}" if date else clock


def _transitions(start: int, end: int) -> list[int]:
    """The whole seconds at which the local zone's offset changes, in [start, end)."""
    found = []
    step = 6 * 3600
    previous = time.localtime(start).tm_gmtoff
    for t in range(start + step, end, step):
        offset = time.localtime(t).tm_gmtoff
        if offset != previous:
            lo, hi = t - step, t  # the offset of lo is `previous`, of hi is `offset`
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if time.localtime(mid).tm_gmtoff == previous:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
            previous = offset
    return found


@pytest.fixture
def local_zone():
    """Sets TZ for the test (and tzset), then puts UTC back (conftest's)."""
    saved = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield use
    os.environ["TZ"] = saved if saved is not None else "UTC"
    time.tzset()


ZONES = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",  # a 30-minute DST change
    "Asia/Kathmandu",  # +05:45 (and +05:30 until 1986)
    "Pacific/Apia",  # skipped a whole day in 2011
    "Africa/Casablanca",  # several changes a year (Ramadan)
    "America/St_Johns",  # -03:30 / -02:30
    "right/Europe/Berlin",  # leap seconds in the zone file
    "<+0130>-1:30",  # a POSIX TZ string, no file
]


@pytest.mark.parametrize("zone", ZONES)
def test_local_stamps_are_astimezone_across_offset_changes(local_zone, zone):
    if "/" in zone and not os.path.exists(f"/usr/share/zoneinfo/{zone}"):
        pytest.skip(f"no zone file for {zone}")
    local_zone(zone)
    start = int(datetime(1970, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(2038, 1, 1, tzinfo=UTC).timestamp())
    changes = _transitions(start, end)
    moments = [t + d for t in changes for d in (-3601, -61, -2, -1, 0, 1, 2, 61, 3600)]
    moments += [0, 1, 59, 60, 86399, 86400, 951782400, 1709251199, end]  # edges, a leap day
    rng = random.Random(zone)
    moments += [rng.randrange(0, 2**33 - 1) for _ in range(300)]
    stamps = _LocalStamps().stamp
    for base in sorted(moments):
        for fraction in (0.0, 0.000001, 0.5, 0.999999):
            when = datetime.fromtimestamp(base, UTC) + timedelta(seconds=fraction)
            seconds = when.timestamp()
            assert stamps(seconds) == _reference_time(when), (zone, when)
    # Out of range: the caller asks astimezone() instead.
    assert stamps(-0.5) is None and stamps(2.0**33) is None


@pytest.mark.parametrize("zone", [z for z in ZONES if z != "UTC"])
def test_an_offset_kept_for_a_span_ends_at_the_change(local_zone, zone):
    """The offset of one `localtime()` serves the next SPAN seconds only when
    the offset SPAN seconds on is the same: a stamp taken just before a
    change, then stamps just after it, each from a fresh memo."""
    if "/" in zone and not os.path.exists(f"/usr/share/zoneinfo/{zone}"):
        pytest.skip(f"no zone file for {zone}")
    local_zone(zone)
    start = int(datetime(1970, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(2038, 1, 1, tzinfo=UTC).timestamp())
    for change in _transitions(start, end)[:40]:
        for before in (1, 60, _LocalStamps.SPAN // 2, _LocalStamps.SPAN - 1):
            stamps = _LocalStamps().stamp
            for base in (change - before, change, change + 1, change - before + _LocalStamps.SPAN):
                when = datetime.fromtimestamp(base, UTC)
                assert stamps(when.timestamp()) == _reference_time(when), (zone, when, before)


def test_no_zone_changes_its_offset_twice_within_the_span():
    """What the span rests on, checked on this machine's tz database: the
    closest two offset changes of any zone are further apart than SPAN."""
    import zoneinfo
    from zoneinfo import _zoneinfo  # the pure-Python reader exposes the transitions

    closest = None
    for name in sorted(zoneinfo.available_timezones()):
        try:
            zone = _zoneinfo.ZoneInfo.no_cache(name)
        except (OSError, ValueError):
            continue
        changes = getattr(zone, "_trans_utc", None) or []
        for a, b in itertools.pairwise(changes):
            if closest is None or b - a < closest[0]:
                closest = (b - a, name, a)
    if closest is None:
        pytest.skip("no tz database here")
    assert closest[0] > _LocalStamps.SPAN, closest


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Australia/Lord_Howe"])
def test_event_time_and_plain_lines_are_the_reference(local_zone, zone):
    local_zone(zone)
    texts = [
        "2026-03-08T06:59:59.999999Z",
        "2026-03-08T07:00:00Z",
        "2026-03-08T07:00:00.000001Z",
        "2026-11-01T05:59:59.5Z",
        "2026-11-01T06:00:00z",
        "2026-04-05T02:30:00+11:00",
        "2026-04-05T02:30:00.12-00:30",
        "2026-10-04T02:00:00",  # no zone: UTC
        "  2026-10-04T02:00:00.1234Z ",
        "1969-12-31T23:59:59.5Z",  # before 1970: astimezone() itself
        "2300-01-01T00:00:00Z",  # after 2242: astimezone() itself
        "9999-12-31T12:00:00Z",
        "0001-01-01T12:00:00Z",
        "not a time",
        "",
    ]
    for text in texts:
        event = Event("training.log", "1", {"step": 1, "loss": 0.5, "timestamp": text})
        when = event.timestamp
        for date in (True, False):
            expected = "-" if when is None else _reference_time(when, date=date)
            assert event_time(event, date=date) == expected, text
        line = plain_event_line(Event("training.log", "1", {"step": 1, "timestamp": text}))
        assert line == f"{'-' if when is None else _reference_time(when):<19}  training.log" + (
            "        step=1"
        )
    # An explicit zone is astimezone() as before.
    event = Event("training.log", "1", {"timestamp": "2026-03-01T12:00:05Z"})
    assert event_time(event, timezone(timedelta(hours=-5))) == "2026-03-01 07:00:05"


def test_the_memo_follows_a_change_of_zone(local_zone):
    event = Event("training.log", "1", {"timestamp": "2026-07-01T12:00:00Z"})
    local_zone("UTC")
    assert event_time(event) == "2026-07-01 12:00:00"
    local_zone("America/New_York")  # the same second, now 4 hours behind
    assert event_time(event) == "2026-07-01 08:00:00" == _reference_time(event.timestamp)


def _plain_reference(event: Event) -> str:
    """The plain line as it was built before the fast path."""
    when = event.timestamp
    stamp = "-" if when is None else _reference_time(when)
    step, loss, eval_loss = (number(event.data.get(k)) for k in ("step", "loss", "evalLoss"))
    message = f"step={format_step(step) if step is not None else '-'}"
    if loss is not None:
        message += f" loss={loss:.4f}"
    if eval_loss is not None:
        message += f" evalLoss={eval_loss:.4f}"
    return f"{stamp:<19}  {event.name:<18}  {message}".rstrip()


@pytest.mark.parametrize(
    "data",
    [
        {"step": 1, "loss": 0.5},
        {"step": 1.5, "loss": 1e-9, "evalLoss": 123456.789},
        {"step": -0.0, "loss": -0.0},
        {"step": 1e20, "loss": 1e300},
        {"step": 2**60 + 1},
        {"step": "5", "loss": math.inf, "evalLoss": math.nan},
        {"step": True, "loss": None},
        {},
        {"evalLoss": 0.25},
    ],
)
@pytest.mark.parametrize(
    "timestamp", [None, "2026-03-01T12:00:05.5Z", "1960-01-01T00:00:00Z", "2500-01-01T00:00:00Z"]
)
def test_plain_log_lines_are_the_reference(local_zone, data, timestamp):
    local_zone("Europe/London")
    payload = {**data, **({"timestamp": timestamp} if timestamp else {})}
    event = Event("training.log", "1", payload)
    assert plain_event_line(event) == _plain_reference(event)


# ---- the NDJSON record: spliced vs. json.dumps ---------------------------------------------


def _record_reference(event: Event) -> str:
    raw = event.raw
    if raw is None or "\n" in raw or "\r" in raw or "NaN" in raw or "Infinity" in raw:
        record = jsonable(event_record(event))
        return json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"
    data = json_text(raw)
    return f'{{"event":{json.dumps(event.name)},"id":{json.dumps(event.id)},"data":{data}}}\n'


@pytest.mark.parametrize("event_id", ["1", "", 'a"b\\c', "é7", "\x1b[31m", "\u2028", "\ud800"])
@pytest.mark.parametrize(
    "raw",
    ['{"step":1}', '{"t":"é"}', '{"t":"\x7f\x9b"}', '{"t":"\u202e"}', '{"a":NaN}', None],
)
@pytest.mark.parametrize("name", ["training.log", "end", "ping", 'odd"name'])
def test_record_line_is_the_reference(name, event_id, raw):
    data = json.loads(raw) if raw is not None else {"x": 1}
    event = Event(name, event_id, data, raw)
    assert record_line(event) == _record_reference(event)
