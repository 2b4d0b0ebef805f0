"""`--notify-webhook URL`: one JSON POST at the end of a watched run.

The body is one shape that Slack incoming webhooks and ntfy both accept:
`text` (the one line Slack shows; ntfy shows the body as is, or, with
`?tpl=1&t={{.title}}&m={{.text}}` on the topic URL, a titled message) and
`title`, then the final record's fields flat (`jobId`, `name`, `outcome`,
`exitCode`, `durationSeconds`, `step`, `loss`, `evalLoss`, ...) for any
other receiver. Sent once, with a short timeout, no redirects followed and
no credentials: our bearer token never goes to it. The URL may hold a
secret (a Slack webhook is one), so it is never printed: a failure is
described by its kind only.
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from arkor_cli_studio import CLIENT_NAME, __version__
from arkor_cli_studio.errors import UsageError

TIMEOUT: Final = 5.0


def check_url(url: str, source: str = "--notify-webhook") -> str:
    """The URL if it is an http(s) URL with a host; else a usage error that
    does not repeat it."""
    try:
        parts = urlsplit(url.strip())
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise UsageError(
            f"{source} needs an http:// or https:// URL (the value given is not one; "
            "it is not shown, as a webhook URL may hold a secret).",
            hint="For example: --notify-webhook https://ntfy.sh/my-topic",
        )
    return url.strip()


def slack_text(text: str) -> str:
    """One line, with the three characters Slack reads as markup escaped
    (`<https://x|click>` in a job name stays text)."""
    from arkor_cli_studio.textsafe import clean_line

    return clean_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_body(record: dict[str, Any], text: str, title: str) -> bytes:
    """The JSON body: `text`, `title`, then the record's fields (not its `event`)."""
    body: dict[str, Any] = {"text": slack_text(text), "title": slack_text(title)}
    body.update((key, value) for key, value in record.items() if key != "event")
    return json.dumps(body, ensure_ascii=False, allow_nan=False).encode()


def send_webhook(url: str, body: bytes, *, timeout: float = TIMEOUT) -> str | None:
    """POST it once. None when the receiver answered 2xx, else why not
    (a few words, never the URL)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"{CLIENT_NAME}/{__version__}",
    }
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=True) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return f"no answer within {timeout:g} s"
    except httpx.ConnectError:
        return "could not connect"
    except (httpx.HTTPError, ValueError, OSError):
        return "the request failed"
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"
