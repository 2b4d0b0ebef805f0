"""A checker of Mermaid `xychart-beta` text, after Mermaid's own grammar.

A port of the lexer and grammar of mermaid's
`packages/mermaid/src/diagrams/xychart/parser/xychart.jison` (the lexer's
rules in their order, first match wins as in jison; its start conditions;
the grammar as a recursive descent), without the accessibility statements
and Markdown strings, which the summary never writes. `parse()` raises
`XYChartError` where Mermaid's parser would fail, and returns what the
diagram holds; `check()` adds what renders sensibly (a range on both axes,
min < max, every series non-empty).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)")


class XYChartError(ValueError):
    pass


@dataclass
class Chart:
    orientation: str = "vertical"
    title: str | None = None
    x_title: str | None = None
    x_range: tuple[float, float] | None = None
    x_band: list[str] | None = None
    y_title: str | None = None
    y_range: tuple[float, float] | None = None
    lines: list[list[float]] = field(default_factory=list)
    bars: list[list[float]] = field(default_factory=list)


# (states the rule is active in; None = INITIAL and the inclusive states), pattern, action
_INCLUSIVE = {"INITIAL", "axis_data", "axis_band_data", "data", "data_inner"}
_RULES: list[tuple[set[str] | None, re.Pattern[str], str]] = [
    (None, re.compile(r"%%(?!\{)[^\n]*"), "skip"),
    (None, re.compile(r"[^}]%%[^\n]*"), "skip"),
    ({"axis_data"}, re.compile(r"\r?\n"), "pop:NEWLINE"),
    ({"data"}, re.compile(r"\r?\n"), "pop:NEWLINE"),
    (None, re.compile(r"[\n\r]+"), "NEWLINE"),
    (None, re.compile(r"%%[^\n]*"), "skip"),
    (None, re.compile(r"title", re.I), "TITLE"),
    (None, re.compile(r"xychart-beta", re.I), "XYCHART"),
    (None, re.compile(r"xychart", re.I), "XYCHART"),
    (None, re.compile(r"(?:vertical|horizontal)", re.I), "CHART_ORIENTATION"),
    (None, re.compile(r"x-axis", re.I), "push:axis_data:X_AXIS"),
    (None, re.compile(r"y-axis", re.I), "push:axis_data:Y_AXIS"),
    ({"axis_data"}, re.compile(r"\["), "push:axis_band_data:SQUARE_BRACES_START"),
    ({"axis_data"}, re.compile(r"-->"), "ARROW_DELIMITER"),
    (None, re.compile(r"line", re.I), "push:data:LINE"),
    (None, re.compile(r"bar", re.I), "push:data:BAR"),
    ({"data"}, re.compile(r"\["), "push:data_inner:SQUARE_BRACES_START"),
    ({"axis_data", "data_inner"}, NUMBER, "NUMBER_WITH_DECIMAL"),
    ({"data_inner", "axis_band_data"}, re.compile(r"\]"), "pop:SQUARE_BRACES_END"),
    (None, re.compile(r"`"), "error"),  # Markdown strings: never written by us
    (None, re.compile(r'"'), "push:string:"),
    ({"string"}, re.compile(r'"'), "pop:"),
    ({"string"}, re.compile(r'[^"]*'), "STR"),
    (None, re.compile(r"\["), "SQUARE_BRACES_START"),
    (None, re.compile(r"\]"), "SQUARE_BRACES_END"),
    (None, re.compile(r"[A-Za-z]+"), "ALPHA"),
    (None, re.compile(r":"), "COLON"),
    (None, re.compile(r"\+"), "PLUS"),
    (None, re.compile(r","), "COMMA"),
    (None, re.compile(r"="), "EQUALS"),
    (None, re.compile(r"\*"), "MULT"),
    (None, re.compile(r"#"), "BRKT"),
    (None, re.compile(r"_"), "UNDERSCORE"),
    (None, re.compile(r"\."), "DOT"),
    (None, re.compile(r"&"), "AMP"),
    (None, re.compile(r"-"), "MINUS"),
    (None, re.compile(r"[0-9]+"), "NUM"),
    (None, re.compile(r"\s+"), "skip"),
    (None, re.compile(r";"), "SEMI"),
]
_ALPHANUM = {"AMP", "NUM", "ALPHA", "PLUS", "EQUALS", "MULT", "DOT", "BRKT", "MINUS", "UNDERSCORE"}


def tokens(text: str) -> list[tuple[str, str]]:
    states = ["INITIAL"]
    pos = 0
    out: list[tuple[str, str]] = []
    while pos < len(text):
        state = states[-1]
        for active, pattern, action in _RULES:
            if state not in _INCLUSIVE if active is None else state not in active:
                continue
            match = pattern.match(text, pos)
            if match is None or (match.end() == pos and action != "STR"):
                continue
            if match.end() == pos:  # an empty STR: jison moves on to the closing quote
                continue
            value = match.group()
            pos = match.end()
            if action == "error":
                raise XYChartError(f"unsupported character {value!r}")
            parts = action.split(":")
            if parts[0] == "pop":
                states.pop()
                name = parts[1]
            elif parts[0] == "push":
                states.append(parts[1])
                name = parts[2]
            else:
                name = parts[0]
            if name and name != "skip":
                out.append((name, value))
            break
        else:
            raise XYChartError(f"unexpected text at {pos}: {text[pos : pos + 10]!r}")
    out.append(("EOF", ""))
    return out


class _Parser:
    def __init__(self, toks: list[tuple[str, str]]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self, offset: int = 0) -> str:
        return self.toks[min(self.i + offset, len(self.toks) - 1)][0]

    def take(self, kind: str) -> str:
        name, value = self.toks[self.i]
        if name != kind:
            raise XYChartError(f"expected {kind}, got {name} {value!r} (token {self.i})")
        self.i += 1
        return value

    def eol(self) -> bool:
        return self.peek() in ("NEWLINE", "SEMI", "EOF")

    def text(self) -> str:
        if self.peek() == "STR":
            return self.take("STR")
        if self.peek() not in _ALPHANUM:
            raise XYChartError(f"expected text, got {self.peek()}")
        words = []
        while self.peek() in _ALPHANUM:
            words.append(self.take(self.peek()))
        return "".join(words)

    def numbers(self) -> list[float]:
        self.take("SQUARE_BRACES_START")
        values = [float(self.take("NUMBER_WITH_DECIMAL"))]
        while self.peek() == "COMMA":
            self.take("COMMA")
            values.append(float(self.take("NUMBER_WITH_DECIMAL")))
        self.take("SQUARE_BRACES_END")
        return values

    def axis_range(self) -> tuple[float, float]:
        low = float(self.take("NUMBER_WITH_DECIMAL"))
        self.take("ARROW_DELIMITER")
        return low, float(self.take("NUMBER_WITH_DECIMAL"))

    def parse(self) -> Chart:
        chart = Chart()
        while self.peek() in ("NEWLINE", "SEMI"):
            self.i += 1
        self.take("XYCHART")
        if self.peek() == "CHART_ORIENTATION":
            chart.orientation = self.take("CHART_ORIENTATION").lower()
        while True:
            kind = self.peek()
            if kind == "EOF":
                return chart
            if kind in ("NEWLINE", "SEMI"):
                self.i += 1
            elif kind == "TITLE":
                self.i += 1
                chart.title = self.text().strip()
            elif kind in ("X_AXIS", "Y_AXIS"):
                self.i += 1
                title = None
                if self.peek() == "STR" or self.peek() in _ALPHANUM:
                    title = self.text()
                if kind == "X_AXIS":
                    chart.x_title = title
                    if self.peek() == "SQUARE_BRACES_START":
                        self.take("SQUARE_BRACES_START")
                        band = [self.text()]
                        while self.peek() == "COMMA":
                            self.take("COMMA")
                            band.append(self.text())
                        self.take("SQUARE_BRACES_END")
                        chart.x_band = band
                    elif self.peek() == "NUMBER_WITH_DECIMAL":
                        chart.x_range = self.axis_range()
                    elif title is None:
                        raise XYChartError("x-axis without a title, band or range")
                else:
                    chart.y_title = title
                    if self.peek() == "NUMBER_WITH_DECIMAL":
                        chart.y_range = self.axis_range()
                    elif title is None:
                        raise XYChartError("y-axis without a title or range")
                if not self.eol() and self.peek() not in ("TITLE", "X_AXIS", "Y_AXIS", "LINE"):
                    raise XYChartError(f"unexpected {self.peek()} after an axis")
            elif kind in ("LINE", "BAR"):
                self.i += 1
                if self.peek() != "SQUARE_BRACES_START":
                    self.text()
                values = self.numbers()
                (chart.lines if kind == "LINE" else chart.bars).append(values)
            else:
                raise XYChartError(f"unexpected {kind} {self.toks[self.i][1]!r}")


def parse(text: str) -> Chart:
    return _Parser(tokens(text)).parse()


def check(text: str) -> Chart:
    """Parse, and require what the summary's charts need to render well."""
    chart = parse(text)
    if chart.x_range is None or chart.y_range is None:
        raise XYChartError("both axes need a range")
    for low, high in (chart.x_range, chart.y_range):
        if not low < high:
            raise XYChartError(f"an axis range is empty: {low} --> {high}")
    if not chart.lines or any(len(line) < 2 for line in chart.lines):
        raise XYChartError("a line needs at least two points")
    low, high = chart.y_range
    for line in chart.lines:
        if any(not low <= value <= high for value in line):
            raise XYChartError("a value lies outside the y range")
    return chart
