"""The choices of `--notify`, `--ci` and `--color` (no imports:
`--help` and TAB completion load this)."""

from __future__ import annotations

from enum import StrEnum


class NotifyMode(StrEnum):
    auto = "auto"
    desktop = "desktop"
    terminal = "terminal"
    off = "off"


class CiMode(StrEnum):
    auto = "auto"
    github = "github"
    none = "none"


class ColorMode(StrEnum):
    auto = "auto"
    never = "never"
    always = "always"
