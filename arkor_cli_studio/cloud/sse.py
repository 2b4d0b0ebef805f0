"""Server-sent events from text chunks: httpx-sse's parser, a chunk at a time.

`frames()` gives exactly what `httpx_sse.EventSource(response).iter_sse()`
gives for the same text (tests/test_fast_paths.py compares the two on tricky
streams): lines end at CRLF, CR or LF, also across chunk boundaries; a blank
line dispatches the block; `:` lines are comments; one space after the colon
is dropped; `data` lines are joined with newlines; an `id` with NUL is
ignored and the last id carries over to later blocks; `retry` keeps an
integer; a block with nothing in it is not dispatched, an unterminated last
block is dropped. The event name defaults to `message`.

Why not httpx-sse itself: it walks every line through two generators and a
method call, which was a third of `watch`'s ingest time. Here a chunk is
split at once and its lines are read in one loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

#: One dispatched block: (event, data, id, retry), as httpx-sse's
#: `ServerSentEvent` has them (the event name defaults to `message`).
Frame = tuple[str, str, str, int | None]


def lines(chunks: Iterable[str]) -> Iterator[list[str]]:
    """The complete lines of the text, a list per chunk (line ends removed).

    The last line needs no line end: it is given when the text ends."""
    partial: list[str] = []  # the start of a line that has not ended yet
    cr = False  # the previous chunk ended with CR (a CRLF may be split)
    for text in chunks:
        if cr:
            text = "\r" + text
            cr = False
        if text.endswith("\r"):
            cr = True
            text = text[:-1]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            if text:
                partial.append(text)
            continue
        split = text.split("\n")
        if partial:
            partial.append(split[0])
            split[0] = "".join(partial)
            partial = []
        last = split.pop()
        if last:
            partial.append(last)
        yield split
    if partial or cr:
        yield ["".join(partial)]


def frames(chunks: Iterable[str]) -> Iterator[list[Frame]]:
    """The dispatched blocks of the text, a list per chunk (often empty)."""
    event = ""
    data: list[str] = []
    last_id = ""
    retry: int | None = None
    for batch in lines(chunks):
        out: list[Frame] = []
        for line in batch:
            if not line:
                if event or data or last_id or retry is not None:
                    out.append((event or "message", "\n".join(data), last_id, retry))
                    event, data, retry = "", [], None
                continue
            name, _, value = line.partition(":")  # a comment (":...") has no name
            if value and value[0] == " ":
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id":
                if "\0" not in value:
                    last_id = value
            elif name == "retry":
                try:
                    retry = int(value)
                except ValueError:
                    pass
        yield out
