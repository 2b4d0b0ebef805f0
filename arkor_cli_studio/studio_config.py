"""Studio mode's settings (`--studio`): the URL of a running `arkor dev`
(loopback only: the token must never leave the machine) and its token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from arkor_cli_studio.config import (
    DEFAULT_STUDIO_URL,
    STUDIO_HOSTS,
    STUDIO_TOKEN_ENV,
    STUDIO_URL_ENV,
    read_text,
    studio_token_path,
)
from arkor_cli_studio.errors import ConfigError, UsageError

# --------------------------------------------------------------------------
# Studio mode (`--studio`): the URL of a running `arkor dev` and its token


@dataclass(frozen=True)
class StudioToken:
    value: str = field(repr=False)  # a secret: only ever a request header
    source: str  # "ARKOR_STUDIO_TOKEN" or the file's path: named in errors

    def __str__(self) -> str:
        return f"StudioToken(source={self.source!r})"


def load_studio_token(env: Mapping[str, str]) -> StudioToken:
    """ARKOR_STUDIO_TOKEN, else ~/.arkor/studio-token (whitespace stripped)."""
    if STUDIO_TOKEN_ENV in env:
        value = env[STUDIO_TOKEN_ENV].strip()
        if not value:
            raise ConfigError(
                f"{STUDIO_TOKEN_ENV} is set but empty.",
                hint=f"Unset it to use {studio_token_path()}, which `arkor dev` writes.",
            )
        source = STUDIO_TOKEN_ENV
    else:
        path = studio_token_path()
        source = str(path)
        started = "`arkor dev` writes it every time it starts"
        if not path.exists() and not path.is_symlink():
            raise ConfigError(
                f"No Studio token at {path}.",
                hint=f"Start Studio with `arkor dev` ({started}), or set {STUDIO_TOKEN_ENV}.",
            )
        value = read_text(path, "the Studio token").strip()
        if not value:
            raise ConfigError(
                f"The Studio token file {path} is empty.",
                hint=f"Restart `arkor dev`: {started}.",
            )
    if any(not (" " < ch < "\x7f") for ch in value):
        # Never echo it: it is a secret, and a header can't carry these bytes.
        raise ConfigError(f"The Studio token from {source} contains spaces or control characters.")
    return StudioToken(value=value, source=source)


def _url_for_messages(url: str) -> str:
    """`url` as errors may repeat it: no user info, query or fragment (a pasted
    browser URL can carry `?studioToken=`, and user info can be a password)."""
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    shown = url[:cut] + ("…" if cut < len(url) else "")
    scheme, sep, rest = shown.rpartition("://")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "…@" + authority.rpartition("@")[2]
    return f"{scheme}{sep}{authority}{slash}{path}"


def check_studio_url(url: str, source: str) -> str:
    """A loopback `http://host[:port]` for Studio, normalised; else UsageError.

    Checked before anything is sent: the token must never leave the machine.
    Loopback means the names Studio's own Host guard accepts, exactly:
    `127.0.0.1` and `localhost` (any case; we send them lower-case). Not
    `[::1]`, `127.0.0.2`, `127.1`, `0.0.0.0`, `localhost.` (trailing dot),
    `127.0.0.1.evil.com`, nor any URL with user info, a path, a query or a
    fragment (`http://127.0.0.1@evil.com` goes to evil.com).
    """
    example = "http://127.0.0.1:4000"
    if any(not (" " < ch < "\x7f") for ch in url):
        raise UsageError(f"{source}: the URL contains spaces or control characters.")
    shown = _url_for_messages(url)
    if "://" not in url:
        raise UsageError(
            f"{source} must be a URL like {example}, not {shown!r}.",
            hint=f"Write the scheme too: http://{shown}",
        )
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. `[127.0.0.1]`, an unclosed `[::1`
        raise UsageError(f"{source} is not a valid URL: {shown!r}") from None
    if parts.scheme.lower() != "http":
        raise UsageError(f"{source} must be an http:// URL (Studio serves plain HTTP): {shown!r}")
    if "@" in parts.netloc:
        raise UsageError(f"{source} must not carry a user name or password.")
    if parts.query or parts.fragment or parts.path.strip("/"):
        raise UsageError(f"{source} must be just http://host:port, like {example}: {shown!r}")
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise UsageError(f"{source} has an invalid port: {shown!r}")
    if host not in STUDIO_HOSTS:
        hint = "Studio only listens on this machine; the token must not leave it."
        if host in {"::1", "0:0:0:0:0:0:0:1"}:
            hint = "Studio answers only to the names 127.0.0.1 and localhost; use one of them."
        raise UsageError(
            f"{source}: refusing {host or shown!r}: Studio mode talks only to 127.0.0.1 or "
            "localhost.",
            hint=hint,
        )
    return f"http://{host}" + (f":{port}" if port is not None else "")


def resolve_studio_url(
    enabled: bool | None, url: str | None, env: Mapping[str, str]
) -> tuple[str, str] | None:
    """(URL, where it came from) for Studio mode, or None for cloud mode.

    `--studio-url URL` implies Studio mode; `--studio` uses ARKOR_STUDIO_URL or
    the default; ARKOR_STUDIO_URL alone (non-empty) turns Studio mode on;
    `--no-studio` turns it off whatever the environment says.
    """
    if enabled is False:
        if url is not None:
            raise UsageError("--no-studio and --studio-url contradict each other.")
        return None
    if url is not None:
        return check_studio_url(url, "--studio-url"), "--studio-url"
    from_env = env.get(STUDIO_URL_ENV, "").strip()
    if from_env:
        return check_studio_url(from_env, STUDIO_URL_ENV), STUDIO_URL_ENV
    if enabled:
        return DEFAULT_STUDIO_URL, "--studio"
    return None
