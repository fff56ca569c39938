"""The SQLite backend (config/sqlite): statements converted to SQLite's placeholders as
Django's own backend converts them, each distinct text converted once."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.db.backends.sqlite3.base import SQLiteCursorWrapper
from django.db.backends.sqlite3.operations import DatabaseOperations as DjangoOperations

from automations.models import Execution
from config.sqlite.base import qmark

pytestmark = pytest.mark.skipif("connection.vendor != 'sqlite'")


def _django(query: str, params=None) -> str:
    names = list(params) if isinstance(params, dict) else None
    return SQLiteCursorWrapper.convert_query(None, query, param_names=names)


def test_the_platform_uses_its_own_backend():
    assert type(connections["default"]).__module__ == "config.sqlite.base"


@pytest.mark.parametrize(
    "query",
    [
        "SELECT %s, %s",
        "SELECT '100%%' WHERE a LIKE %s ESCAPE '\\'",
        "SELECT '%%s' , %s",
        "INSERT INTO t (a, b) VALUES (%s, %s), (%s, %s)",
        "SELECT 1",
    ],
)
def test_a_statement_is_converted_as_django_converts_it(query):
    assert qmark(query) == _django(query)


@pytest.mark.django_db
def test_named_parameters_keep_djangos_conversion():
    with connection.cursor() as cursor:
        cursor.execute("SELECT %(a)s + %(b)s", {"a": 2, "b": 3})
        assert cursor.fetchone() == (5,)


@pytest.mark.django_db
def test_a_repeated_statement_is_converted_once():
    qmark.cache_clear()
    for _ in range(3):
        list(Execution.objects.filter(status="queued", automation_id=1))
    info = qmark.cache_info()
    assert info.misses == 1
    assert info.hits == 2
    # A bulk statement longer than the bound is converted, and not kept.
    long = "SELECT 1 WHERE 1 IN (" + ", ".join(["%s"] * 5000) + ")"
    with connection.cursor() as cursor:
        cursor.execute(long, [1] * 5000)
        assert cursor.fetchone() == (1,)
    assert qmark.cache_info().currsize == info.currsize
    # A literal percent sign survives, as in Django's backend.
    with connection.cursor() as cursor:
        cursor.execute("SELECT '50%%', %s", ["x"])
        assert cursor.fetchone() == ("50%", "x")


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 29, 1, 59, 58, 123456, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 59, 58, tzinfo=UTC),  # no microseconds
        datetime(2026, 3, 29, 3, 0, 1, 5, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2026, 3, 29, 3, 0, 1, 5),
        None,
    ],
)
def test_a_time_is_stored_as_djangos_backend_stores_it(value):
    stock = DjangoOperations(connection).adapt_datetimefield_value(value)
    assert connection.ops.adapt_datetimefield_value(value) == stock
