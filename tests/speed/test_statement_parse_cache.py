"""psycopg's parse of a statement's placeholders, kept for the log's larger statements
(config/postgresql): a webhook logging several steps, or a run with a sub automation,
reuses the parse of its insert instead of parsing it again each time."""

from __future__ import annotations

import pytest
from django.db import connection  # noqa: F401 (the skip condition reads it)
from psycopg import _queries

from automations.engine import inserts
from config.postgresql import base
from tests.speed.test_inserts import automation, execution, run_values

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]


def test_psycopg_still_has_the_bounds_the_backend_raises():
    # A psycopg that renamed them would leave the log's statements parsed every time.
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= base.CACHED_STATEMENT_PARAMS
    assert _queries.MAX_CACHED_STATEMENT_LENGTH >= base.CACHED_STATEMENT_LENGTH


def test_an_insert_past_psycopgs_own_bound_is_parsed_once(team):
    auto = automation(team)
    runs = 20  # 20 + 17 * 20 parameters: past psycopg's 50, within the raised bound
    inserts.insert_execution(execution(auto), run_values(runs))
    before = _queries._query2pg.cache_info()
    for _ in range(3):
        inserts.insert_execution(execution(auto), run_values(runs))
    after = _queries._query2pg.cache_info()
    assert after.hits - before.hits == 3
    assert after.misses == before.misses
