"""Everything the CLI reads from outside: arkor's files and our environment.

We read what the real `arkor` CLI wrote and never write it. Each problem is a
`ConfigError` that names the file and what is wrong with it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from arkor_cli_studio.errors import ConfigError, UsageError
from arkor_cli_studio.model import Scope

DEFAULT_API_URL = "https://api.arkor.ai"
LOGIN_HINT = "Run `arkor login`, or start `arkor dev` once: either creates them."


def arkor_home() -> Path:
    """`~/.arkor`; HOME decides, so tests never touch the real one."""
    return Path.home() / ".arkor"


def credentials_path() -> Path:
    return arkor_home() / "credentials.json"


def state_path(project: Path) -> Path:
    return project / ".arkor" / "state.json"


@dataclass(frozen=True)
class Credentials:
    mode: str
    token: str = field(repr=False)  # a secret: never printed, never in a URL
    api_url: str | None
    path: Path

    def __str__(self) -> str:  # belt and braces: no accidental f-string leak
        return f"Credentials(mode={self.mode!r}, path={str(self.path)!r})"


def _read_json(path: Path, what: str) -> Any:
    """Parse a JSON file, turning every way it can be unreadable into one line."""
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise ConfigError(f"Can't read {what} {path}: it is a directory, not a file.") from None
    except PermissionError:
        raise ConfigError(f"Can't read {what} {path}: permission denied.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"Can't read {what} {path}: it is not UTF-8 text.") from None
    except OSError as exc:
        raise ConfigError(f"Can't read {what} {path}: {exc.strerror or exc}.") from None
    if not text.strip():
        raise ConfigError(f"Can't read {what} {path}: the file is empty.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"Can't read {what} {path}: not valid JSON ({exc.msg} at line {exc.lineno})."
        ) from None


def load_credentials(path: Path | None = None) -> Credentials:
    path = path or credentials_path()
    if not path.exists() and not path.is_symlink():
        raise ConfigError(f"No Arkor credentials at {path}.", hint=LOGIN_HINT)
    data = _read_json(path, "Arkor credentials")
    if not isinstance(data, dict):
        raise ConfigError(f"Can't read Arkor credentials {path}: expected a JSON object.")
    mode = data.get("mode")
    key = "accessToken" if mode == "oauth" else "token"
    token = data.get(key)
    if not isinstance(token, str) or not token.strip():
        raise ConfigError(
            f"Arkor credentials {path} have no {key!r} (mode {mode!r}).", hint=LOGIN_HINT
        )
    if any(ch in token for ch in "\r\n\0"):
        raise ConfigError(f"Arkor credentials {path}: the token contains a line break.")
    api_url = data.get("arkorCloudApiUrl")
    return Credentials(
        mode=mode if isinstance(mode, str) else "anon",
        token=token.strip(),
        api_url=api_url if isinstance(api_url, str) else None,
        path=path,
    )


def load_scope(project: Path) -> Scope | None:
    """The project's org/project slugs; None when the project has no jobs yet.

    A missing file, or one without all three strings, means "no jobs yet" (as
    arkor treats it); a file that exists but cannot be read is an error.
    """
    path = state_path(project)
    if not path.exists() and not path.is_symlink():
        return None
    data = _read_json(path, "project state")
    if not isinstance(data, dict):
        raise ConfigError(f"Can't read project state {path}: expected a JSON object.")
    fields = [data.get(key) for key in ("orgSlug", "projectSlug", "projectId")]
    if not all(isinstance(value, str) and value for value in fields):
        return None
    return Scope(org=data["orgSlug"], project=data["projectSlug"])


def check_http_url(url: str, source: str, *, usage: bool) -> str:
    """A base URL without trailing slashes; scheme and host required."""
    error = UsageError if usage else ConfigError
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise error(f"{source} is not an http(s) URL: {url!r}")
    if parts.username or parts.password:
        raise error(f"{source} must not carry a user name or password.")
    if parts.query or parts.fragment:
        raise error(f"{source} must not have a query or fragment: {url!r}")
    return url.rstrip("/")


def resolve_api_url(
    override: str | None, credentials: Credentials | None, env: Mapping[str, str]
) -> str:
    """--api-url, else ARKOR_CLOUD_API_URL (set-but-empty counts), else the
    credentials' arkorCloudApiUrl, else the public cloud."""
    if override is not None:
        return check_http_url(override, "--api-url", usage=True)
    if "ARKOR_CLOUD_API_URL" in env:
        value = env["ARKOR_CLOUD_API_URL"].rstrip("/")
        if not value:
            raise ConfigError(
                "ARKOR_CLOUD_API_URL is set but empty.",
                hint="Unset it to use the credentials' URL, or set it to the API's address.",
            )
        return check_http_url(value, "ARKOR_CLOUD_API_URL", usage=False)
    if credentials is not None and credentials.api_url:
        return check_http_url(
            credentials.api_url, f"arkorCloudApiUrl in {credentials.path}", usage=False
        )
    return DEFAULT_API_URL


def project_dir(value: Path | None) -> Path:
    path = (value or Path.cwd()).expanduser()
    if not path.exists():
        raise UsageError(f"Project directory {path} does not exist.")
    if not path.is_dir():
        raise UsageError(f"Project directory {path} is not a directory.")
    return path.resolve()


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}.") from None
    if not value > 0:
        raise ConfigError(f"{name} must be greater than 0.")
    return value


@dataclass
class Settings:
    """Global options, decided once at start and handed to every command."""

    project: Path
    api_url_override: str | None = None
    studio_url: str | None = None
    no_color: bool = False
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def read_timeout(self) -> float:
        """Seconds without a byte before a request (or stream) counts as stalled."""
        return env_float(self.env, "ARKOR_STUDIO_READ_TIMEOUT", 60.0)

    @property
    def connect_timeout(self) -> float:
        return env_float(self.env, "ARKOR_STUDIO_CONNECT_TIMEOUT", 10.0)
