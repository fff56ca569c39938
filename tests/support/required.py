"""Tests that need a service of the machine (Chromium, PostgreSQL, Redis) skip where it is
missing, except under CI (`CI=true`), where a missing one fails: a green CI run means
the browser, worker and production tests ran."""

from __future__ import annotations

import os

import pytest


def require(available: bool, what: str) -> None:
    if available:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is required under CI but is missing", pytrace=False)
    pytest.skip(f"{what} is missing")
