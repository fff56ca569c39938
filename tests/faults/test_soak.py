"""The soak's 30-second version (bench/soak.py; `make soak` runs ten minutes): sync,
queued and sub-automation webhooks against gunicorn and a qcluster on PostgreSQL and a
private Redis, a worker SIGKILLed every 10 s and the whole cluster once. Every accepted
delivery ends as exactly one execution with a final status, and none is left stuck."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from tests.support.required import require

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def _admin_url() -> str:
    """The test's PostgreSQL server, through its maintenance database: the soak makes a
    database of its own there and drops it at the end."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"


def test_it_loses_duplicates_and_strands_no_run_in_a_30_second_soak(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("runs on PostgreSQL (CI's first pass)")
    require(shutil.which("redis-server") is not None, "redis-server")
    results = tmp_path / "soak.json"
    env = {
        **os.environ,
        "SOAK_SECONDS": "30",
        "SOAK_KILL_EVERY": "10",
        "SOAK_PG_URL": _admin_url(),
        "SOAK_DB": f"{connection.settings_dict['NAME']}_soak",
        "SOAK_RESULTS": str(results),
    }
    soak = subprocess.run(
        [sys.executable, "bench/soak.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert results.exists(), soak.stdout + soak.stderr
    report = json.loads(results.read_text())
    assert (report["lost"], report["duplicated"], report["stuck"]) == (0, 0, 0), soak.stdout
    assert report["unexplained"] == 0, soak.stdout
    assert report["kills"]["worker"] == 3 and report["kills"]["cluster"] == 1, report["kills"]
    assert set(report["accepted_by_kind"]) == {"sync", "queued", "parent"}
    assert report["finished"].get("succeeded", 0) >= report["accepted"] - report["interrupted"]
    assert soak.returncode == 0, soak.stdout
