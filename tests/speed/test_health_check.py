"""The PostgreSQL backend's health check (config/postgresql): an idle connection with
nothing to read is usable without a query; one the server closed is not; anything
waiting on the socket gets Django's own SELECT 1."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection, connections

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]


def _server_statements(pid: int) -> tuple:
    """The last statement the session ``pid`` ran, and when, as the server saw it."""
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
        row = other.execute(
            "SELECT query, state_change FROM pg_stat_activity WHERE pid = %s", [pid]
        ).fetchone()
    return row


def test_the_platform_uses_its_own_backend():
    assert type(connections["default"]).__module__ == "config.postgresql.base"


def test_an_idle_connection_is_usable_without_asking_the_server():
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'marker'")
    pid = connection.connection.info.backend_pid
    before = _server_statements(pid)
    assert connection.is_usable()
    # The server saw no statement since the marker: its last query is unchanged.
    assert _server_statements(pid) == before
    assert "marker" in before[0]


def test_a_connection_the_server_closed_is_not_usable():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        other.execute("SELECT pg_sleep(0.2)")  # the closing message reaches the socket
    assert not connection.is_usable()
    connection.close()
    with connection.cursor() as cursor:  # a new one is opened
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_something_waiting_on_the_socket_gets_the_full_check():
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN switchboard_test")
    pid = connection.connection.info.backend_pid
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
        other.execute("NOTIFY switchboard_test")
        other.execute("SELECT pg_sleep(0.2)")
    assert connection.is_usable()  # asked the server (SELECT 1), which answered
    after = _server_statements(pid)
    assert "SELECT 1" in after[0]
    with connection.cursor() as cursor:
        cursor.execute("UNLISTEN switchboard_test")
