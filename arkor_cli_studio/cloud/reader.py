"""One connection of the event stream: bytes in, SSE frames out.

Lines are split here (CRLF, CR or LF, also across reads), with a cap on one
line and on one event: a server that sends `data: ` and then bytes without
end must not grow our memory without bound (`LineTooLong`: the connection is
dropped and resumed). The lines go to httpx-sse's own `SSEDecoder`, which
reads them as the SSE specification says (fields, comments, ids, `retry`):
we own the splitting and the caps, not the protocol.

What the decoder drops silently is noted here because the stream loop needs
it: a comment line (`: keepalive`) comes out as `COMMENT`, an idle server's
way of saying "nothing new", which ends a replay (`cloud/history.py`).
"""

from __future__ import annotations

import codecs
from typing import Final

# httpx-sse's parser, fed our capped lines. From its private module on
# purpose: httpx-sse (pinned >=0.4,<0.5) exports only `EventSource`,
# `connect_sse`, `aconnect_sse`, `ServerSentEvent` and `SSEError`, and
# `EventSource.iter_sse()` splits lines itself from `response.iter_text()`,
# with no cap on a line (a server that never ends one grows our memory) and
# no place for the token redactor, which works on the raw bytes. The pin
# keeps the module where it is; tests/test_fast_paths.py checks our reading
# against `EventSource.iter_sse()`'s, and tests/test_layers.py fails when
# httpx-sse exports the decoder, so that this import moves to it.
from httpx_sse._decoders import SSEDecoder

#: One SSE frame: (event, data, id, retry), what httpx-sse's `ServerSentEvent`
#: holds (`event` is "message" when the frame names none). A plain tuple: made
#: once per event of a replay of millions, it costs a tenth of a NamedTuple's
#: construction (~20 vs ~200 ns), and the stream loop unpacks it.
Frame = tuple[str, str, str, int | None]


#: A comment line (`:` ...): SSE's keepalive, which carries nothing else.
#: (Given as a frame of its own that no server can send: compare with `is`.)
COMMENT: Final[Frame] = ("\0comment", "", "", None)


class LineTooLong(Exception):
    """One line or one event passed the cap: the connection is dropped."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the server sent an event over {_size(limit)} "
            "(ARKOR_STUDIO_MAX_EVENT_BYTES raises the limit)"
        )


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"


class Reader:
    """The frames of one connection, read by read: `feed(bytes)` then `end()`.

    Text is UTF-8 (a broken sequence becomes U+FFFD, as httpx reads text); a
    leading BOM is dropped (it would otherwise glue itself to the first
    field's name and lose the first event)."""

    __slots__ = (
        "_block",
        "_cr",
        "_decode",
        "_fed_id",
        "_last_id",
        "_limit",
        "_nl",
        "_partial",
        "_rest",
        "_sse",
        "_started",
    )

    def __init__(self, limit: int) -> None:
        """`limit`: characters in one line or one event (`Limits.max_event_bytes`)."""
        self._limit = limit
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        self._sse = SSEDecoder()
        self._partial: list[str] = []  # the start of a line that has not ended
        self._cr = False  # the last read ended with CR (a CRLF may be split)
        self._nl = True  # the text so far ends a line (a blank line may follow)
        self._block = 0  # characters of the event being read (since the last blank line)
        self._started = False  # the BOM has been looked for
        # The fast path's view of the decoder (see `_read`): no field is
        # pending (the last field line ended a block), the last event id, and
        # the id the decoder itself was last given.
        self._rest = True
        self._last_id = ""
        self._fed_id = ""

    def feed(self, chunk: bytes) -> list[Frame]:
        """The frames (and comments) that this read completes, in order."""
        return self._lines(self._decode(chunk))

    def end(self) -> list[Frame]:
        """What the end of the connection completes (a last line without an
        end; an unterminated event is dropped, as the specification says)."""
        items = self._lines(self._decode(b"", True))
        if self._partial or self._cr:
            line = "".join(self._partial)
            self._partial, self._cr = [], False
            items.extend(self._read([line]))
        return items

    def _lines(self, text: str) -> list[Frame]:
        if not self._started:
            if not text:
                return []
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._cr:
            text = "\r" + text
            self._cr = False
        if text.endswith("\r"):
            self._cr = True
            text = text[:-1]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text:
            return []
        limit = self._limit
        # The event being read: the characters since the last blank line.
        after_blank = self._nl and text[0] == "\n"  # the last read ended an event
        blank = text.rfind("\n\n")
        if blank >= 0:
            if not after_blank and self._block + text.find("\n\n") > limit:
                raise LineTooLong(limit)  # the event that ends here
            if len(text) > limit and max(map(len, text.split("\n\n"))) > limit:
                raise LineTooLong(limit)  # one inside this read
            self._block = len(text) - blank - 2
        elif after_blank:
            self._block = len(text) - 1
        else:
            self._block += len(text)
        if self._block > limit:
            raise LineTooLong(limit)
        self._nl = text[-1] == "\n"
        if "\n" not in text:
            self._partial.append(text)
            return []
        split = text.split("\n")
        if self._partial:
            self._partial.append(split[0])
            split[0] = "".join(self._partial)
            self._partial = []
        last = split.pop()
        if last:
            self._partial.append(last)
        return self._read(split)

    def _read(self, lines: list[str]) -> list[Frame]:
        """The frames these whole lines complete.

        The fast path: a block of exactly `id: X`, `event: Y`, `data: Z` and
        a blank line (every event arkor sends), starting where no field is
        pending, is the frame the decoder would make of it (event Y, data Z,
        id X; an id with NUL keeps the last id): made here, without four
        calls into the decoder. Every other line goes to httpx-sse's decoder,
        which first learns the last id the fast path saw (an `id:` line: a
        block without an id carries it over). tests/test_fast_paths.py
        compares the two on streams that mix both kinds of block, cut at
        every character."""
        decode = self._sse.decode
        out: list[Frame] = []
        append = out.append
        rest = self._rest
        count = len(lines)
        index = 0
        while index < count:
            line = lines[index]
            if (
                rest
                and index + 3 < count
                and line[:4] == "id: "
                and not lines[index + 3]
                and lines[index + 1][:7] == "event: "
                and lines[index + 2][:6] == "data: "
            ):
                sse_id = line[4:]
                if "\0" in sse_id:
                    sse_id = self._last_id  # (the decoder ignores such an id)
                else:
                    self._last_id = sse_id
                event = lines[index + 1][7:] or "message"  # (as `ServerSentEvent`)
                append((event, lines[index + 2][6:], sse_id, None))
                index += 4
                continue
            index += 1
            if line[:1] == ":":
                append(COMMENT)  # (the decoder would skip it without a word)
                continue
            if self._fed_id != self._last_id:  # the decoder learns the last id
                decode("id: " + self._last_id)
                self._fed_id = self._last_id
            if line:
                rest = False
                decode(line)
                continue
            sse = decode(line)  # a blank line ends the block (with an id, an empty frame)
            rest = True
            if sse is None:  # (nothing pending, and no id: the decoder's id is "")
                self._last_id = self._fed_id = ""
            else:
                self._last_id = self._fed_id = sse.id
                append((sse.event, sse.data, sse.id, sse.retry))
        self._rest = rest
        return out
