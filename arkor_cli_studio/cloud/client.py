"""HTTP to the Arkor cloud API: jobs, job detail, cancel, the event stream.

Status codes become typed errors here, once, so commands never look at HTTP.
The plumbing under it (limits, redaction, deadlines, keepalive): `cloud.http`.
"""

# Long on purpose: one class, the cloud `Backend`, whose methods are the API's
# routes; its plumbing (limits, redaction, deadlines) is already cloud/http.py.

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from arkor_cli_studio.cloud.http import (
    Deadline,
    Limits,
    Redactor,
    describe_transport_error,
    error_message,
    json_or_none,
    keepalive_transport,
    size_text,
)
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
        limits: Limits | None = None,
        secrets: list[str | None] | None = None,
        identity: ClientIdentity | None = None,
    ) -> None:
        """`secrets`: more tokens to cut out of what the server says (ours is
        always cut)."""
        self.base_url = base_url
        self.scope = scope
        self._token = token
        # Whether `poll_job` may ask the job-detail route (False once it said
        # it has none: a 404, 405 or 501; the jobs list from then on).
        self._poll_detail = self.has_job_detail
        self.read_timeout = read_timeout
        self.limits = limits or Limits()
        self.redactor = Redactor([token, *(secrets or [])])
        self.identity = identity or DEFAULT_IDENTITY
        self._client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            headers=self._base_headers(),
            transport=transport if transport is not None else keepalive_transport(base_url),
            follow_redirects=False,
            trust_env=False,
            event_hooks={"response": [self._tap_deprecation]},
        )

    # ---- what differs between cloud and Studio --------------------------

    def _base_headers(self) -> dict[str, str]:
        """`X-Arkor-Client: arkor/<semver>` as every arkor client sends it (the
        cloud's SDK version gate answers 426 without it); who we are in
        `User-Agent`."""
        # Only what httpx can decode with the size cap holding (no brotli,
        # whose ratios are unbounded, even when its package is installed).
        return {**self.identity.headers(), "Accept-Encoding": "gzip, deflate"}

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
            raise upgrade_required(json_or_none(response), self.identity)
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
        """One request that is not the event stream, its answer read in full:
        within the deadline, at most `max_answer_bytes` decompressed, our
        tokens cut out of it. Failures become typed errors."""
        headers = {**self._auth_headers(), **kwargs.pop("headers", {})}
        limits = self.limits
        deadline = Deadline(limits.deadline)
        request = self._client.build_request(
            method,
            path,
            params=self._params(),
            headers=headers,
            extensions={"trace": deadline.trace},
            **kwargs,
        )
        try:
            with deadline:
                response = self._client.send(request, stream=True)
                try:
                    response = self.settle(response, deadline.check)
                finally:
                    response.close()
        except httpx.RequestError as exc:
            if deadline.expired:
                raise self.unreachable(
                    f"no complete answer within {limits.deadline:g}s "
                    "(ARKOR_STUDIO_REQUEST_DEADLINE raises the limit)"
                ) from None
            raise self.unreachable(describe_transport_error(exc)) from None
        self.raise_for_status(response, job_id)
        return response

    def settle(
        self, response: httpx.Response, check: Callable[[], None] | None = None
    ) -> httpx.Response:
        """The answer read in full (capped, redacted) as a new response.

        `check()` runs between reads (the deadline)."""
        cap = self.limits.max_answer_bytes
        parts: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise UnreachableError(
                    f"{self.name} sent an answer over {size_text(cap)} to "
                    f"{response.request.url.path} (ARKOR_STUDIO_MAX_ANSWER_BYTES "
                    "raises the limit)."
                )
            parts.append(chunk)
            if check is not None:
                check()
        body = self.redactor.data(b"".join(parts))
        headers = [
            (name, value)
            for name, value in response.headers.raw
            if name.lower() not in (b"content-encoding", b"content-length", b"transfer-encoding")
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=body,
            request=response.request,
            extensions={
                key: value for key, value in response.extensions.items() if key != "network_stream"
            },
        )

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except RecursionError:
            raise ApiError(
                f"{self.name} answered {response.request.url.path} with JSON nested "
                "too deep to read.",
                status=response.status_code,
            ) from None
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
            {
                **self._auth_headers(),
                "Accept": "text/event-stream",
                "Cache-Control": "no-store",
                # Not compressed: our caps hold on the bytes as they come.
                "Accept-Encoding": "identity",
            }
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
            from arkor_cli_studio import output

            output.say(f"note: {stale}")
            scope = None
    base_url = resolve_api_url(settings.api_url_override, credentials, settings.env)
    backend = Backend(
        base_url,
        token=credentials.token if credentials else None,
        scope=scope,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        limits=Limits.from_env(settings.env),
        identity=identity_for(settings.project, settings.env),
    )
    if scope is None:
        state = state_path(settings.project)
        if not state.exists() and not state.is_symlink():
            backend.missing_state = state
    return backend
