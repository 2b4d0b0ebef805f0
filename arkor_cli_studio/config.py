"""Everything the CLI reads from outside: arkor's files and our environment.

We read what the real `arkor` CLI wrote and never write it. Each problem is a
`ConfigError` that names the file and what is wrong with it.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from arkor_cli_studio.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from arkor_cli_studio.model import Scope

DEFAULT_API_URL = "https://api.arkor.ai"
DEFAULT_STUDIO_URL = "http://127.0.0.1:4000"
STUDIO_TOKEN_ENV = "ARKOR_STUDIO_TOKEN"
STUDIO_URL_ENV = "ARKOR_STUDIO_URL"
# Studio's server answers only to these Host names (its DNS-rebinding guard).
STUDIO_HOSTS = frozenset({"127.0.0.1", "localhost"})
LOGIN_HINT = "Run `arkor login`, or start `arkor dev` once: either creates them."


def arkor_home() -> Path:
    """`~/.arkor`; HOME decides, so tests never touch the real one."""
    return Path.home() / ".arkor"


def credentials_path() -> Path:
    return arkor_home() / "credentials.json"


def studio_token_path() -> Path:
    """Where `arkor dev` writes its per-launch token when it starts."""
    return arkor_home() / "studio-token"


def state_path(project: Path) -> Path:
    return project / ".arkor" / "state.json"


@dataclass(frozen=True)
class Credentials:
    mode: str | None  # "anon", "oauth"; None when the file has no `mode`
    token: str = field(repr=False)  # a secret: never printed, never in a URL
    api_url: str | None
    path: Path
    org: str | None = None  # an anonymous identity's own org (`orgSlug`)

    def __str__(self) -> str:  # belt and braces: no accidental f-string leak
        return f"Credentials(mode={self.mode!r}, path={str(self.path)!r})"


MAX_CONFIG_BYTES = 1 << 20  # 1 MiB: arkor's files are a few hundred bytes
MAX_CONFIG_ENV = "ARKOR_STUDIO_MAX_CONFIG_BYTES"
_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


def max_config_bytes(env: Mapping[str, str] | None = None) -> int:
    """The size cap for a file we read (ARKOR_STUDIO_MAX_CONFIG_BYTES raises it)."""
    raw = (env if env is not None else os.environ).get(MAX_CONFIG_ENV, "")
    try:
        value = int(raw) if raw else MAX_CONFIG_BYTES
    except ValueError:
        value = MAX_CONFIG_BYTES
    return value if value > 0 else MAX_CONFIG_BYTES


def read_regular_file(path: Path, what: str, limit: int | None = None) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, else one ConfigError.

    Only regular files (symlinks followed): `.arkor/state.json` can arrive with
    a cloned repository, and a symlink to /dev/zero or /dev/urandom would eat
    memory, a FIFO would block for ever. The open does not block (O_NONBLOCK:
    a FIFO without a writer opens at once), the kind is checked on the open
    descriptor (no race with a swap), and at most `limit` + 1 bytes are read.
    """
    limit = limit if limit is not None else max_config_bytes()
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except IsADirectoryError:
        raise ConfigError(f"Can't read {what} {path}: it is a directory, not a file.") from None
    except PermissionError:
        raise ConfigError(f"Can't read {what} {path}: permission denied.") from None
    except OSError as exc:
        raise ConfigError(f"Can't read {what} {path}: {exc.strerror or exc}.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            link = " (through a symlink)" if path.is_symlink() else ""
            raise ConfigError(
                f"Can't read {what} {path}{link}: it is {kind}, not a regular file.",
                hint="Replace it with the file arkor writes.",
            )
        if info.st_size > limit:
            raise _too_big(what, path, limit)
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while we read
            raise _too_big(what, path, limit)
        return b"".join(chunks)
    except OSError as exc:
        raise ConfigError(f"Can't read {what} {path}: {exc.strerror or exc}.") from None
    finally:
        os.close(fd)


def _too_big(what: str, path: Path, limit: int) -> ConfigError:
    return ConfigError(
        f"Can't read {what} {path}: it is larger than {limit:,} bytes, too large for this file.",
        hint=f"Check the file; {MAX_CONFIG_ENV} raises the limit.",
    )


def read_text(path: Path, what: str) -> str:
    """A file's text, turning every way it can be unreadable into one line."""
    data = read_regular_file(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"Can't read {what} {path}: it is not UTF-8 text.") from None


def _read_json(path: Path, what: str) -> Any:
    """Parse a JSON file; every way it can be unreadable is one line."""
    text = read_text(path, what)
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
    # As arkor reads it (core/credentials.ts getToken, studio/server.ts
    # tokenFromCredentials): `token` for mode "anon", `accessToken` otherwise,
    # including a file without `mode`.
    key = "token" if mode == "anon" else "accessToken"
    token = data.get(key)
    if not isinstance(token, str) or not token.strip():
        raise ConfigError(
            f"Arkor credentials {path} have no {key!r} (mode {mode!r}).", hint=LOGIN_HINT
        )
    if any(not (" " < ch < "\x7f") for ch in token.strip()):
        # Never echo it. A header can't carry these bytes, and httpx's error
        # for an illegal header value would quote the whole header.
        raise ConfigError(
            f"Arkor credentials {path}: the token contains spaces, control characters "
            "or non-ASCII characters.",
            hint=LOGIN_HINT,
        )
    api_url = data.get("arkorCloudApiUrl")
    org = data.get("orgSlug")
    return Credentials(
        mode=mode if isinstance(mode, str) else None,
        token=token.strip(),
        api_url=api_url if isinstance(api_url, str) else None,
        path=path,
        org=org if isinstance(org, str) else None,
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
    from arkor_cli_studio.model import Scope  # not on `train`'s path

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
    if credentials is not None and credentials.api_url is not None:
        # arkor honours an empty string here too (core/credentials.ts,
        # defaultArkorCloudApiUrl): its requests then fail on the URL. Say so.
        value = credentials.api_url.rstrip("/")
        if not value:
            raise ConfigError(
                f"arkorCloudApiUrl in {credentials.path} is empty.",
                hint="arkor keeps an empty URL too (its requests fail on it). Run `arkor login` "
                "again, or set ARKOR_CLOUD_API_URL to the API's address.",
            )
        return check_http_url(value, f"arkorCloudApiUrl in {credentials.path}", usage=False)
    return DEFAULT_API_URL


def stale_anonymous_scope(scope: Scope, credentials: Credentials | None) -> str | None:
    """Why `state.json` can't be used with these credentials, or None when it can.

    arkor's `isOrgUsableFor` (core/projectState.ts), which Studio's read paths
    apply: an anonymous identity can use only its own org; an OAuth scope is
    hand-kept and always usable. A state.json left by an earlier anonymous
    identity (after `arkor logout`, or copied from elsewhere) names another org,
    and every scoped request would answer 403.
    """
    if credentials is None or credentials.mode != "anon" or scope.org == credentials.org:
        return None
    from arkor_cli_studio.textsafe import clean_line

    return (
        f".arkor/state.json is scoped to org {clean_line(scope.org)!r}, not to your current "
        f"anonymous session's org {clean_line(credentials.org or '(none)')!r}: it is left from "
        "an earlier anonymous identity, so this project shows no jobs (as in Studio). Fix: "
        "delete .arkor/state.json (the next `arkor start` makes a new one), or run `arkor "
        "login` with the account that owns that project."
    )


# --------------------------------------------------------------------------
# The arkor package installed for the project (its version and Node range)

# The arkor SDK version this release was checked against: `version` in
# packages/arkor/package.json of the arkor source that tests/real_arkor/ ran
# against (the real-arkor kit). Sent as `X-Arkor-Client: arkor/<this>` when no
# arkor is installed in the project. Bump it when checking against a newer arkor.
CHECKED_ARKOR_VERSION = "0.0.3-alpha.1"
CHECKED_NODE_RANGE = ">=22.22.0"  # that arkor's `engines.node`
_SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
)


@dataclass(frozen=True)
class ArkorPackage:
    """`arkor`'s package.json: where, which version, which Node it needs."""

    path: Path
    version: str | None
    node: str | None  # engines.node


def is_semver(value: str) -> bool:
    return _SEMVER.fullmatch(value) is not None


def installed_arkor(project: Path, env: Mapping[str, str]) -> ArkorPackage | None:
    """The arkor package `train` would run: `<project>/node_modules/arkor`, else the
    package behind ARKOR_BIN or `arkor` on PATH (its bin is `dist/bin.mjs`).
    None when there is none, or it can't be read (best effort: never an error)."""
    import shutil

    candidates = [project / "node_modules" / "arkor" / "package.json"]
    binary = env.get("ARKOR_BIN") or shutil.which("arkor", path=env.get("PATH", os.defpath))
    if binary:
        try:
            real = Path(binary).expanduser().resolve()
        except (OSError, RuntimeError):
            real = None
        if real is not None:
            candidates += [parent / "package.json" for parent in list(real.parents)[:3]]
    for candidate in candidates:
        package = _read_package(candidate)
        if package is not None:
            return package
    return None


def _read_package(path: Path) -> ArkorPackage | None:
    try:
        if not path.is_file():
            return None
        data = json.loads(read_regular_file(path, "package.json", 4 << 20))
    except (ConfigError, ValueError, OSError):
        return None
    if not isinstance(data, dict) or data.get("name") != "arkor":
        return None
    version = data.get("version")
    engines = data.get("engines")
    node = engines.get("node") if isinstance(engines, dict) else None
    return ArkorPackage(
        path=path,
        version=version if isinstance(version, str) and is_semver(version) else None,
        node=node if isinstance(node, str) and node.strip() else None,
    )


def project_dir(value: Path | None) -> Path:
    try:
        path = (value or Path.cwd()).expanduser()
    except FileNotFoundError:  # getcwd() of a directory that was removed
        raise UsageError(
            "The current directory no longer exists (it was removed or moved).",
            hint="cd to the project again, or name it with -C DIR.",
        ) from None
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
    studio_source: str = "--studio"  # what chose Studio mode, for hints
    no_color: bool = False
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def read_timeout(self) -> float:
        """Seconds without a byte before a request (or stream) counts as stalled."""
        return env_float(self.env, "ARKOR_STUDIO_READ_TIMEOUT", 60.0)

    @property
    def connect_timeout(self) -> float:
        return env_float(self.env, "ARKOR_STUDIO_CONNECT_TIMEOUT", 10.0)
