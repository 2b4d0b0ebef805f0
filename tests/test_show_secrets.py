"""`show` masks every config key that names a secret (issue 17, also found)."""

from __future__ import annotations

import json

import pytest

from arkor_cli_studio.jobinfo import is_secret_key
from arkor_cli_studio.model import hide_url_secrets

SECRETS = {
    "token": "tok-1",
    "hfToken": "hf_abc",
    "privateKey": "-----BEGIN KEY-----",
    "hfAuth": "auth-2",
    "password": "pw-3",
    "dbPassword": "pw-4",
    "client_secret": "sec-5",
    "apiKey": "key-6",
    "WANDB_API_KEY": "key-7",
    "aws-access-key": "key-8",
    "authorization": "Bearer key-9",
    "credentials": "cred-10",
    "push.auth": "auth-11",
}
HARMLESS = ["author", "maxSteps", "maxSeqLength", "keyFrames",
            "earlyStoppingPatience", "learningRate", "passes"]  # fmt: skip


@pytest.mark.parametrize("key", sorted(SECRETS))
def test_secret_keys(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", HARMLESS)
def test_harmless_keys(key):
    assert not is_secret_key(key)


def test_show_masks_every_secret_in_the_table_and_the_json(arkor):
    config = {"model": "m", "maxSteps": 10, **SECRETS, "nested": {"hfAuth": "auth-12", "x": 1}}
    arkor.sim.add_job("j1", name="run", status="running", config=config)
    table = arkor.cli("--no-color", "show", "j1")
    assert table.code == 0, table.stderr
    as_json = arkor.cli("show", "j1", "--json")
    for value in [*SECRETS.values(), "auth-12"]:
        assert value not in table.output, value
        assert value not in as_json.output, value
    assert table.stdout.count("(hidden)") >= len(SECRETS)
    data = json.loads(as_json.stdout)
    assert data["config"]["privateKey"] == "(hidden)" and data["config"]["maxSteps"] == 10
    assert data["config"]["nested"] == {"hfAuth": "(hidden)", "x": 1}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://b.s3.amazonaws.com/d.jsonl?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA9"
            "&X-Amz-Signature=f00d&X-Amz-Security-Token=tk1",
            "https://b.s3.amazonaws.com/d.jsonl?X-Amz-Algorithm=AWS4&X-Amz-Credential=(hidden)"
            "&X-Amz-Signature=(hidden)&X-Amz-Security-Token=(hidden)",
        ),
        (
            "https://acct.blob.core.windows.net/c/d.jsonl?sv=2024&sig=abc%2B#part",
            "https://acct.blob.core.windows.net/c/d.jsonl?sv=2024&sig=(hidden)#part",
        ),
        ("https://user:pw-13@host/d.jsonl", "https://user:(hidden)@host/d.jsonl"),
        ("https://datasets.example.com/haiku.jsonl", "https://datasets.example.com/haiku.jsonl"),
        ("not a url ?token=x", "not a url ?token=x"),
    ],
)
def test_url_secrets_are_hidden_and_the_rest_kept(url, shown):
    assert hide_url_secrets(url) == shown


def test_show_hides_a_presigned_dataset_url_in_the_table_and_the_json(arkor):
    """A presigned blob URL is a key to the data; `show` goes to CI logs."""
    url = "https://b.s3.amazonaws.com/d.jsonl?X-Amz-Signature=sig-14&X-Amz-Credential=cred-15"
    config = {"model": "m", "datasetSource": {"type": "blob", "url": url}}
    arkor.sim.add_job("j1", name="run", status="running", config=config)
    table = arkor.cli("--no-color", "show", "j1")
    as_json = arkor.cli("show", "j1", "--json")
    assert (table.code, as_json.code) == (0, 0), table.stderr + as_json.stderr
    for output in (table.output, as_json.output):
        assert "sig-14" not in output and "cred-15" not in output
    assert "b.s3.amazonaws.com/d.jsonl" in table.stdout
    source = json.loads(as_json.stdout)["config"]["datasetSource"]
    assert source["url"].endswith("?X-Amz-Signature=(hidden)&X-Amz-Credential=(hidden)")
