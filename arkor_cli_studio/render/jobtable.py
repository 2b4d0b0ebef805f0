"""The jobs table's layout: rows fitted to a width (no rich). Piped (no
width), every column has its natural width; on a narrow terminal, columns
give way in this order: Created's absolute time, Duration, Created, then
the Name is shortened with an ellipsis; the ID stays whole. The rows
themselves: `render.joblist`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from arkor_cli_studio.render.joblist import GAP, HEADERS, NAME_MIN, Row


def cells(text: str) -> int:
    """The terminal cells `text` takes (wide East Asian characters take two)."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _shorten(text: str, width: int) -> str:
    """`text` in at most `width` cells, ending with `…` when cut."""
    if cells(text) <= width:
        return text
    out, used = [], 0
    for char in text:
        size = cells(char)
        if used + size > width - 1:
            break
        out.append(char)
        used += size
    return "".join(out) + "…"


def _pad(text: str, width: int) -> str:
    if text.isascii():
        return text.ljust(width)
    size = cells(text)
    return text + " " * (width - size) if size < width else text


@dataclass(frozen=True, slots=True)
class Layout:
    """Which columns are shown, and the Name column's width (None: natural)."""

    duration: bool = True
    ago: bool = True
    created: bool = True
    name_width: int | None = None
    status: bool = True


def _widths(rows: Sequence[Row]) -> dict[str, int]:
    widths = {
        "status": len(HEADERS[0]),
        "name": len(HEADERS[1]),
        "duration": len(HEADERS[2]),
        "ago": len(HEADERS[3]),
        "created": 0,
        "id": len(HEADERS[4]),
    }
    if not rows:
        return widths
    for field, values in zip(Row._fields, zip(*rows, strict=True), strict=True):
        ascii_only = "".join(values).isascii()
        widest = max(map(len, values)) if ascii_only else max(map(cells, values))
        widths[field] = max(widths[field], widest)
    return widths


def fit(rows: Sequence[Row], width: int | None) -> tuple[Layout, dict[str, int]]:
    """The fullest layout whose lines fit `width` (None: piped, natural width)."""
    widths = _widths(rows)
    full = Layout()
    if width is None:
        return full, widths
    for layout in (
        full,
        Layout(created=False),
        Layout(created=False, duration=False),
        Layout(created=False, duration=False, ago=False),
    ):
        if _line_width(layout, widths) <= width:
            return layout, widths
    bare = Layout(created=False, duration=False, ago=False)
    room = width - (_line_width(bare, widths) - widths["name"])
    if room >= NAME_MIN:
        return Layout(False, False, False, room), widths
    # Still too wide: the status goes too (the ID is what the row is for).
    room += widths["status"] + len(GAP)
    return Layout(False, False, False, max(NAME_MIN, room), status=False), widths


def _line_width(layout: Layout, widths: dict[str, int]) -> int:
    total = widths["status"] + len(GAP) + widths["name"] + len(GAP) + widths["id"]
    if layout.duration:
        total += widths["duration"] + len(GAP)
    if layout.ago:
        total += widths["ago"] + len(GAP)
        if layout.created:
            total += widths["created"] + len(GAP)
    return total


Paint = Callable[[str, str], str]  # (cell text, style) -> text with its colour


def table_lines(
    rows: Sequence[Row],
    layout: Layout,
    widths: dict[str, int],
    paint: Paint | None = None,
    status_styles: dict[str, str] | None = None,
) -> list[str]:
    """The header line and one line per row, no trailing spaces. `paint`
    (on a colour terminal) styles the header, the status and the id."""
    name_width = layout.name_width if layout.name_width is not None else widths["name"]
    # One format for every line: the columns shown, each padded to its width
    # (the last, the ID, not padded). Cells with wide characters are padded
    # by their cells first; then the format pads nothing more.
    fields = (["status"] if layout.status else []) + ["name"]
    if layout.duration:
        fields.append("duration")
    if layout.ago:
        fields.append("ago")
        if layout.created:
            fields.append("created")
    index = {field: i for i, field in enumerate(Row._fields)}
    width_of = {**widths, "name": name_width}
    specs = [f"{{{index[f]}:<{width_of[f]}}}" for f in fields]
    fmt = GAP.join([*specs, "{5}"])
    bare = GAP.join([*(f"{{{index[f]}}}" for f in fields), "{5}"])
    header = Row(*HEADERS[:4], "", HEADERS[4])
    head = fmt.format(*header).rstrip()
    out = [paint(head, "bold") if paint else head]
    append = out.append
    shorten = layout.name_width is not None
    if paint is None and not shorten:
        fast = fmt.format
        for row in rows:
            if row.name.isascii() and row.status.isascii():
                append(fast(*row).rstrip())
            else:
                append(bare.format(*_padded(row, width_of)).rstrip())
        return out
    styles = status_styles or {}
    for row in rows:
        if shorten:
            row = row._replace(name=_shorten(row.name, name_width))
        padded = _padded(row, width_of)
        if paint is not None:
            padded = padded._replace(
                status=paint(padded.status, styles.get(row.status, "")),
                id=paint(row.id, "cyan"),
            )
        append(bare.format(*padded).rstrip())
    return out


def _padded(row: Row, widths: dict[str, int]) -> Row:
    """Every cell but the ID padded to its column's width, in cells."""
    return Row(
        _pad(row.status, widths["status"]),
        _pad(row.name, widths["name"]),
        _pad(row.duration, widths["duration"]),
        _pad(row.ago, widths["ago"]),
        _pad(row.created, widths["created"]),
        row.id,
    )
