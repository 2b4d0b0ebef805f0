"""The same operations through a running `arkor dev` (Studio's local server).

`StudioBackend` is the cloud `Backend` with another transport: Studio's
`/api/*` routes, the per-launch token in the `X-Arkor-Studio-Token` header
(never in a URL), no scope in the query (Studio reads its own project's
state). Studio has no job-detail and no cancel route: `get_job` comes from
the jobs list (without events, so histories replay the stream) and
`cancel` says plainly that it can't. Beyond the common interface it has
the Run-training transport: `manifest()` and `train()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from arkor_cli_studio.cloud.client import Backend
from arkor_cli_studio.cloud.http import Limits, describe_transport_error, error_message
from arkor_cli_studio.config import (
    DEFAULT_STUDIO_URL,
    STUDIO_TOKEN_ENV,
    STUDIO_URL_ENV,
    Settings,
    load_credentials,
)
from arkor_cli_studio.errors import (
    ApiError,
    AuthError,
    ConfigError,
    NotFoundError,
    UnreachableError,
    UnsupportedError,
    UsageError,
)
from arkor_cli_studio.model import JobDetail
from arkor_cli_studio.studio_config import StudioToken, load_studio_token
from arkor_cli_studio.studio_run import (
    Manifest,
    TrailerSplitter,
    TrainOutcome,
    manifest_error,
    parse_manifest,
)
from arkor_cli_studio.upgrade import ClientIdentity

TOKEN_HEADER = "X-Arkor-Studio-Token"
CLOUD_AUTH_HINT = (
    "The cloud API refused the credentials Studio uses. Run `arkor login` (or remove "
    "~/.arkor/credentials.json so `arkor dev` signs in anonymously again), then restart "
    "`arkor dev`."
)


def is_token_refusal(status: int, message: str) -> bool:
    """Studio's own 403s name the token (or loopback); other 401/403s are the
    cloud's answers that Studio passes on."""
    lowered = message.lower()
    return status == 403 and ("studio token" in lowered or "loopback" in lowered)


