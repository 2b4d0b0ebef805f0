"""The HTTP plumbing under both backends (the cloud API's and Studio's):
limits on what a server may send, our tokens cut from what it echoes,
transport errors in words, a total deadline per request, TCP keepalive.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

MAX_ERROR_TEXT = 500

#: A request that is not the event stream must be answered in full within
#: this many seconds (`ARKOR_STUDIO_REQUEST_DEADLINE`): a server that
#: drip-feeds its answer a byte at a time resets the read timeout at every
#: byte, and would otherwise keep `jobs` waiting forever.
REQUEST_DEADLINE: Final = 120.0
#: A JSON answer, decompressed, is at most this big
#: (`ARKOR_STUDIO_MAX_ANSWER_BYTES`): 3 MB of gzip can inflate to 3 GB.
MAX_ANSWER_BYTES: Final = 256 * 1024 * 1024
#: One line, or one event, of the event stream (`ARKOR_STUDIO_MAX_EVENT_BYTES`).
MAX_EVENT_BYTES: Final = 16 * 1024 * 1024
#: Our tokens in server text (a server may echo the Authorization header).
REDACTED: Final = "[redacted]"


@dataclass(frozen=True)
class Limits:
    """The limits of one backend's requests (README: "Limits")."""

    deadline: float = REQUEST_DEADLINE
    max_answer_bytes: int = MAX_ANSWER_BYTES
    max_event_bytes: int = MAX_EVENT_BYTES

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        from arkor_cli_studio.config import env_float

        return cls(
            deadline=env_float(env, "ARKOR_STUDIO_REQUEST_DEADLINE", REQUEST_DEADLINE),
            max_answer_bytes=int(env_float(env, "ARKOR_STUDIO_MAX_ANSWER_BYTES", MAX_ANSWER_BYTES)),
            max_event_bytes=int(env_float(env, "ARKOR_STUDIO_MAX_EVENT_BYTES", MAX_EVENT_BYTES)),
        )


class Redactor:
    """Our own tokens (bearer, Studio token) cut out of server text.

    A server that quotes the request's `Authorization` header in an error,
    a job name or an event must not make us print the token. Bodies are
    redacted as bytes, once, as they arrive; a stream's reads are redacted
    across read boundaries too (the tail of a read that may begin a token
    waits for the next read)."""

    MIN_LENGTH = 8  # shorter "tokens" are not secrets worth mangling text for

    def __init__(self, secrets: list[str | None]) -> None:
        found: set[bytes] = set()
        for secret in secrets:
            if secret and len(secret) >= self.MIN_LENGTH:
                found.add(secret.encode("utf-8", "replace"))
                found.add(secret.replace("/", "\\/").encode("utf-8", "replace"))  # as JSON may
        self.secrets = sorted(found, key=len, reverse=True)
        self._texts = [secret.decode("utf-8", "replace") for secret in self.secrets]
        self._replacement = REDACTED.encode()

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def data(self, body: bytes) -> bytes:
        for secret in self.secrets:
            if secret in body:
                body = body.replace(secret, self._replacement)
        return body

    def text(self, text: str) -> str:
        for secret in self._texts:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def stream(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """The reads, redacted; a read's tail that may start a token is held
        back until the next read shows whether it does (nothing else waits)."""
        held = b""
        for chunk in chunks:
            if held:
                chunk = held + chunk
                held = b""
            chunk = self.data(chunk)
            keep = self._partial_tail(chunk)
            if keep:
                chunk, held = chunk[:-keep], chunk[-keep:]
            if chunk:
                yield chunk
        if held:
            yield held

    def _partial_tail(self, chunk: bytes) -> int:
        """The length of the longest end of `chunk` that begins a token."""
        longest = 0
        for secret in self.secrets:
            for size in range(min(len(secret) - 1, len(chunk)), longest, -1):
                if chunk.endswith(secret[:size]):
                    longest = size
                    break
        return longest


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


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except Exception:
        return None


def describe_transport_error(exc: httpx.RequestError) -> str:
    """A short reason for a network failure, without the URL (we add our own)."""
    if isinstance(exc, httpx.DecodingError):
        return "the answer could not be decoded"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects"
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


KEEPALIVE_OPTIONS = [
    (level, option, value)
    for level, name, value in (
        (socket.SOL_SOCKET, "SO_KEEPALIVE", 1),
        # A peer gone silent below TCP is found in ~60 s: probes after 30 s
        # idle, every 10 s, 3 unanswered. (The event stream's own read
        # timeout is long: it follows the server's pings.)
        (socket.IPPROTO_TCP, "TCP_KEEPIDLE", 30),
        (socket.IPPROTO_TCP, "TCP_KEEPINTVL", 10),
        (socket.IPPROTO_TCP, "TCP_KEEPCNT", 3),
    )
    if (option := getattr(socket, name, None)) is not None
]


def keepalive_transport(base_url: str) -> httpx.HTTPTransport:
    """TCP keepalive on; connections not kept between requests (each request
    that has a deadline owns its socket, so the deadline can cut it).

    For a plain `http://` base (Studio on loopback, the demo, `arkor dev`)
    no certificate store is loaded: httpx's default context reads certifi's
    bundle, ~20 ms of every run's start-up, for TLS that such a client never
    speaks (its requests are paths under the base, redirects are not
    followed, proxies are off). It gets a context that trusts no one
    instead: were a TLS connection ever made, it would fail, never pass
    unverified."""
    verify: ssl.SSLContext | bool = True
    if urlsplit(base_url).scheme.lower() == "http":
        verify = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies; no CA loaded
    return httpx.HTTPTransport(
        verify=verify,
        socket_options=KEEPALIVE_OPTIONS,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


class Deadline:
    """A total deadline for one request: when it passes, the request's
    socket is shut, which ends any read in progress (headers or body)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._ends = time.monotonic() + seconds

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpx's trace hook: the socket of a new connection."""
        if name != "connection.connect_tcp.complete":
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.append(sock)
                if self.expired:
                    shut(sock)

    def check(self) -> None:
        if time.monotonic() > self._ends:
            self._expire()
            raise httpx.ReadTimeout("the request's deadline passed")

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                shut(sock)


def size_text(limit: int) -> str:
    mib = 1024 * 1024
    return f"{limit // mib} MiB" if limit % mib == 0 else f"{limit} bytes"


def shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
