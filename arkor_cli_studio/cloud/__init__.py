"""The only package that speaks HTTP. Commands get a `Backend` from `connect()`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arkor_cli_studio.cloud.client import Backend
    from arkor_cli_studio.config import Settings


def connect(settings: Settings) -> Backend:
    """The backend for these settings, chosen once: the cloud API (or Studio)."""
    if settings.studio_url is not None:
        from arkor_cli_studio.cloud.studio import make_studio_backend

        return make_studio_backend(settings)
    from arkor_cli_studio.cloud.client import make_cloud_backend

    return make_cloud_backend(settings)


def refuse_unsupported(settings: Settings, operation: str, job_id: str) -> None:
    """Raise `UnsupportedError` before anything is sent (or a token is read)
    when the backend these settings choose can't do `operation`."""
    if settings.studio_url is not None and operation == "cancel":
        from arkor_cli_studio.cloud.studio import cancel_unavailable

        raise cancel_unavailable(job_id, settings.studio_source)