class StudioBackend(Backend):
    """A running `arkor dev` at a loopback URL, with its per-launch token."""

    name = "Studio"
    has_job_detail = False  # `get_job` comes from the jobs list: never any events

    def __init__(
        self,
        base_url: str,
        *,
        token: StudioToken,
        url_source: str = "--studio",
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        limits: Limits | None = None,
        identity: ClientIdentity | None = None,
        secrets: list[str | None] | None = None,
    ) -> None:
        """`secrets`: more tokens to cut out of what Studio says; Studio holds
        the user's cloud token and passes the cloud's answers on."""
        self.token_source = token.source
        self.url_source = url_source
        super().__init__(
            base_url,
            token=token.value,
            scope=None,  # Studio serves the project it was started in
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            transport=transport,
            limits=limits,
            identity=identity,
            secrets=secrets,
        )

    def __enter__(self) -> StudioBackend:  # typed: `with` keeps manifest()/train()
        return self

    # ---- the transport ----------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        assert self._token is not None
        return {TOKEN_HEADER: self._token}

    def _params(self) -> dict[str, str]:
        return {}  # Studio adds orgSlug/projectSlug from its project's state

    def nothing_to_ask(self) -> bool:
        return False  # Studio knows whether its project has jobs

    def jobs_path(self) -> str:
        return "/api/jobs"

    def job_path(self, job_id: str, suffix: str = "") -> str:
        return f"/api/jobs/{quote(job_id, safe='')}{suffix}"

    def stream_path(self, job_id: str) -> str:
        return self.job_path(job_id, "/events")

    # ---- what the user reads ----------------------------------------------

    def _drop_studio_hint(self) -> str:
        return drop_studio_hint(self.url_source)

    def auth_hint(self, status: int) -> str:
        if status == 401:  # Studio refuses tokens with 403: a 401 is the cloud's, passed on
            return CLOUD_AUTH_HINT
        rotates = "Studio's token changes every time `arkor dev` starts"
        if self.token_source == STUDIO_TOKEN_ENV:
            return (
                f"{rotates}; this one came from {STUDIO_TOKEN_ENV}. Unset it to read the "
                "current one from ~/.arkor/studio-token, or set it to the current one."
            )
        return (
            f"{rotates}; this one was read from {self.token_source}, which the most recently "
            f"started `arkor dev` wrote. If that is not the Studio at {self.base_url}, point "
            "--studio-url at the newest one, or restart `arkor dev`."
        )

    def unreachable(self, reason: str) -> UnreachableError:
        hint = f"Start it with `arkor dev` in your project, or {self._drop_studio_hint()}."
        if reason == "connection refused":
            return UnreachableError(f"Studio is not running at {self.base_url}.", hint=hint)
        return UnreachableError(f"Can't reach Studio at {self.base_url}: {reason}", hint=hint)

    def not_found(self, job_id: str) -> NotFoundError:
        return NotFoundError(
            f"No job {job_id} in the project that Studio at {self.base_url} serves", status=404
        )

    def raise_for_status(self, response: httpx.Response, job_id: str | None = None) -> None:
        status = response.status_code
        if status not in (401, 403):
            super().raise_for_status(response, job_id)
            return
        message = error_message(response)
        if not is_token_refusal(status, message):
            raise AuthError(
                f"Through Studio, the cloud API answered: {message}", hint=CLOUD_AUTH_HINT
            )
        if "loopback" in message.lower():
            raise AuthError(
                f"Studio at {self.base_url} refused the request as not loopback ({message}).",
                hint="Use http://127.0.0.1:PORT or http://localhost:PORT.",
            )
        raise AuthError(
            f"Studio at {self.base_url} refused the token read from {self.token_source} "
            f"({message}).",
            hint=self.auth_hint(status),
        )

    # ---- what Studio's API can't do, or does differently ----------------

    def get_job(self, job_id: str) -> JobDetail:
        """From the jobs list: Studio has no job-detail route (so no `events`)."""
        job = self.find_job(job_id)
        if job is None:
            raise self.not_found(job_id)
        return JobDetail(job=job, events=None)

    def cancel(self, job_id: str) -> None:
        raise cancel_unavailable(job_id, self.url_source)

    # ---- Run training -------------------------------------------------------

    def manifest(self) -> Manifest:
        """`GET /api/manifest`: the trainer's name, no trainer, or why it's unreadable."""
        try:
            response = self.request("GET", "/api/manifest")
        except ApiError as exc:
            if exc.status == 400:
                return manifest_error(exc.message)
            raise
        return parse_manifest(self._json(response))

    @contextlib.contextmanager
    def train(self, file: str | None = None) -> Iterator[TrainRun]:
        """`POST /api/train`: Studio spawns `arkor start [file]` and streams its output.

        `file` goes to Studio as is: Studio resolves it against the project
        it runs in, so pass an absolute path. Iterate the `TrainRun` for the
        output bytes, then read its `exit_code`. Closing early (Ctrl-C)
        closes the connection, and Studio stops the run.
        """
        body: dict[str, Any] = {} if file is None else {"file": file}
        # Output can pause for minutes (GPU warm-up): no read timeout.
        timeout = httpx.Timeout(None, connect=self._client.timeout.connect)
        try:
            with self._client.stream(
                "POST", "/api/train", json=body, headers=self._auth_headers(), timeout=timeout
            ) as response:
                if response.status_code >= 300:
                    response.read()
                    message = error_message(response)
                    if response.status_code == 400:
                        raise UsageError(f"Studio refused the run: {message}")
                    if message.startswith("Failed to spawn"):
                        raise _start_error(message)
                    self.raise_for_status(response)
                yield TrainRun(response, self)
        except httpx.TransportError as exc:
            raise self.unreachable(describe_transport_error(exc)) from None


def drop_studio_hint(url_source: str) -> str:
    if url_source == STUDIO_URL_ENV:
        return f"unset {STUDIO_URL_ENV} (or pass --no-studio) to use the cloud API directly"
    return "drop --studio (and its URL) to use the cloud API directly"


def cancel_unavailable(job_id: str, url_source: str) -> UnsupportedError:
    """`cancel` in Studio mode: Studio's server has no cancel route (its UI
    stops only the runs it started itself), so nothing is sent."""
    from arkor_cli_studio.textsafe import clean_line

    return UnsupportedError(
        "cancel is not available through Studio: its API has no cancel route, so nothing was sent.",
        hint=f"cancel through the cloud API instead: arkor-studio --no-studio cancel "
        f"{clean_line(job_id)}"
        + (f" ({STUDIO_URL_ENV} turned Studio mode on)" if url_source == STUDIO_URL_ENV else ""),
    )


