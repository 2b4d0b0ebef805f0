"""A realistic training run: its scenario and its events (pure, stdlib only).

`plan()` turns a `Scenario` into the events a real fine-tuning job sends,
each at a moment of *simulated* time (what a real run would take: ~40 s of
GPU warm-up, ~1.5 s per optimizer step, eval passes, checkpoint saves).
Playing it into a `Simulator` (and the few jobs `demo --jobs` lists):
`demo_play`. No rich, no httpx.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from arkor_cli_studio.model import CHECKPOINT, COMPLETED, END, FAILED, LOG, STARTED

DEFAULT_STEPS = 120
# A default run is ~230 s of simulated time (40 s warm-up, 120 steps of
# 1.5 s, evals, checkpoints): at 4x it ends in about a minute.
DEFAULT_SPEED = 4.0
DEFAULT_SEED = 20260504

ORG = "acme"
PROJECT = "demo"
PROJECT_ID = "proj_demo"
DEMO_JOB_ID = "cm9x2k7q40001demo8r3tv5wz"
DEMO_JOB_NAME = "smoltalk-chat-qwen2.5-0.5b"
OOM_ERROR = (
    "CUDA out of memory. Tried to allocate 1.95 GiB. GPU 0 has a total capacity of "
    "22.05 GiB of which 1.21 GiB is free. Lower batchSize or maxLength."
)


#: Runs that go wrong (`demo --scenario`), each with the alert rule that notices it.
KINDS = ("normal", "nan", "diverge", "plateau", "stall", "overfit")
STALL_GAP = 120.0  # simulated seconds without a training.log in the `stall` scenario


@dataclass(frozen=True)
class Scenario:
    steps: int = DEFAULT_STEPS
    speed: float = DEFAULT_SPEED
    fail: bool = False
    seed: int = DEFAULT_SEED
    # What goes wrong from about the middle of the run (KINDS): "normal" is a
    # clean run. The shape of a clean run varies with the knobs below (their
    # defaults are the demo's own run).
    kind: str = "normal"
    noise: float = 1.0  # scales the loss's noise
    start: float = 1.9  # the loss above its floor at step 0
    floor: float = 0.48  # where the loss levels off
    decay: float = 4.5  # how fast it gets there
    bump: float = 0.0  # a rise of the loss during the LR warm-up (fraction of the loss)
    spikes: float = 0.0  # chance per step of a one-step spike (x1.5 to x3)
    eval_steps: int | None = None  # evaluate every N steps (default: about 12 evals)
    warmup: float = 40.0  # simulated seconds queued while a GPU is allocated
    step_time: float = 1.5  # simulated seconds per optimizer step
    eval_time: float = 6.0  # one eval pass
    checkpoint_time: float = 4.0  # saving a LoRA adapter
    batch_size: int = 16  # arkor's batchSize: samples per optimizer step
    epochs: int = 2
    learning_rate: float = 2e-4

    @property
    def eval_every(self) -> int:
        if self.eval_steps is not None:
            return max(1, self.eval_steps)
        return max(1, round(self.steps / 12))

    @property
    def trouble_step(self) -> int:
        """Where the `kind` of trouble starts (about the middle of the run)."""
        share = {"plateau": 0.35, "overfit": 0.4, "diverge": 0.5, "stall": 0.5}.get(self.kind, 0.55)
        return max(1, int(self.steps * share))

    def alert_rules(self) -> list[str]:
        """The `--alert` rules that notice this scenario's trouble (none for a
        clean run: the watch's default rules apply)."""
        if self.kind == "plateau":
            return [f"plateau:{max(5, self.steps // 5)}"]
        if self.kind == "stall":
            # A third of the silence, in real seconds at this speed: the
            # normal gaps (an eval pass, a checkpoint) are far shorter.
            seconds = STALL_GAP / self.speed / 3
            return [f"stall:{seconds:.2g}s"]
        if self.kind == "overfit":
            return ["eval_rises:3"]
        if self.kind in ("nan", "diverge"):
            return [self.kind]
        return []

    @property
    def save_every(self) -> int:
        return self.eval_every * 4

    @property
    def warmup_steps(self) -> int:
        return max(1, round(self.steps * 0.1))

    @property
    def fail_step(self) -> int:
        return max(1, int(self.steps * 0.6))


@dataclass(frozen=True)
class Planned:
    at: float  # simulated seconds since the job was created
    event: str
    payload: dict[str, Any] = field(default_factory=dict)


def job_config(scenario: Scenario) -> dict[str, Any]:
    return {
        "model": "Qwen/Qwen2.5-0.5B-Instruct",
        "datasetSource": {
            "type": "huggingface",
            "name": "HuggingFaceTB/smoltalk",
            "subset": "everyday-conversations",
            "split": "train",
        },
        "maxSteps": scenario.steps,
        "numTrainEpochs": scenario.epochs,
        "learningRate": scenario.learning_rate,
        "lrSchedulerType": "cosine",
        "warmupSteps": scenario.warmup_steps,
        "batchSize": scenario.batch_size,
        "optim": "adamw_8bit",
        "evalSteps": scenario.eval_every,
        "saveSteps": scenario.save_every,
        "loraR": 16,
        "loraAlpha": 32,
        "maxLength": 2048,
    }


