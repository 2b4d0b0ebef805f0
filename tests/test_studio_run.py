"""The pure parts of Studio's Run-training protocol: the trailer and the manifest."""

from __future__ import annotations

import random

import pytest

from arkor_cli_studio.studio_run import (
    Manifest,
    TrailerSplitter,
    TrainOutcome,
    manifest_error,
    parse_manifest,
    parse_trailer,
)


def split(stream: bytes, sizes: list[int]) -> tuple[bytes, TrainOutcome | None, list[bytes]]:
    """Feed `stream` in pieces of these sizes; (output, outcome, what each feed returned)."""
    splitter = TrailerSplitter()
    pieces, out = [], []
    rest = stream
    for size in sizes:
        pieces.append(rest[:size])
        rest = rest[size:]
    if rest:
        pieces.append(rest)
    for piece in pieces:
        out.append(splitter.feed(piece))
    tail, outcome = splitter.finish()
    out.append(tail)
    return b"".join(out), outcome, out


OUTPUTS = [
    b"Started job j1\nJob j1 finished with status=completed\n",
    b"no newline at the end",
    b"",
    b"\n",
    b"ends with a dash line\n---\n",
    b"looks like a trailer\n---\nexit=0\nbut it goes on\n",
    b"\x00\xff\xfe binary \r\n\x1b[31mred\x1b[0m progress\r 50%\r100%",
    b"---\nexit=3",
    b"\n---\nfailed to start: not really\n",
]
TRAILERS = [
    (b"\n---\nexit=0\n", TrainOutcome(0)),
    (b"\n---\nexit=17\n", TrainOutcome(17)),
    (b"\n---\nexit=null\n", TrainOutcome(None)),
    (b"\n---\nexit=2", TrainOutcome(2)),  # no final newline
    (b"\n---\nfailed to start: spawn node ENOENT\n", TrainOutcome(None, "spawn node ENOENT")),
    (b"\n---\nerror=spawn EACCES\n", TrainOutcome(None, "spawn EACCES")),
]


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize(("trailer", "outcome"), TRAILERS)
def test_output_is_byte_exact_and_trailer_parsed_at_every_split(output, trailer, outcome):
    stream = output + trailer
    for cut in range(len(stream) + 1):
        got, got_outcome, _ = split(stream, [cut])
        assert (got, got_outcome) == (output, outcome), cut
    got, got_outcome, _ = split(stream, [1] * len(stream))  # one byte at a time
    assert (got, got_outcome) == (output, outcome)
    rng = random.Random(7)
    for _ in range(20):
        sizes = [rng.randint(1, 6) for _ in range(len(stream))]
        assert split(stream, sizes)[:2] == (output, outcome)


def test_output_is_released_as_soon_as_it_cannot_be_the_trailer():
    splitter = TrailerSplitter()
    assert splitter.feed(b"step 1\nstep 2") == b"step 1\nstep 2"
    assert splitter.feed(b"\n") == b""  # could start the trailer: held
    assert splitter.feed(b"-") == b""
    assert splitter.feed(b"x") == b"\n-x"  # could not: released at once
    assert splitter.feed(b"\n---\nexit=") == b""
    assert splitter.feed(b"1\nmore") == b"\n---\nexit=1\nmore"
    assert splitter.feed(b"\n---\nhello") == b"\n---\nhello"  # not a status line


def test_no_trailer_means_no_outcome_and_all_bytes_are_output():
    for stream in (b"cut short", b"cut short\n", b"x\n---\n", b"x\n---\nexit=", b"x\n---\nexit=4x"):
        got, outcome, _ = split(stream, [3])
        assert (got, outcome) == (stream, None)
    splitter = TrailerSplitter()
    assert splitter.feed(b"a\n---\nexit=0") == b"a"
    assert splitter.flush() == b"\n---\nexit=0"  # the connection broke: it was output


def test_a_long_line_after_the_separator_is_not_held_forever():
    splitter = TrailerSplitter()
    assert splitter.feed(b"\n---\nfailed to start: ") == b""
    big = b"x" * (70 * 1024)
    assert splitter.feed(big) == b"\n---\nfailed to start: " + big


def test_parse_trailer_rejects_what_is_not_one():
    assert parse_trailer(b"\n---\nexit=0\n") == TrainOutcome(0)
    for data in (b"---\nexit=0\n", b"\n---\nexit=\n", b"\n---\nexit=0\n\n", b"\n---\nbye\n"):
        assert parse_trailer(data) is None


def test_manifest_three_answers():
    # (their words on the terminal: tests/test_train_studio.py)
    found = parse_manifest({"trainer": {"name": "sft-qwen"}})
    assert found == Manifest("trainer", trainer_name="sft-qwen")
    assert parse_manifest({"trainer": None}) == Manifest("no-trainer")
    assert parse_manifest({}).kind == "no-trainer"
    broken = manifest_error("Cannot find module './trainer'")
    assert broken == Manifest("unreadable", error="Cannot find module './trainer'")
    assert parse_manifest([1]).kind == "unreadable"
    assert parse_manifest({"trainer": 3}).kind == "unreadable"
    assert parse_manifest({"trainer": {}}) == Manifest("trainer", trainer_name=None)
