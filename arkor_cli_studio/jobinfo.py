"""What `show` and `artifacts` say about one job, as plain values.

The training configuration as labelled rows, a failed job's error text, and
the artifacts found in a job's history. No I/O, no terminals: the renderers
in `render/job.py` draw these, and the commands print their JSON forms.
Everything here is server data: values come back raw (callers sanitise
them for a terminal) and nothing raises on a malformed payload.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from arkor_cli_studio.model import (
    CHECKPOINT,
    COMPLETED,
    FAILED,
    STARTED,
    Event,
    Job,
    RunTimes,
    base_model,
    describe_dataset,
    hide_url_secrets,
    run_times,
)

# --------------------------------------------------------------------------
# Training configuration

#: Readable labels for the `config` keys of arkor's JobConfig
#: (`core/types.ts`, filled by `buildJobConfig()` in `core/trainer.ts`), in
#: the order they are shown. `steps` / `epochs` are short spellings some
#: older configs use. Other keys get `fallback_label()`.
CONFIG_LABELS: Final = {
    "model": "Base model",
    "datasetSource": "Dataset",
    "datasetFormat": "Dataset format",
    "datasetSplit": "Dataset split",
    "maxSteps": "Max steps",
    "steps": "Steps",
    "numTrainEpochs": "Epochs",
    "epochs": "Epochs",
    "learningRate": "Learning rate",
    "batchSize": "Batch size",
    "optim": "Optimizer",
    "lrSchedulerType": "LR scheduler",
    "weightDecay": "Weight decay",
    "warmupSteps": "Warmup steps",
    "loggingSteps": "Logging steps",
    "saveSteps": "Save steps",
    "evalSteps": "Eval steps",
    "loraR": "LoRA rank (r)",
    "loraAlpha": "LoRA alpha",
    "maxLength": "Max length",
    "loadIn4bit": "Load in 4-bit",
    "trainOnResponsesOnly": "Train on responses only",
    "dryRun": "Dry run",
}
HIDDEN: Final = "(hidden)"
#: A config key naming a secret contains one of these (letters and digits
#: only, any case: `hf_token`, `privateKey`, `API-KEY`, `wandbApiKey`) ...
_SECRET_PARTS: Final = (
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "credential",
    "apikey",
    "privatekey",
    "accesskey",
    "signingkey",
    "clientkey",
    "bearer",
    "cookie",
)
#: ... or has one of these as a word of its own (`hfAuth`, `auth_header`;
#: not `author`).
_SECRET_WORDS: Final = frozenset({"auth", "authorization", "pat", "jwt", "pwd"})


def jsonable(value: Any) -> Any:
    """`value` with non-finite numbers (JSON's `1e309`) as null: `json.dumps` stays valid."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def is_secret_key(key: str) -> bool:
    """Whether a config key names a secret (its value is shown as `(hidden)`)."""
    squashed = "".join(char for char in key.lower() if char.isalnum())
    if any(part in squashed for part in _SECRET_PARTS):
        return True
    # camelCase, snake_case, kebab-case and dotted words
    spaced = "".join(f" {c}" if c.isupper() else c if c.isalnum() else " " for c in key)
    return any(word in _SECRET_WORDS for word in spaced.lower().split())


def redacted_job(raw: dict[str, Any]) -> dict[str, Any]:
    """The API's job object with the config's secret values `(hidden)` (`show --json`)."""
    config = raw.get("config")
    if not isinstance(config, dict):
        return raw
    return {**raw, "config": _redacted(config)}


_is_secret = is_secret_key


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: HIDDEN
            if _is_secret(str(k))
            else hide_url_secrets(v)
            if k == "url" and isinstance(v, str)
            else _redacted(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def compact_json(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"))


def config_value(value: Any) -> str | None:
    """One config value as text, or None when it is not set (null, "", {}, [], inf)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict | list):
        return compact_json(_redacted(value)) if value else None
    return None


def fallback_label(key: str) -> str:
    """A label for a config key arkor's JobConfig does not have (yet): its
    words, the first capitalised (`someNewKnob` -> `Some new knob`,
    `hf_repo_ID` -> `Hf repo ID`); the key itself when it has no words."""
    words = _WORD.findall(key)
    if not words:
        return key
    words = [w if w.isupper() and len(w) > 1 else w.lower() for w in words]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


#: The words of camelCase, PascalCase, snake_case, kebab-case and dotted keys
#: (a run of capitals is one word: `maxLR` -> max, LR).
_WORD: Final = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+|[^\W\d_]+")


def config_rows(config: dict[str, Any]) -> list[tuple[str, str]]:
    """The training configuration fields that are set, as (label, value) rows.

    Known keys get readable labels, in a fixed order; unknown keys follow in
    the server's order, with `fallback_label()`. The base model and the
    dataset are left out when the metadata rows show them, and values under
    keys that look secret (`token`, `apiKey`, ...) read `(hidden)`.
    """
    shown_elsewhere = set()
    if describe_dataset(config) is not None:
        shown_elsewhere |= {"datasetSource", "dataset"}
    if base_model(config) is not None:
        shown_elsewhere.add("model")
    rows: list[tuple[str, str]] = []
    keys = [k for k in CONFIG_LABELS if k in config and k not in shown_elsewhere]
    keys += [k for k in config if k not in CONFIG_LABELS and k not in shown_elsewhere]
    for key in keys:
        raw = config[key]
        text = HIDDEN if _is_secret(key) and raw not in (None, "") else config_value(raw)
        if text is not None:
            label = CONFIG_LABELS.get(key) or fallback_label(str(key))
            rows.append((label, text))
    return rows


def error_text(job: Job, events: Iterable[Event] | None = None) -> str | None:
    """A failed job's error: `job.error`, else the last `training.failed` event's."""
    if job.error and job.error.strip():
        return job.error.strip()
    message = None
    for event in events or ():
        error = event.data.get("error") if event.name == FAILED else None
        if isinstance(error, str) and error.strip():
            message = error.strip()
    return message


# --------------------------------------------------------------------------
# Artifacts

FINAL: Final = "final"
CHECKPOINT_KIND: Final = "checkpoint"
#: Fields that say where an artifact is, most specific first.
LOCATION_KEYS: Final = ("pathname", "path", "url", "uri", "href", "location", "key")


@dataclass(frozen=True, slots=True)
class Artifact:
    """One entry of an event's `artifacts`: a string or an object, as sent."""

    kind: str  # "final" (training.completed) or "checkpoint" (checkpoint.saved)
    step: int | float | None
    value: Any

    def record(self) -> dict[str, Any]:
        """The `artifacts --json` form: {"kind", "step", "artifact"}."""
        return {"kind": self.kind, "step": self.step, "artifact": jsonable(self.value)}

    def _location_key(self) -> str | None:
        if isinstance(self.value, dict):
            for key in LOCATION_KEYS:
                found = self.value.get(key)
                if isinstance(found, str) and found:
                    return key
        return None

    @property
    def location(self) -> str | None:
        """The path or URL: the string itself, or the first location field."""
        if isinstance(self.value, str):
            return self.value or None
        key = self._location_key()
        return str(self.value[key]) if key is not None else None

    @property
    def details(self) -> list[tuple[str, str]]:
        """The other fields, as (key, value) text; a non-object entry is its JSON."""
        if isinstance(self.value, str):
            return []
        if not isinstance(self.value, dict):
            return [("value", compact_json(self.value))]
        skip = self._location_key()
        return [
            (str(key), item if isinstance(item, str) else compact_json(item))
            for key, item in self.value.items()
            if key != skip
        ]


def _step(event: Event) -> int | float | None:
    step = event.step
    if step is None:
        return None
    return int(step) if step.is_integer() else step


def collect_artifacts(events: Iterable[Event]) -> list[Artifact]:
    """Artifacts of each `checkpoint.saved` and of `training.completed`, in order."""
    found: list[Artifact] = []
    for event in events:
        if event.name == CHECKPOINT:
            kind = CHECKPOINT_KIND
        elif event.name == COMPLETED:
            kind = FINAL
        else:
            continue
        step = _step(event)
        found.extend(Artifact(kind, step, item) for item in event.artifacts if item is not None)
    return found


def final_artifact_count(events: Iterable[Event]) -> int | None:
    """The Artifacts row of Studio's sidebar: the last terminal event's count
    (`training.completed`'s artifacts; 0 for `training.failed`), if one was seen."""
    count = None
    for event in events:
        if event.name == COMPLETED:
            count = len(event.artifacts)
        elif event.name == FAILED:
            count = 0
    return count


def times_of(job: Job, events: Iterable[Event] | None, now: datetime) -> RunTimes:
    """Started, Completed and Duration as Studio's Job detail computes them
    (`model.run_times`) from the job and, when known, its events: the first
    `training.started`'s time, the last terminal event's time."""
    live_started = None
    terminal = False
    terminal_at = None
    for event in events or ():
        name = event.name
        if name == STARTED:
            if live_started is None:
                live_started = event.timestamp
        elif name in (COMPLETED, FAILED):
            terminal = True
            terminal_at = event.timestamp
    return run_times(
        job, now, live_started=live_started, terminal=terminal, terminal_at=terminal_at
    )
