from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _django(args: list[str], **env: str) -> subprocess.CompletedProcess:
    # The test run's own settings put values in os.environ; start from a clean slate.
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_start_without_secret_key_names_the_variable(tmp_path):
    result = _django(["check"], DEBUG="false", DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_start_without_encryption_keys_names_the_variable(tmp_path):
    result = _django(["check"], DEBUG="false", SECRET_KEY="x" * 60, DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS is not set" in result.stderr


def test_debug_mode_makes_keys_once_into_the_data_folder(tmp_path):
    result = _django(["check"], DEBUG="true", DATA_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    key = (tmp_path / "encryption_keys").read_text()
    _django(["check"], DEBUG="true", DATA_DIR=str(tmp_path))
    assert (tmp_path / "encryption_keys").read_text() == key


@pytest.mark.slow
def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = _django(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="false",
        SECRET_KEY="k7#Zp2!vQ9@mL4$wX8^nB3&tR6*yU1(eI5)oA0_sD-fG+hJ=cV" * 2,
        ENCRYPTION_KEYS="g5lp_XIvf57QnEMfLR5MAGKcLP537FKz4RXTBtcVrXA=",
        ALLOWED_HOSTS="switchboard.example.com",
        DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_worker_nice_value_out_of_range_is_refused(tmp_path):
    result = _django(["check"], DEBUG="true", DATA_DIR=str(tmp_path), WORKER_NICE="25")
    assert result.returncode != 0
    assert "WORKER_NICE must be between 0 and 19" in result.stderr