def learning_rate(scenario: Scenario, step: int) -> float:
    """Linear warm-up, then cosine decay to zero at the last step."""
    warm = scenario.warmup_steps
    if step <= warm:
        value = scenario.learning_rate * step / warm
    else:
        progress = (step - warm) / max(1, scenario.steps - warm)
        value = scenario.learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))
    return float(f"{value:.4e}")


# Long on purpose: a data table: each scenario's events, in order.
def plan(scenario: Scenario) -> list[Planned]:
    """Every event of the run, in order, at strictly increasing simulated times."""
    rng = random.Random(scenario.seed)
    samples = scenario.batch_size
    events: list[Planned] = []
    t = scenario.warmup
    events.append(
        Planned(
            t,
            STARTED,
            {
                "metadata": {
                    "gpu": "NVIDIA L4 (24 GB)",
                    "baseModel": job_config(scenario)["model"],
                    "totalSteps": scenario.steps,
                    "trainableParameters": 8_798_208,
                    "totalParameters": 502_830_976,
                    "precision": "bf16",
                }
            },
        )
    )
    losses: list[float] = []
    last_eval: float | None = None
    evals = 0
    end_step = scenario.fail_step if scenario.fail else scenario.steps
    trouble = scenario.trouble_step if scenario.kind != "normal" else end_step + 1
    kind = scenario.kind
    base_loss = base_eval = math.nan  # at the trouble step
    warm = scenario.warmup_steps
    for step in range(1, end_step + 1):
        progress = step / scenario.steps
        t += scenario.step_time * (0.9 + 0.2 * rng.random())
        if kind == "stall" and step == trouble + 1:
            t += STALL_GAP  # the trainer hangs, then comes back
        if kind == "plateau" and step >= trouble:
            progress = trouble / scenario.steps  # the loss stops improving
        trend = scenario.floor + scenario.start * math.exp(-scenario.decay * progress)
        if scenario.bump and step <= 2 * warm:
            trend *= 1.0 + scenario.bump * math.sin(math.pi * step / (2 * warm))
        sigma = (0.05 + 0.07 * (1.0 - progress)) * scenario.noise
        if kind == "plateau" and step >= trouble:
            sigma = 0.002 * trend
        loss = max(0.05, trend + rng.gauss(0.0, sigma))
        if scenario.spikes and rng.random() < scenario.spikes:
            loss *= rng.uniform(1.5, 3.0)
        if step == trouble:
            base_loss = loss
        if kind == "diverge" and step > trouble:
            loss = base_loss * 1.07 ** (step - trouble) * (1.0 + rng.gauss(0.0, 0.02))
        elif kind == "nan" and step >= trouble:
            loss = math.nan
        losses.append(loss)
        log: dict[str, Any] = {
            "step": step,
            "loss": round(loss, 4),
            "learningRate": learning_rate(scenario, step),
            "epoch": round(scenario.epochs * progress, 4),
            "samplesPerSecond": round(samples / scenario.step_time * rng.uniform(0.95, 1.05), 2),
        }
        eval_loss: float | None = None
        if step % scenario.eval_every == 0:
            evals += 1
            eval_loss = round(0.55 + 1.75 * math.exp(-4.0 * progress) + rng.gauss(0.0, 0.015), 4)
            if kind == "overfit" and step >= trouble:
                if base_eval != base_eval:
                    base_eval = eval_loss
                # Rising by 0.05 an evaluation: well above the noise.
                eval_loss = round(base_eval + 0.05 * (step - trouble) / scenario.eval_every, 4)
            elif kind == "nan" and step >= trouble:
                eval_loss = math.nan
            last_eval = eval_loss
            if evals % 2 == 0:
                log["evalLoss"] = eval_loss  # this trainer logged train and eval together
                eval_loss = None
        events.append(Planned(t, LOG, log))
        if eval_loss is not None:  # an eval-only frame: evalLoss, no loss
            t += scenario.eval_time
            events.append(
                Planned(t, LOG, {"step": step, "evalLoss": eval_loss, "epoch": log["epoch"]})
            )
        if scenario.fail and step == end_step:
            t += 2.0
            events.append(Planned(t, FAILED, {"error": OOM_ERROR, "step": step}))
            events.append(Planned(t + 0.01, END))
            return events
        if step % scenario.save_every == 0:
            t += scenario.checkpoint_time
            base = f"checkpoints/checkpoint-{step}"
            events.append(
                Planned(
                    t,
                    CHECKPOINT,
                    {
                        "step": step,
                        "artifacts": [
                            {"pathname": f"{base}/adapter_model.safetensors"},
                            {"pathname": f"{base}/adapter_config.json"},
                        ],
                    },
                )
            )
    t += 3.0
    metrics: dict[str, Any] = {
        "trainLoss": round(sum(losses) / len(losses), 4),
        "trainRuntime": round(t - scenario.warmup, 1),
        "trainSamplesPerSecond": round(samples * scenario.steps / (t - scenario.warmup), 2),
    }
    if last_eval is not None:
        metrics["evalLoss"] = last_eval
    events.append(
        Planned(
            t,
            COMPLETED,
            {
                "artifacts": [
                    {"pathname": "final/adapter_model.safetensors"},
                    {"pathname": "final/adapter_config.json"},
                    {"pathname": "final/tokenizer.json"},
                    {"pathname": "final/tokenizer_config.json"},
                ],
                "metrics": metrics,
            },
        )
    )
    events.append(Planned(t + 0.01, END))
    return events
