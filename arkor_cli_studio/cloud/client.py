"""HTTP to the Arkor cloud API: jobs, job detail, cancel, the event stream.

Status codes become typed errors here, once, so commands never look at HTTP.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from arkor_cli_studio.config import (
    CHECKED_ARKOR_VERSION,
    LOGIN_HINT,
    Settings,
    load_credentials,
    load_scope,
    state_path,
)
from arkor_cli_studio.errors import (
    ApiError,
    ArkorStudioError,
    AuthError,
    ConfigError,
    NotFoundError,
    UnreachableError,
)
from arkor_cli_studio.model import Job, JobDetail, Scope, history_events, parse_job, parse_jobs
from arkor_cli_studio.upgrade import ClientIdentity, upgrade_required

# Without a project to look at: the arkor version this release was checked against.
DEFAULT_IDENTITY = ClientIdentity(CHECKED_ARKOR_VERSION)


MAX_ERROR_TEXT = 500


def error_message(response: httpx.Response) -> str:
    """The server's `{"error": ...}` text (at most MAX_ERROR_TEXT characters),
    else a short reason."""
    try:
        body = response.json()
    except Exception:
        body = None
    message = None
    if isinstance(body, dict):
        message = body.get("error")
        if isinstance(message, dict):
            message = message.get("message")
    if isinstance(message, str) and message.strip():
        message = message.strip()
        if len(message) > MAX_ERROR_TEXT:
            message = message[: MAX_ERROR_TEXT - 1] + "…"
        return message
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except Exception:
        return None


def describe_transport_error(exc: httpx.TransportError) -> str:
    """A short reason for a network failure, without the URL (we add our own)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, httpx.ReadTimeout):
        return "no answer in time (read timed out)"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection dropped"
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "connection refused" in lowered or "errno 111" in lowered:
        return "connection refused"
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or ("temporary failure in name resolution" in lowered)
    ):
        return "host name not found"
    return text


