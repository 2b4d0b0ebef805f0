"""Who we say we are to the cloud, and what a 426 from its SDK version gate means.

Every arkor client sends `X-Arkor-Client: arkor/<semver>` (arkor's
core/client.ts, studio/server.ts, core/auth0.ts); the cloud's SDK version
gate answers 426 when the header is missing, malformed or out of range. We
send the version of the arkor SDK installed in the project (what `train`
runs), else the version this release was checked against
(`config.CHECKED_ARKOR_VERSION`), and say who we are in `User-Agent`.

A 426 is worded as arkor words it (core/upgrade-hint.ts, formatSdkUpgradeError,
and `upgradeMessageFromBody` of @arkor/cloud-api-client), with the detected
package manager's command, and says which program to upgrade: arkor (the
version the project has is too old) or arkor-studio (our header was refused).
Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from arkor_cli_studio import CLIENT_NAME, __version__
from arkor_cli_studio.errors import ConfigError

PackageManager = Literal["npm", "pnpm", "yarn", "bun"]
USER_AGENT = f"{CLIENT_NAME}/{__version__}"
UPGRADE_SELF = "pipx upgrade arkor-studio (or pip install -U arkor-studio)"


@dataclass(frozen=True)
class ClientIdentity:
    """The arkor SDK version we send, and where it came from."""

    sdk_version: str
    package: Path | None = None  # the package.json it was read from (None: our constant)
    package_manager: PackageManager = "npm"

    @property
    def header(self) -> str:
        return f"arkor/{self.sdk_version}"

    def headers(self) -> dict[str, str]:
        return {"X-Arkor-Client": self.header, "User-Agent": USER_AGENT}


def identity_for(project: Path, env: Mapping[str, str]) -> ClientIdentity:
    from arkor_cli_studio.config import CHECKED_ARKOR_VERSION, installed_arkor

    package = installed_arkor(project, env)
    pm = detect_package_manager(env, project, package.path if package else None)
    if package is not None and package.version is not None:
        return ClientIdentity(package.version, package.path, pm)
    return ClientIdentity(CHECKED_ARKOR_VERSION, None, pm)


# ---- the package manager (arkor's core/upgrade-hint.ts, plus the project's lock file)


def _from_user_agent(agent: str | None) -> PackageManager | None:
    product = (agent or "").split("/")[0]
    return product if product in ("npm", "pnpm", "yarn", "bun") else None  # type: ignore[return-value]


def _from_path(path: str | None) -> PackageManager | None:
    if not path:
        return None
    lowered = path.replace("\\", "/").lower()
    if "/.bun/" in lowered:
        return "bun"
    if "/pnpm/" in lowered or "/.pnpm/" in lowered:
        return "pnpm"
    if "/.yarn/" in lowered or "/yarn/" in lowered:
        return "yarn"
    return None


LOCK_FILES: tuple[tuple[str, PackageManager], ...] = (
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    ("bun.lock", "bun"),
    ("bun.lockb", "bun"),
    ("package-lock.json", "npm"),
)


def detect_package_manager(
    env: Mapping[str, str], project: Path | None = None, arkor_path: Path | None = None
) -> PackageManager:
    """arkor's order (npm_config_user_agent, then the install path), with the
    project's lock file between them; npm when nothing tells."""
    found = _from_user_agent(env.get("npm_config_user_agent"))
    if found is None and project is not None:
        for name, manager in LOCK_FILES:
            if (project / name).is_file():
                found = manager
                break
    if found is None and arkor_path is not None:
        found = _from_path(str(arkor_path))
    return found or "npm"


def upgrade_command(pm: PackageManager) -> str:
    """arkor's upgradeCommandFor."""
    return {
        "pnpm": "pnpm add -g arkor@latest",
        "yarn": "yarn global add arkor@latest",
        "bun": "bun add -g arkor@latest",
        "npm": "npm install -g arkor@latest",
    }[pm]


# ---- the 426 ---------------------------------------------------------------------------


class UpgradeRequiredError(ConfigError):
    """426 from the cloud's SDK version gate: exit 4, nothing retried."""


def upgrade_required(body: Any, identity: ClientIdentity) -> UpgradeRequiredError:
    """The one line (and hint) for a 426 with this body."""
    command = upgrade_command(identity.package_manager)
    sent = f"we sent X-Arkor-Client: {identity.header}"
    where = (
        f"the arkor installed in this project ({identity.package})"
        if identity.package is not None
        else "no arkor is installed in this project, so arkor-studio sent the arkor version "
        "it was checked against"
    )
    if isinstance(body, dict) and body.get("error") == "sdk_version_unsupported":
        reason = body.get("reason")
        if reason in ("missing", "malformed"):
            return UpgradeRequiredError(
                f"The X-Arkor-Client header was {reason} ({sent}): the Arkor cloud API "
                "refused arkor-studio's client header.",
                hint=f"Upgrade arkor-studio: {UPGRADE_SELF}.",
            )
        current = _text(body.get("currentVersion")) or identity.sdk_version
        supported = _text(body.get("supportedRange")) or "unknown"
        message = (
            f"Arkor SDK {current} is no longer supported (supported: {supported}). Run `{command}`."
        )
        if identity.package is not None:
            hint = (
                f"The version is {where}: upgrade it there too "
                f"(`{command.replace(' -g', '').replace(' global', '')}` in the project)."
            )
        else:
            hint = f"The version came from arkor-studio ({where}): {UPGRADE_SELF}."
        return UpgradeRequiredError(message, hint=hint)
    # Missing, non-JSON or another shape: arkor's generic line, never nothing.
    return UpgradeRequiredError(
        f"Arkor SDK is no longer supported by the cloud API. Run `{command}`.",
        hint=f"{sent} ({where}). If arkor is current, upgrade arkor-studio: {UPGRADE_SELF}.",
    )


def _text(value: object) -> str | None:
    from arkor_cli_studio.textsafe import clean_line

    if isinstance(value, str | int | float) and str(value).strip():
        return clean_line(str(value))[:100]
    return None