class TrainRun:
    """One `POST /api/train` answer: iterate for the output, then `exit_code`."""

    def __init__(self, response: httpx.Response, backend: StudioBackend) -> None:
        self._response = response
        self._backend = backend
        self._outcome: TrainOutcome | None = None

    def __iter__(self) -> Iterator[bytes]:
        """The raw output bytes as they arrive (never the trailer).

        At the end: raises `ConfigError` when `arkor start` failed to start,
        `UnreachableError` when the answer ended without an exit status.
        """
        for output, _held in self.stream():
            if output:
                yield output

    def stream(self) -> Iterator[tuple[bytes, bytes]]:
        """`(output, held)` for every piece received: the output bytes released
        (maybe none) and what is held back because it might still start the
        trailer (e.g. the newline that ends the latest line: a reader looking
        for whole lines may take it as the end of that line). Ends like
        `__iter__`."""
        splitter = TrailerSplitter()
        url = self._backend.base_url
        try:
            for chunk in self._response.iter_bytes():
                output = splitter.feed(chunk)
                yield output, splitter.held
        except httpx.TransportError as exc:
            rest = splitter.flush()
            if rest:
                yield rest, b""
            raise UnreachableError(
                f"The connection to Studio at {url} broke before `arkor start` finished: "
                f"{describe_transport_error(exc)}",
                hint="The run may still be going: `arkor-studio jobs` lists it.",
            ) from None
        rest, outcome = splitter.finish()
        if rest:
            yield rest, b""
        if outcome is None:
            raise UnreachableError(
                f"Studio at {url} ended the run's output without an exit status.",
                hint="Studio may have stopped; the job may still be running: "
                "`arkor-studio jobs` lists it.",
            )
        if outcome.start_error is not None:
            raise _start_error(outcome.start_error)
        self._outcome = outcome

    @property
    def finished(self) -> bool:
        return self._outcome is not None

    @property
    def signalled(self) -> bool:
        """`arkor start` was killed by a signal (Studio sent `exit=null`)."""
        return self._outcome is not None and self._outcome.exit_code is None

    @property
    def exit_code(self) -> int:
        """`arkor start`'s exit status (1 when it was killed by a signal)."""
        if self._outcome is None:
            raise RuntimeError("TrainRun.exit_code: read the whole output first")
        code = self._outcome.exit_code
        return code if code is not None and 0 <= code <= 255 else 1


def _start_error(reason: str) -> ConfigError:
    return ConfigError(
        f"Studio could not start `arkor start`: {reason}",
        hint="Check the project's dependencies (`npm install`) and run `arkor start` "
        "in a terminal to see why.",
    )


def make_studio_backend(settings: Settings) -> StudioBackend:
    """The Studio backend, once a server has proven it is the Studio that wrote
    the token (its page shows it): found among the ports `arkor dev` may take
    (`--studio`), or the one given (`--studio-url`, ARKOR_STUDIO_URL)."""
    from arkor_cli_studio.cloud import discovery
    from arkor_cli_studio.upgrade import identity_for

    assert settings.studio_url is not None
    token = load_studio_token(settings.env)
    hint = (
        "Start Studio with `arkor dev` in your project (it writes ~/.arkor/studio-token), "
        f"or point --studio-url at it; {drop_studio_hint(settings.studio_source)}."
    )
    if settings.studio_source == "--studio" and settings.studio_url == DEFAULT_STUDIO_URL:
        # No URL given: find it among the ports `arkor dev` may have taken.
        url = discovery.find_studio(token.value, token.source, hint=hint)
    else:
        url = settings.studio_url
        discovery.check_studio(url, token.value, token.source, hint=hint)
    return StudioBackend(
        url,
        token=token,
        url_source=settings.studio_source,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        limits=Limits.from_env(settings.env),
        identity=identity_for(settings.project, settings.env),
        secrets=[_cloud_token()],
    )


def _cloud_token() -> str | None:
    """The cloud token `arkor dev` proxies with, when it can be read: Studio
    passes the cloud's answers on, and an echo of it must be cut as ours is.
    Studio mode needs no credentials, so a missing or broken file is no error."""
    try:
        return load_credentials().token
    except ConfigError:
        return None
