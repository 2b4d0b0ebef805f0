"""The error tree and the exit codes: one place, documented in the README."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # an API error that is not auth; `watch`: the job failed
    USAGE = 2  # bad option or argument
    CANCELLED = 3  # `watch`: the job was cancelled
    CONFIG = 4  # credentials/state/auth, `arkor` missing, no trainer
    UNREACHABLE = 5  # backend unreachable, stream gone, retries exhausted
    ALERT = 6  # an alert fired and `--on-alert exit` or `cancel` ended the watch
    STILL_RUNNING = 7  # an answer was asked for now and the job is still going (`wait --timeout`)
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM: 128 + 15, what a shell reports for a process it killed
    BROKEN_PIPE = 141  # stdout closed early (`| head`): 128 + SIGPIPE, as coreutils


class ArkorStudioError(Exception):
    """An error meant for the user: one line on stderr, a hint, an exit code."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(ArkorStudioError):
    exit_code = ExitCode.USAGE


class ConfigError(ArkorStudioError):
    """Missing or unreadable credentials/state, `arkor` not found, no trainer."""

    exit_code = ExitCode.CONFIG


class AuthError(ArkorStudioError):
    """401/403 from the backend."""

    exit_code = ExitCode.CONFIG


class UnreachableError(ArkorStudioError):
    """Connection refused, DNS failure, timeout, retries exhausted."""

    exit_code = ExitCode.UNREACHABLE


class StreamGoneError(ArkorStudioError):
    """410 / 426 on the event stream: permanent, not retried."""

    exit_code = ExitCode.UNREACHABLE


class ApiError(ArkorStudioError):
    """Any other HTTP error; carries the status and the server's message."""

    exit_code = ExitCode.FAILURE

    def __init__(self, message: str, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class NotFoundError(ApiError):
    """A job that does not exist in this org/project."""


class UnsupportedError(ArkorStudioError):
    """An operation the selected backend cannot serve (cancel via Studio).

    A usage error: the command line asks for something this mode can't do,
    decided before anything is sent."""

    exit_code = ExitCode.USAGE


class Interrupted(ArkorStudioError):
    """Ctrl-C: exit 130, quietly."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self) -> None:
        super().__init__("")


class BrokenPipe(ArkorStudioError):
    """Whoever read our stdout stopped reading (`| head`): exit quietly."""

    exit_code = ExitCode.BROKEN_PIPE

    def __init__(self) -> None:
        super().__init__("")