class Backend:
    """One HTTP backend. Cloud mode is this class; Studio mode subclasses it."""

    #: Shown in "Can't reach ..." messages.
    name = "the Arkor cloud API"
    #: `get_job` reads a job-detail route (which may carry the job's events).
    has_job_detail = True
    #: The `.arkor/state.json` looked for and not found (outside any project).
    missing_state: Path | None = None

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        scope: Scope | None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        identity: ClientIdentity | None = None,
    ) -> None:
        self.base_url = base_url
        self.scope = scope
        self._token = token
        # Whether `poll_job` may ask the job-detail route (False once it said
        # it has none: a 404, 405 or 501; the jobs list from then on).
        self._poll_detail = self.has_job_detail
        self.read_timeout = read_timeout
        self.identity = identity or DEFAULT_IDENTITY
        self._client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            headers=self._base_headers(),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            event_hooks={"response": [self._tap_deprecation]},
        )

    # ---- what differs between cloud and Studio --------------------------

    def _base_headers(self) -> dict[str, str]:
        """`X-Arkor-Client: arkor/<semver>` as every arkor client sends it (the
        cloud's SDK version gate answers 426 without it); who we are in
        `User-Agent`."""
        return self.identity.headers()

    def _tap_deprecation(self, response: httpx.Response) -> None:
        from arkor_cli_studio.cloud.deprecation import record

        record(response.headers, self.identity)

    def _auth_headers(self) -> dict[str, str]:
        if self._token is None:
            raise ConfigError("No Arkor credentials: this command needs them.", hint=LOGIN_HINT)
        return {"Authorization": f"Bearer {self._token}"}

    def nothing_to_ask(self) -> bool:
        """True when the project has no jobs yet (cloud: no usable state.json), so
        no request is made. Studio mode overrides it: its server knows."""
        return self.scope is None

    def _params(self) -> dict[str, str]:
        assert self.scope is not None
        return {"orgSlug": self.scope.org, "projectSlug": self.scope.project}

    def jobs_path(self) -> str:
        return "/v1/jobs"

    def job_path(self, job_id: str, suffix: str = "") -> str:
        return f"/v1/jobs/{quote(job_id, safe='')}{suffix}"

    def stream_path(self, job_id: str) -> str:
        return self.job_path(job_id, "/events/stream")

    def auth_hint(self, status: int) -> str:
        return (
            "Your Arkor credentials were refused. Run `arkor login` (or `arkor dev` "
            "once) to refresh them, and check that this project belongs to that account."
        )

    def unreachable(self, reason: str) -> UnreachableError:
        return UnreachableError(f"Can't reach {self.name} at {self.base_url}: {reason}")

    def no_project_note(self) -> str | None:
        """Outside any project: which state file is missing and how to point
        at a project (None inside one, or in Studio mode)."""
        if self.missing_state is None:
            return None
        return (
            f"No .arkor/state.json in {self.missing_state.parent.parent}: not an arkor "
            "project, or no job was started from it yet. Run from your project's "
            "directory, or point at it with -C DIR."
        )

    def not_found(self, job_id: str) -> NotFoundError:
        note = self.no_project_note()
        if note is not None:
            return NotFoundError(f"No job {job_id}. {note}", status=404)
        where = str(self.scope) if self.scope else "this project (it has no jobs yet)"
        return NotFoundError(f"No job {job_id} in {where}", status=404)

    # ---- requests --------------------------------------------------------

    def raise_for_status(self, response: httpx.Response, job_id: str | None = None) -> None:
        status = response.status_code
        if status < 300:
            return
        if status == 426:
            raise upgrade_required(_json_or_none(response), self.identity)
        message = error_message(response)
        if status in (401, 403):
            raise AuthError(message, hint=self.auth_hint(status))
        if status == 404 and job_id is not None:
            raise self.missing(job_id, message)
        raise ApiError(message, status=status)

    def missing(self, job_id: str, message: str) -> NotFoundError:
        """A 404 for one job: "No job X" unless the jobs list shows it; then the
        server's own message (the route, not the job, is what is missing)."""
        try:
            listed = self.find_job(job_id) is not None
        except ArkorStudioError:
            listed = False
        if not listed:
            return self.not_found(job_id)
        from arkor_cli_studio.textsafe import clean_line

        return NotFoundError(
            f"{self.name} answered 404 for job {clean_line(job_id)}, which its jobs list "
            f"shows: {message}",
            status=404,
        )

    def request(
        self, method: str, path: str, *, job_id: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**self._auth_headers(), **kwargs.pop("headers", {})}
        try:
            response = self._client.request(
                method, path, params=self._params(), headers=headers, **kwargs
            )
        except httpx.TransportError as exc:
            raise self.unreachable(describe_transport_error(exc)) from None
        self.raise_for_status(response, job_id)
        return response

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                f"{self.name} answered {response.request.url.path} with something "
                "that is not JSON.",
                status=response.status_code,
            ) from None

    def list_jobs(self) -> list[Job]:
        if self.nothing_to_ask():
            return []  # no state.json: the project has no jobs yet
        return parse_jobs(self._json(self.request("GET", self.jobs_path())))

    def list_job_objects(self) -> list[Any]:
        """The job objects as the server sent them (`list_jobs` parses them into
        `Job`s): what the `jobs` table reads in one pass."""
        if self.nothing_to_ask():
            return []
        body = self._json(self.request("GET", self.jobs_path()))
        items = body.get("jobs") if isinstance(body, dict) else None
        return items if isinstance(items, list) else []

    def find_job(self, job_id: str) -> Job | None:
        """The job from the jobs list: only its own entry is parsed (a list of
        20,000 jobs is one JSON decode in C, not 20,000 `Job`s)."""
        if self.nothing_to_ask():
            return None
        body = self._json(self.request("GET", self.jobs_path()))
        items = body.get("jobs") if isinstance(body, dict) else None
        if isinstance(items, list):
            body = {"jobs": [i for i in items if isinstance(i, dict) and i.get("id") == job_id]}
        return next((job for job in parse_jobs(body) if job.id == job_id), None)

    def poll_job(self, job_id: str) -> Job | None:
        """The job's state now, for a watch's periodic poll: from the
        job-detail route when the server has one (one job, whatever the size
        of the project; its `events`, if sent, are not read), else from the
        jobs list (Studio; a server that answers the route 404/405/501)."""
        if self._poll_detail and not self.nothing_to_ask():
            try:
                response = self.request("GET", self.job_path(job_id), job_id=job_id)
            except ApiError as exc:
                if exc.status not in (404, 405, 501):
                    raise
                self._poll_detail = False  # no such route (or no such job): the list
            else:
                body = self._json(response)
                job = parse_job(body.get("job")) if isinstance(body, dict) else None
                if job is not None:
                    return job
                self._poll_detail = False  # an answer without a usable job: the list
        return self.find_job(job_id)

    def get_job(self, job_id: str) -> JobDetail:
        if self.nothing_to_ask():
            raise self.not_found(job_id)
        body = self._json(self.request("GET", self.job_path(job_id), job_id=job_id))
        job = parse_job(body.get("job")) if isinstance(body, dict) else None
        if job is None:
            raise ApiError(f"{self.name} sent no usable job for {job_id}.", status=200)
        events = body.get("events")
        return JobDetail(job=job, events=history_events(events) if events is not None else None)

    def cancel(self, job_id: str) -> None:
        if self.nothing_to_ask():
            raise self.not_found(job_id)
        self.request("POST", self.job_path(job_id, "/cancel"), job_id=job_id)

    @contextlib.contextmanager
    def open_stream(
        self, job_id: str, last_event_id: str | None, read_timeout: float | None = None
    ) -> Iterator[httpx.Response]:
        """The raw streaming response; `cloud.events` checks and parses it.

        `read_timeout` overrides the client's (seconds without a byte)."""
        if self.nothing_to_ask():
            raise self.not_found(job_id)
        headers = httpx.Headers(
            {**self._auth_headers(), "Accept": "text/event-stream", "Cache-Control": "no-store"}
        )
        if last_event_id:
            # The server's id, sent back as it came: UTF-8 when it is not ASCII
            # (a str header value would have to be ASCII: an `id: é7` would crash).
            headers["Last-Event-ID"] = last_event_id
        timeout = self._client.timeout
        if read_timeout is not None:
            timeout = httpx.Timeout(read_timeout, connect=timeout.connect)
        with self._client.stream(
            "GET",
            self.stream_path(job_id),
            params=self._params(),
            headers=headers,
            timeout=timeout,
        ) as response:
            yield response

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_cloud_backend(settings: Settings) -> Backend:
    import sys

    from arkor_cli_studio.config import resolve_api_url, stale_anonymous_scope
    from arkor_cli_studio.upgrade import identity_for

    scope = load_scope(settings.project)
    if scope is None:
        # No jobs yet: nothing will be requested, so credentials are optional.
        try:
            credentials = load_credentials()
        except ConfigError:
            credentials = None
    else:
        credentials = load_credentials()
        stale = stale_anonymous_scope(scope, credentials)
        if stale is not None:  # Studio's read paths ignore it: no jobs, no 403
            print(f"note: {stale}", file=sys.stderr, flush=True)
            scope = None
    base_url = resolve_api_url(settings.api_url_override, credentials, settings.env)
    backend = Backend(
        base_url,
        token=credentials.token if credentials else None,
        scope=scope,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        identity=identity_for(settings.project, settings.env),
    )
    if scope is None:
        state = state_path(settings.project)
        if not state.exists() and not state.is_symlink():
            backend.missing_state = state
    return backend
