"""arkor's output on a terminal that a Live view may occupy (`train --watch`).

Until the view starts, and again after it ends, the bytes go to their file
descriptor untouched (colours, progress bars and all). While the view is
on screen, Rich's Live must be the only writer of the terminal, so the bytes
are decoded (incrementally: a character split across chunks stays whole),
cut into lines and queued; the drawing thread prints them above the view
(`drain()`, all that arrived in one print). What is shown while the view is up is what
a terminal would show of each line: the text after its last carriage
return, with colours (SGR) kept and other escape sequences (cursor moves,
titles) removed, since they would tear the view apart. A line that has no
end yet is shown once it has been pending for `partial_after` seconds.

A chatty trainer prints many lines between two drains: lines without a
carriage return or an escape (nearly all of them) are made safe together,
as one string, and written as one segment, so a drain costs one print
whatever the number of lines; only lines with colours or carriage returns
take the per-line path.
"""

from __future__ import annotations

import codecs
import re
import threading
import time
from collections.abc import Callable

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text

from arkor_cli_studio.output import write_all
from arkor_cli_studio.textsafe import ESCAPE, clean

_SGR = re.compile(r"\x1b\[[0-9;:]*m")


def display_line(line: str) -> Text:
    """One line of program output as a terminal would show it, made safe."""
    line = line.removesuffix("\r")
    if "\r" in line:
        line = line[line.rindex("\r") + 1 :]
    if "\x1b" not in line:
        return Text(clean(line))
    kept: list[str] = []  # colours stay; any other sequence would tear the view apart
    at = 0
    for match in ESCAPE.finditer(line):
        kept.append(clean(line[at : match.start()]))
        if _SGR.fullmatch(match.group(0)):
            kept.append(match.group(0))
        at = match.end()
    kept.append(clean(line[at:]))
    return Text.from_ansi("".join(kept))


class _PlainLines:
    """Lines already made safe, written as they are: one segment (a long line
    wraps as the terminal wraps it, as it would without the view)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Segment(self.text)
        yield Segment.line()


def above_view(lines: list[str]) -> RenderableType:
    """What to print above the view for these lines: runs of plain lines as
    one `_PlainLines` each (made safe in one pass), the others one by one."""
    parts: list[RenderableType] = []
    run: list[str] = []
    for line in lines:
        if "\x1b" in line or "\r" in line:
            if run:
                parts.append(_PlainLines(clean("\n".join(run))))
                run = []
            parts.append(display_line(line))
        else:
            run.append(line)
    if run:
        parts.append(_PlainLines(clean("\n".join(run))))
    return parts[0] if len(parts) == 1 else Group(*parts)


class _Stream:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.partial = ""
        self.partial_since = 0.0

    def decode(self, chunk: bytes, now: float) -> list[str]:
        text = self.decoder.decode(chunk)
        if not text:
            return []
        pieces = (self.partial + text).split("\n")
        rest = pieces.pop()
        if rest and (not self.partial or len(pieces) > 0):
            self.partial_since = now
        self.partial = rest
        return pieces

    def leftover(self) -> bytes:
        """What is held back (a line without its end, part of a character), as bytes."""
        held, _ = self.decoder.getstate()
        data = self.partial.encode("utf-8", "surrogateescape") + held
        self.decoder.reset()
        self.partial = ""
        return data


class TerminalPassthrough:
    """Several output streams (arkor's stdout and stderr) sharing one terminal
    with a Live view drawn on `console`.

    While live, a feed only queues the raw chunk (the thread reading arkor's
    pipe does no per-line work); the drawing thread decodes, splits and
    prints everything queued at once in `drain()`.
    """

    def __init__(
        self, console: Console, *, partial_after: float = 0.5, max_pending: int = 1 << 20
    ) -> None:
        """`max_pending`: bytes queued before a feed waits for a drain."""
        self.console = console
        self.partial_after = partial_after
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._streams: list[_Stream] = []
        self._chunks: list[tuple[_Stream, bytes]] = []  # queued while live, in order
        self._queued = 0  # their bytes
        self._live = False
        self._wake: Callable[[], None] | None = None
        self._mid_line = False  # the last raw byte written did not end a line

    def stream(self, fd: int) -> Callable[[bytes], None]:
        """A feed for one stream: raw bytes to `fd`, or queued lines while live."""
        stream = _Stream(fd)
        self._streams.append(stream)
        return lambda chunk: self._feed(stream, chunk)

    def _feed(self, stream: _Stream, chunk: bytes) -> None:
        with self._lock:
            if not self._live:
                write_all(stream.fd, chunk)
                self._mid_line = not chunk.endswith(b"\n")
                return
            self._chunks.append((stream, chunk))
            self._queued += len(chunk)
            wake = self._wake
            # Backpressure: a flood waits for the drawing thread (and arkor
            # start waits on its full pipe) instead of queueing without bound.
            while self._live and self._queued > self.max_pending:
                if wake is not None:
                    wake()
                self._room.wait(0.5)
        if wake is not None:
            wake()

    def _lines(self, now: float) -> list[str]:
        """The whole lines of what is queued, in order (under the lock)."""
        lines: list[str] = []
        chunks, self._chunks, self._queued = self._chunks, [], 0
        start = 0
        while start < len(chunks):  # runs of one stream's chunks, decoded together
            stream = chunks[start][0]
            end = start + 1
            while end < len(chunks) and chunks[end][0] is stream:
                end += 1
            data = (
                chunks[start][1] if end == start + 1 else b"".join(c for _, c in chunks[start:end])
            )
            lines.extend(stream.decode(data, now))
            start = end
        self._room.notify_all()
        return lines

    def go_live(self, wake: Callable[[], None]) -> None:
        """From now on, queue lines; `wake()` asks the drawing thread to drain."""
        with self._lock:
            if self._mid_line:  # the view starts on a line of its own
                self.console.file.write("\n")
                self.console.file.flush()
                self._mid_line = False
            self._live, self._wake = True, wake

    def drain(self) -> None:
        """On the drawing thread, while the view is up: print what is queued above it."""
        with self._lock:
            now = time.monotonic()
            lines = self._lines(now)
            for stream in self._streams:
                if stream.partial and now - stream.partial_since >= self.partial_after:
                    lines.append(stream.partial)
                    stream.partial = ""
            if lines:
                self.console.print(above_view(lines), crop=False)

    def go_raw(self) -> None:
        """The view has ended: print what is queued, then pass bytes through again."""
        with self._lock:
            lines = self._lines(time.monotonic())
            if lines:
                self.console.print(above_view(lines), crop=False)
            self.console.file.flush()
            for stream in self._streams:
                rest = stream.leftover()
                if rest:
                    write_all(stream.fd, rest)
                    self._mid_line = not rest.endswith(b"\n")
            self._live, self._wake = False, None
            self._room.notify_all()
