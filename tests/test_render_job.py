"""The `show` and `artifacts` renderables at a fixed width, clock and zone,
and the pure values they draw (jobinfo)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

from rich.console import Console, RenderableType

from arkor_cli_studio.jobinfo import (
    CONFIG_LABELS,
    HIDDEN,
    Artifact,
    collect_artifacts,
    config_rows,
    error_text,
    final_artifact_count,
)
from arkor_cli_studio.model import Event, parse_job
from arkor_cli_studio.render.job import artifacts_view, job_view

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
TOKYO = timezone(timedelta(hours=9))


def text_of(renderable: RenderableType, width: int = 100) -> str:
    console = Console(
        file=io.StringIO(), record=True, width=width, color_system=None, force_terminal=False
    )
    console.print(renderable)
    return console.export_text()


def job(**fields):  # type: ignore[no-untyped-def]
    base = {
        "id": "job_01HZX3",
        "name": "faq-bot",
        "status": "completed",
        "createdAt": "2026-03-01T10:00:00Z",
        "startedAt": "2026-03-01T10:00:40Z",
        "completedAt": "2026-03-01T10:09:55Z",
        "error": None,
        "config": {
            "model": "unsloth/gemma-3-270m-it",
            "datasetSource": {"type": "huggingface", "name": "acme/faq", "split": "train"},
            "maxSteps": 300,
            "numTrainEpochs": 2,
            "learningRate": 0.0002,
            "batchSize": 8,
            "loraR": 16,
            "loraAlpha": 32,
            "loadIn4bit": True,
            "warmupSteps": None,
            "someNewKnob": {"mode": "fast", "apiKey": "sk-123"},
        },
    }
    base.update(fields)
    parsed = parse_job(base)
    assert parsed is not None
    return parsed


def ev(name: str, **data):  # type: ignore[no-untyped-def]
    return Event(name, "1", {"type": name, **data})


def test_show_completed(snapshot):
    j = job()
    view = job_view(j, NOW, TOKYO, config=config_rows(j.config), artifacts=1)
    assert text_of(view) == snapshot


def test_show_failed_with_error_and_no_config(snapshot):
    j = job(status="failed", config={}, error="CUDA out of memory.\n\tTried to allocate 2 GiB")
    view = job_view(j, NOW, UTC, config=config_rows(j.config), error=error_text(j))
    assert text_of(view) == snapshot


def test_show_warming_up_has_no_duration(snapshot):
    j = job(status="queued", createdAt="2026-03-01T11:59:30Z", startedAt=None, completedAt=None)
    view = job_view(j, NOW, UTC, config=config_rows(j.config))
    assert text_of(view, width=60) == snapshot


def test_artifacts_table(snapshot):
    found = collect_artifacts(
        [
            ev("checkpoint.saved", step=100, artifacts=[{"pathname": "ckpt/100", "size": 42}]),
            ev("checkpoint.saved", step=150.5, artifacts=["s3://bucket/ckpt/150"]),
            ev(
                "training.completed",
                artifacts=[
                    {
                        "url": "https://storage.example.com/" + "very/long/" * 8 + "adapter",
                        "pathname": "final/adapter.safetensors",
                        "sha256": "ab" * 16,
                    }
                ],
            ),
        ]
    )
    assert text_of(artifacts_view(found)) == snapshot
    assert text_of(artifacts_view([])) == "No artifacts yet.\n"


def test_config_rows_labels_order_and_secrets():
    rows = config_rows(
        {
            "zeta": 1,
            "loraAlpha": 32,
            "model": "m",
            "datasetSource": {"type": "blob", "url": "u", "token": "t"},
            "steps": 10,
            "epochs": 1.5,
            "learningRate": 1e-05,
            "blank": "",
            "none": None,
            "empty": {},
            "inf": float("inf"),
            "flag": False,
            "hfToken": "hf_secret",
        }
    )
    assert rows == [
        ("Steps", "10"),
        ("Epochs", "1.5"),
        ("Learning rate", "1e-05"),
        ("LoRA alpha", "32"),
        ("Zeta", "1"),
        ("Flag", "no"),
        ("Hf token", HIDDEN),
    ]
    # model and dataset only leave the config when the metadata rows show them
    assert config_rows({"model": 5, "dataset": "d"}) == [("Base model", "5"), ("Dataset", "d")]
    assert config_rows({"datasetSource": "x", "dataset": "old"}) == [
        ("Dataset", "x"),
        ("Dataset", "old"),
    ]


#: Every key of arkor's `JobConfig` (packages/arkor/src/core/types.ts), as
#: `buildJobConfig()` in core/trainer.ts sends it; tests/real_arkor checks
#: this list against the source when the kit is built.
JOB_CONFIG_KEYS = (
    "model",
    "datasetSource",
    "datasetFormat",
    "maxSteps",
    "numTrainEpochs",
    "learningRate",
    "batchSize",
    "optim",
    "lrSchedulerType",
    "weightDecay",
    "warmupSteps",
    "loggingSteps",
    "saveSteps",
    "evalSteps",
    "loraR",
    "loraAlpha",
    "maxLength",
    "loadIn4bit",
    "trainOnResponsesOnly",
    "datasetSplit",
    "dryRun",
)


def test_every_job_config_key_has_a_readable_label():
    config = {key: f"v-{key}" for key in JOB_CONFIG_KEYS}
    config["datasetSource"] = {"type": "huggingface", "name": "acme/faq"}
    rows = config_rows(config)
    # model and datasetSource are the metadata's Base model and Dataset rows
    assert rows == [
        ("Dataset format", "v-datasetFormat"),
        ("Dataset split", "v-datasetSplit"),
        ("Max steps", "v-maxSteps"),
        ("Epochs", "v-numTrainEpochs"),
        ("Learning rate", "v-learningRate"),
        ("Batch size", "v-batchSize"),
        ("Optimizer", "v-optim"),
        ("LR scheduler", "v-lrSchedulerType"),
        ("Weight decay", "v-weightDecay"),
        ("Warmup steps", "v-warmupSteps"),
        ("Logging steps", "v-loggingSteps"),
        ("Save steps", "v-saveSteps"),
        ("Eval steps", "v-evalSteps"),
        ("LoRA rank (r)", "v-loraR"),
        ("LoRA alpha", "v-loraAlpha"),
        ("Max length", "v-maxLength"),
        ("Load in 4-bit", "v-loadIn4bit"),
        ("Train on responses only", "v-trainOnResponsesOnly"),
        ("Dry run", "v-dryRun"),
    ]
    assert all(key in CONFIG_LABELS for key in JOB_CONFIG_KEYS)
    # a value the metadata cannot name stays in the configuration, secrets hidden
    blob = config_rows({"model": ["a"], "datasetSource": {"type": "blob", "token": "t"}})
    assert blob == [("Base model", '["a"]'), ("Dataset", '{"type":"blob","token":"(hidden)"}')]


def test_unknown_keys_get_a_label_of_their_words():
    assert [
        label
        for label, _ in config_rows(
            {
                "someNewKnob": 1,
                "hf_repo_ID": 2,
                "maxLR": 3,
                "lora.dropout": 4,
                "___": 5,
                "seed2": 6,
            }
        )
    ] == ["Some new knob", "Hf repo ID", "Max LR", "Lora dropout", "___", "Seed 2"]


def test_error_text_prefers_the_job_then_the_last_failed_event():
    assert error_text(job(error="  boom  ")) == "boom"
    events = [ev("training.failed", error="first"), ev("training.failed", error="second")]
    assert error_text(job(error=None), events) == "second"
    assert error_text(job(error="  "), [ev("training.failed", error=3)]) is None


def test_collect_artifacts_kinds_steps_and_junk():
    found = collect_artifacts(
        [
            ev("training.log", step=1, artifacts=["not-an-artifact"]),
            ev("checkpoint.saved", step=2.0, artifacts="not a list"),
            ev("checkpoint.saved", step=3.0, artifacts=["a", None]),
            ev("training.completed", step=float("inf"), artifacts=[{"path": "p", "x": 1e400}]),
        ]
    )
    assert [a.record() for a in found] == [
        {"kind": "checkpoint", "step": 3, "artifact": "a"},
        {"kind": "final", "step": None, "artifact": {"path": "p", "x": None}},
    ]
    assert isinstance(found[0].step, int)
    assert final_artifact_count([]) is None
    assert final_artifact_count([ev("training.completed")]) == 0


def test_artifact_location_and_details():
    a = Artifact("final", None, {"size": 1, "uri": "gs://x", "path": "", "url": "https://y"})
    assert a.location == "https://y"  # url outranks uri; an empty path is not a location
    assert a.details == [("size", "1"), ("uri", "gs://x"), ("path", "")]
    assert Artifact("final", None, "s").details == []
    assert Artifact("final", None, {"n": 1}).location is None


# --------------------------------------------------------------------------
# Issue 15: Studio's times, N/A and dataset labels


def rows_of(j, **kw):  # type: ignore[no-untyped-def]
    from arkor_cli_studio.model import metadata_rows

    return dict(metadata_rows(j, NOW, tz=UTC, **kw))


def test_a_queued_job_has_no_duration_and_does_not_tick():
    j = job(status="queued", createdAt="2026-03-01T11:58:00Z", startedAt=None, completedAt=None)
    for now in (NOW, NOW + timedelta(minutes=5)):
        from arkor_cli_studio.model import metadata_rows

        rows = dict(metadata_rows(j, now, tz=UTC))
        assert rows["Duration"] == "N/A"  # not 2m00s: the queue is not the run
    assert rows["Started"] == rows["Completed"] == rows["Artifacts"] == "N/A"


def test_started_and_completed_fall_back_to_the_events():
    from arkor_cli_studio.jobinfo import times_of

    j = job(status="completed", startedAt=None, completedAt=None)
    events = [
        ev("training.started", timestamp="2026-03-01T10:01:40Z"),
        ev("training.started", timestamp="2026-03-01T10:02:00Z"),  # the first one counts
        ev("training.completed", timestamp="2026-03-01T10:02:02Z"),
    ]
    rows = rows_of(j, times=times_of(j, events, NOW))
    assert rows["Started"] == "2026-03-01 10:01:40"
    assert rows["Completed"] == "2026-03-01 10:02:02"
    assert rows["Duration"] == "22s"
    assert rows_of(j)["Duration"] == "N/A"  # no events: ended without times


def test_legacy_dataset_fields_are_named_as_studio_names_them():
    from arkor_cli_studio.model import describe_dataset

    assert describe_dataset({"datasetSource": None, "dataset": {"name": "old/set"}}) == "old/set"
    assert describe_dataset({"dataset": {"source": {"name": "legacy/src"}}}) == "legacy/src"
    assert describe_dataset({"dataset": {"source": {"url": "https://x/d.jsonl"}}}) == (
        "https://x/d.jsonl"
    )
    assert (
        describe_dataset({"datasetSource": {"type": "huggingface"}, "dataset": {"url": "u"}}) == "u"
    )
    assert describe_dataset({"datasetSource": {"type": "blob", "url": "b"}}) == "b"
    assert describe_dataset({"datasetSource": {}}) is None


def test_a_failed_job_shows_zero_artifacts():
    assert final_artifact_count([ev("training.failed", error="x")]) == 0
    assert final_artifact_count([ev("training.completed", artifacts=[1, 2])]) == 2
    assert final_artifact_count([ev("checkpoint.saved", artifacts=[1])]) is None


def test_times_at_the_calendars_edge_are_absent_not_a_crash():
    from arkor_cli_studio.model import parse_time

    for text in ("9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        assert parse_time(text) is None
    edge = job(createdAt="0001-01-01T00:00:00Z", startedAt="9999-12-31T23:59:59-05:00")
    out = text_of(job_view(edge, NOW, timezone(timedelta(hours=-5)), config=[]))
    rows = {line.split()[1]: line.split()[2] for line in out.splitlines() if len(line.split()) == 4}
    assert rows["Created"] == rows["Started"] == "N/A"
