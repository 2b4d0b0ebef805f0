"""--color never|auto|always beside NO_COLOR, and the 16-colour degrade (Rich's detection)."""

from __future__ import annotations

import re

from tests.test_watch import lifecycle

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def colour_codes(text: str) -> set[str]:
    """The SGR parameters that set a colour (foreground or background)."""
    out = set()
    for params in SGR.findall(text):
        parts = params.split(";")
        index = 0
        while index < len(parts):
            part = parts[index]
            if part in ("38", "48"):
                kind = parts[index + 1] if index + 1 < len(parts) else ""
                width = 3 if kind == "5" else 5 if kind == "2" else 2
                out.add(";".join(parts[index : index + width]))
                index += width
                continue
            if part.isdigit() and (
                30 <= int(part) <= 37 or 90 <= int(part) <= 97 or 40 <= int(part) <= 47
            ):
                out.add(part)
            index += 1
    return out


def test_color_always_colours_a_pipe_and_never_does_not(arkor):
    lifecycle(arkor.sim, steps=12)
    piped = arkor.cli("watch", "j1", "--plain", "--advanced")
    assert colour_codes(piped.stdout) == set()  # auto: a pipe gets no colour
    forced = arkor.cli("--color", "always", "watch", "j1", "--plain", "--advanced", NO_COLOR="1")
    assert {"36", "35"} <= colour_codes(forced.stdout)  # the cards' cyan and magenta borders
    run = arkor.pty("--color", "never", "watch", "j1", "--no-notify")
    assert run.wait(timeout=30) == 0
    assert colour_codes(run.text) == set()


def test_a_16_colour_terminal_gets_only_the_16_colours(arkor):
    lifecycle(arkor.sim, steps=30)
    rich = arkor.pty("watch", "j1", "--no-notify", TERM="xterm-256color")
    assert rich.wait(timeout=30) == 0
    assert any(code.startswith("38;5;") for code in colour_codes(rich.text))  # the teal line
    basic = arkor.pty("watch", "j1", "--no-notify", TERM="xterm")
    assert basic.wait(timeout=30) == 0
    codes = colour_codes(basic.text)
    assert codes and all(not code.startswith(("38;", "48;")) for code in codes), codes
