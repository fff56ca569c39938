"""SQLite: the log's writers take turns on a lock beside the database instead of in
SQLite's busy handler (engine/inserts.py ``_writers_queue``)."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
from django.db import connection

from automations.engine import inserts


@pytest.fixture
def database_file(tmp_path, monkeypatch):
    name = str(tmp_path / "switchboard.sqlite3")
    monkeypatch.setitem(connection.settings_dict, "NAME", name)
    return name


def _hold_turn(name: str, started, release) -> None:
    connection.settings_dict["NAME"] = name
    with inserts._writers_queue():
        started.set()
        release.wait(10)


def test_a_second_writer_of_the_process_waits_for_the_first(database_file):
    order, started, release = [], threading.Event(), threading.Event()

    def first() -> None:
        with inserts._writers_queue():
            started.set()
            release.wait(10)
            order.append("first done")

    def second() -> None:
        started.wait(10)
        with inserts._writers_queue():
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    assert order == []  # the second waits while the first holds its turn
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first done", "second in"]


def test_a_writer_of_another_process_waits_too(database_file):
    context = multiprocessing.get_context("fork")
    started, release = context.Event(), context.Event()
    other = context.Process(target=_hold_turn, args=(database_file, started, release))
    other.start()
    assert started.wait(10)
    entered = threading.Event()

    def write() -> None:
        with inserts._writers_queue():
            entered.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert not entered.wait(0.3)
    release.set()
    assert entered.wait(10)
    other.join(10)
    thread.join(10)


def test_an_in_memory_database_takes_no_turn(database_file, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "NAME", ":memory:")
    with inserts._writers_queue():
        pass
    assert not inserts._turn.locked()


def test_a_lock_file_that_cannot_be_opened_refuses_no_write(tmp_path, monkeypatch, caplog):
    # A folder where the lock file would be: opening it fails, even for root.
    (tmp_path / "db.sqlite3.writers").mkdir()
    monkeypatch.setitem(connection.settings_dict, "NAME", str(tmp_path / "db.sqlite3"))
    with inserts._writers_queue():
        pass  # no OSError: the turn is taken within the process only
    assert "take turns within each process only" in caplog.text
