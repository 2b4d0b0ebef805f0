"""Finding the Studio that wrote `~/.arkor/studio-token`, without sending it the token.

`arkor dev` listens on 127.0.0.1:4000, and when that port is busy (and no
`--port` was given) it silently takes the next free one, trying ten ports in
all (`cli/commands/dev.ts`, MAX_PORT_ATTEMPTS). Whatever owns port 4000 then
is not necessarily Studio. Studio serves its `index.html` on a token-less
`GET /` with `<meta name="arkor-studio-token" content="<token>">`
(`studio/server.ts`, injectStudioToken): a server proves it is *the* Studio
by showing the token we already hold. We compare in constant time, and send
the token only to a server that passed.
"""

from __future__ import annotations

import hmac
import html
import http.client
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from arkor_cli_studio.errors import UnreachableError

FIRST_PORT = 4000
PORT_ATTEMPTS = 10  # arkor dev's MAX_PORT_ATTEMPTS: 4000..4009
MAX_PAGE = 1 << 20  # Studio's index.html is a few KiB
CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 2.0
_META = re.compile(
    rb"<meta\s+name=[\"']arkor-studio-token[\"']\s+content=[\"']([^\"'<>]*)[\"']\s*/?>", re.I
)


@dataclass(frozen=True)
class Probe:
    url: str
    verdict: str  # "match", or why not: "connection refused", "no Studio page", ...

    @property
    def matched(self) -> bool:
        return self.verdict == "match"


def page_token(page: bytes) -> str | None:
    """The token in Studio's `<meta name="arkor-studio-token">`, unescaped."""
    match = _META.search(page)
    if match is None:
        return None
    return html.unescape(match.group(1).decode("utf-8", "replace"))


def probe(url: str, token: str) -> Probe:
    """GET `url`/ without the token; does the page show this token?"""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    conn = http.client.HTTPConnection(host, port, timeout=CONNECT_TIMEOUT)
    try:
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(READ_TIMEOUT)
        conn.request("GET", "/", headers={"Accept": "text/html"})
        response = conn.getresponse()
        if response.status != 200:
            return Probe(url, f"answered HTTP {response.status}, not Studio's page")
        page = response.read(MAX_PAGE)
    except ConnectionRefusedError:
        return Probe(url, "connection refused")
    except TimeoutError:
        return Probe(url, "no answer in time")
    except (OSError, http.client.HTTPException) as exc:
        return Probe(url, f"not HTTP ({type(exc).__name__})")
    finally:
        conn.close()
    shown = page_token(page)
    if shown is None:
        return Probe(url, "no Studio page (no arkor-studio-token)")
    if not hmac.compare_digest(shown.encode(), token.encode()):
        return Probe(url, "a Studio with another token (not the one that wrote it)")
    return Probe(url, "match")


def candidate_urls() -> list[str]:
    return [f"http://127.0.0.1:{port}" for port in range(FIRST_PORT, FIRST_PORT + PORT_ATTEMPTS)]


def find_studio(token: str, token_source: str, *, hint: str) -> str:
    """The URL of the Studio whose page shows `token`, among the ports `arkor dev`
    may take; else UnreachableError (exit 5) naming every port tried."""
    tried = []
    for url in candidate_urls():
        result = probe(url, token)
        if result.matched:
            return url
        tried.append(result)
    raise not_found(tried, token_source, explicit=False, hint=hint)


def check_studio(url: str, token: str, token_source: str, *, hint: str) -> None:
    """`--studio-url` / ARKOR_STUDIO_URL: the same proof before the token is sent."""
    result = probe(url, token)
    if not result.matched:
        raise not_found([result], token_source, explicit=True, hint=hint)


def not_found(
    tried: list[Probe], token_source: str, *, explicit: bool, hint: str
) -> UnreachableError:
    ports = ", ".join(f"{urlsplit(p.url).port} ({p.verdict})" for p in tried)
    if explicit:
        [only] = tried
        if only.verdict == "connection refused":
            message = f"Studio is not running at {only.url}."
        else:
            message = (
                f"{only.url} is not the Studio whose token is in {token_source} "
                f"({only.verdict}): nothing was sent to it."
            )
    else:
        first, last = urlsplit(tried[0].url).port, urlsplit(tried[-1].url).port
        message = (
            f"No Studio with the token from {token_source} on 127.0.0.1:{first}-{last} "
            f"(tried {ports}). The token was sent nowhere."
        )
    return UnreachableError(message, hint=hint)
