"""Our list of arkor's JobConfig keys (tests/test_render_job.py) against arkor's source.

Skipped unless the real-arkor kit's source is unpacked (see conftest.py).
"""

from __future__ import annotations

import re

import pytest

from arkor_cli_studio.jobinfo import CONFIG_LABELS
from tests.real_arkor.conftest import ARKOR_PKG
from tests.test_render_job import JOB_CONFIG_KEYS

TYPES = ARKOR_PKG / "src" / "core" / "types.ts"


@pytest.mark.skipif(not TYPES.is_file(), reason=f"arkor's source is not at {TYPES}")
def test_job_config_keys_are_arkors_and_all_labelled():
    source = TYPES.read_text(encoding="utf-8")
    body = re.search(r"export interface JobConfig \{(.*?)\n\}", source, re.S)
    assert body is not None, "JobConfig not found in types.ts"
    without_comments = re.sub(r"/\*.*?\*/|//[^\n]*", "", body.group(1), flags=re.S)
    keys = re.findall(r"^\s*(\w+)\??:", without_comments, re.M)
    assert keys and set(keys) == set(JOB_CONFIG_KEYS)
    assert all(key in CONFIG_LABELS for key in keys)
