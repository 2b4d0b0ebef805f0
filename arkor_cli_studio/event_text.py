"""The words of a watch: each event's message as Studio's event log shows it
(raw server text: callers clean it), and the one-line summary of a run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arkor_cli_studio import progress
from arkor_cli_studio.model import (
    CHECKPOINT,
    COMPLETED,
    FAILED,
    LOG,
    STARTED,
    Event,
    format_duration,
)
from arkor_cli_studio.progress import format_step

if TYPE_CHECKING:
    from arkor_cli_studio.watching import Summary


def format_value(value: float) -> str:
    return f"{value:.4f}"


def event_message(event: Event) -> str:
    """Studio's event-log message (`JobDetail.pushEvent()`); raw server text."""
    name = event.name
    if name == LOG:
        return log_message(event.step, event.loss, event.eval_loss)
    if name == STARTED:
        return started_message(event.data)
    if name == CHECKPOINT:
        step = event.step
        return f"step={format_step(step) if step is not None else '-'}"
    if name == COMPLETED:
        count = len(event.artifacts)
        return f"{count} artifact" if count == 1 else f"{count} artifacts"
    if name == FAILED:
        error = event.data.get("error")
        return error if isinstance(error, str) else "failed"  # (Studio's words)
    return ""


def _count(value: object) -> str | None:
    """`502.8M`, `8.8M`, `1.2B`, `950K` for a parameter count (None: not a count)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        return None
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}"


def started_message(data: dict[str, object]) -> str:
    """training.started summed up in one line: the GPU, the parameters, the
    precision (what its `metadata` carries), not the raw JSON. Other scalar
    fields follow as `key=value` when none of those is there."""
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or not metadata:
        return "training started"
    parts = []
    gpu = next(
        (metadata[k] for k in ("gpu", "gpuName", "gpuType", "device") if k in metadata), None
    )
    if isinstance(gpu, str) and gpu:
        parts.append(f"GPU {gpu}")
    total = _count(metadata.get("totalParameters", metadata.get("parameters")))
    trainable = _count(metadata.get("trainableParameters"))
    if total and trainable:
        parts.append(f"{total} parameters ({trainable} trainable)")
    elif total or trainable:
        parts.append(f"{total} parameters" if total else f"{trainable} trainable parameters")
    precision = metadata.get("precision", metadata.get("dtype"))
    if isinstance(precision, str) and precision:
        parts.append(f"precision {precision}")
    if not parts:
        scalars = [
            f"{key}={value}"
            for key, value in metadata.items()
            if isinstance(value, str | int | float) and not isinstance(value, bool)
        ]
        parts = scalars[:4] or ["training started"]
    return " · ".join(parts)


def log_message(step: float | None, loss: float | None, eval_loss: float | None) -> str:
    """A training.log frame's message: `step=12 loss=0.1234 evalLoss=0.2345`."""
    # (format_step and format_value inline: once per event in --plain)
    if step is not None and loss is not None and eval_loss is None and step.is_integer():
        return f"step={step:.0f} loss={loss:.4f}"  # the usual frame, in one go
    if step is None:
        text = "step=-"
    elif step.is_integer():  # (a finite float: as `step == int(step)`)
        text = f"step={step:.0f}"
    else:
        text = f"step={step:g}"
    if loss is not None:
        text += f" loss={loss:.4f}"
    if eval_loss is not None:
        text += f" evalLoss={eval_loss:.4f}"
    return text


def summary_line(name: str, summary: Summary) -> str:
    """`Job <name> completed in 7m12s · 500 steps (1.2 steps/s) · loss …`."""
    parts = [f"Job {name} {summary.status}"]
    if summary.duration is not None:
        parts[0] += f" in {format_duration(summary.duration)}"
    if summary.step is not None:
        steps = f"{format_step(summary.step)} steps"
        rate = progress.format_rate(summary.rate)
        parts.append(f"{steps} ({rate})" if rate else steps)
    if summary.loss is not None:
        parts.append(f"loss {format_value(summary.loss)}")
    if summary.eval_loss is not None:
        parts.append(f"evalLoss {format_value(summary.eval_loss)}")
    if summary.artifacts is not None:
        noun = "artifact" if summary.artifacts == 1 else "artifacts"
        parts.append(f"{summary.artifacts} {noun}")
    return " · ".join(parts)
