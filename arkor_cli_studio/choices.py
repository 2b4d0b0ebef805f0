"""The choices of `--notify` and `--ci` (shared by `watch` and `demo`; no imports:
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
