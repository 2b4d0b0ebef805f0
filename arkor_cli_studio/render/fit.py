"""One line of the live frame fitted to the terminal's width."""

from __future__ import annotations

from rich.text import Text


def fit(text: Text, width: int) -> Text:
    """`text` as one line of at most `width` cells (cut with an ellipsis)."""
    text.no_wrap = True
    text.overflow = "ellipsis"
    text.truncate(max(1, width), overflow="ellipsis")
    return text
