"""A new execution and its step runs written with as few statements as the database
allows: one on PostgreSQL, one short transaction of two on SQLite.

A webhook answered inline writes its whole log at the end. Through the ORM that is two
compiled INSERTs inside a transaction, which in the benchmark cost more than the rest
of the request together. Here the SQL is built once per process from Django's own field
definitions (so it follows the models), with the values as parameters:
- PostgreSQL: a single data-modifying CTE, one round trip, atomic by itself: an
  execution with its step runs, and with its sub automations' when it has some
  (``insert_tree``; an execution alone is a tree of one);
- SQLite (no data-modifying CTEs): the execution's INSERT, then every step run in one
  multi-row INSERT, in one transaction. SQLite lets one writer in at a time and the
  write lock is held from the first INSERT to the commit, so nothing else happens in
  between: the id comes from ``lastrowid`` (no RETURNING row to fetch) and the values
  are prepared before the transaction starts. A run without step runs (a queued
  webhook) is one statement, in autocommit.
On SQLite an execution with children (sub automations) writes each in turn inside one
transaction. Other databases use the ORM. Outside a transaction, the writes that threads
of one process make at the same moment go together: one statement on PostgreSQL, one
transaction on SQLite (engine/group_commit.py).

The same statement can check the plan's freshness (``expect``): the execution is
inserted only if its automation still has the version the plan was built from, so a
webhook served from a cached plan needs no read of that version beforehand. Nothing
inserted means the plan was stale (``StalePlan``); the caller runs again with a fresh
one (it ran only steps free of side effects: an inline run writes before any other).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.backends.sqlite3.creation import DatabaseCreation as SQLiteCreation
from django.db.models import DateTimeField, JSONField, Model
from django.db.models.base import ModelState

from automations.engine import group_commit
from automations.models import Automation, Execution, StepRun

logger = logging.getLogger(__name__)


class StalePlan(Exception):
    """The automation changed since its plan was cached: nothing was written."""


@lru_cache(maxsize=8)
def model_fields(model: type[Model], skip: tuple[str, ...] = ()) -> list:
    # Once per process: the models do not change while it runs.
    return [
        f for f in model._meta.concrete_fields if not f.primary_key and f.name not in skip
    ]  # fmt: skip


@lru_cache(maxsize=1)
def _execution_defaults() -> dict[str, Any]:
    # Once per process: every field's default, none of them callable or mutable (a
    # test holds that), by attribute name.
    return {f.attname: f.get_default() for f in Execution._meta.concrete_fields}


def new_execution(automation: Automation, **values: Any) -> Execution:
    """An unsaved execution, as ``Execution(automation=..., **values)`` makes it, for
    the webhook paths: Model.__init__ walks every field and its default for each
    keyword, which cost a webhook about 20 µs; here the defaults are copied at once."""
    execution = Execution.__new__(Execution)
    execution._state = ModelState()
    execution.__dict__.update(_execution_defaults())
    execution.automation = automation
    execution.__dict__.update(values)
    return execution


def _values(obj: Model, db, texts: Texts | None) -> list:
    """The execution's values; auto_now fields get their time, as ``save`` would."""
    row = {}
    for f, auto in _own_recipe(Execution):
        row[f.attname] = f.pre_save(obj, add=True) if auto else getattr(obj, f.attname)
    return row_values(row, model_recipe(Execution, (), db.vendor), db, texts)


@lru_cache(maxsize=4)
def _own_recipe(model: type[Model]) -> list[tuple[Any, bool]]:
    return [
        (f, bool(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)))
        for f in model_fields(model)
    ]


PLAIN, AS_JSON, AS_TEXT_TIME = range(3)
_MISSING = object()


@lru_cache(maxsize=64)
def _recipe(fields: tuple, vendor: str) -> list[tuple[str, Any, Any, int]]:
    """How each field's value is prepared (once per process and list of fields): its
    attribute, its default (a callable one is called each time), JSON encoder, kind."""
    recipe = []
    for f in fields:
        default = f.default if f.has_default() and callable(f.default) else f.get_default()
        kind = PLAIN
        if isinstance(f, JSONField):
            kind = AS_JSON
        elif vendor == "sqlite" and isinstance(f, DateTimeField):
            kind = AS_TEXT_TIME
        recipe.append((f.attname, default, getattr(f, "encoder", None), kind))
    return recipe


@lru_cache(maxsize=8)
def model_recipe(model: type[Model], skip: tuple[str, ...], vendor: str) -> list:
    """The recipe of a model's whole rows (``model_fields``), found by a key that hashes
    at once: hashing a tuple of some twenty fields (Field.__hash__ is Python) for every
    row cost more than preparing its values."""
    return _recipe(tuple(model_fields(model, skip)), vendor)


def recipe_of(fields: list, db) -> list:
    """The recipe of some of a model's fields (the columns an update writes)."""
    return _recipe(tuple(fields), db.vendor)


# JSON texts already written for values the log keeps, by the value's id: the value
# itself rides along, so that a text is used only for the very object it was made from.
Texts = dict[int, tuple[Any, str]]


def row_values(row: dict[str, Any], recipe: list, db, texts: Texts | None = None) -> list:
    # Values as the engine built them, with the right Python types: the fields' generic
    # preparation cost more than the SQL. Each is sent as the backend's own preparation
    # would send it (tests compare the stored rows with the ORM's): JSON as its text
    # (jsonb's input on PostgreSQL, the stored text on SQLite), datetimes on SQLite as
    # naive UTC text. A field left out gets its default; None is SQL NULL, as JSONField
    # saves it.
    sqlite = db.vendor == "sqlite"
    values = []
    for attname, default, encoder, kind in recipe:
        value = row.get(attname, _MISSING)
        if value is _MISSING:
            value = default() if callable(default) else default
        if value is not None and kind:
            if kind == AS_JSON:
                value = _json_text(value, encoder, texts, sqlite)
            else:
                value = db.ops.adapt_datetimefield_value(value)
        values.append(value)
    return values


def _json_text(value: Any, encoder: Any, texts: Texts | None, sqlite: bool) -> str:
    """The JSON a column stores for ``value``: the text the recorder already wrote for
    it when it has one (a webhook's four values were encoded again here, each through a
    Jsonb wrapper and its dumper), else encoded as the field's own encoder does. On
    SQLite the stored text is the ORM's byte for byte, so only an ASCII text is reused
    (the ORM escapes the rest)."""
    known = texts.get(id(value)) if texts else None
    if known is not None and known[0] is value and (not sqlite or known[1].isascii()):
        return known[1]
    return json.dumps(value, cls=encoder)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _cast(field) -> str:
    # A SELECT list or VALUES row carries no column types of its own: each parameter is
    # cast to its column's.
    return f"CAST(%s AS {field.db_type(connection)})"


def _runs_of(execution: str, run_count: int) -> str:
    """The INSERT of ``run_count`` step runs of the execution the CTE ``execution``
    returned."""
    run_fields = model_fields(StepRun, skip=("execution",))
    row = "({})".format(", ".join(_cast(f) for f in run_fields))
    names = ", ".join(_quote(f.column) for f in run_fields)
    return (
        f"INSERT INTO {_quote(StepRun._meta.db_table)} "  # noqa: S608
        f"({_quote(StepRun._meta.get_field('execution').column)}, {names}) "
        f"SELECT {execution}.{_quote(Execution._meta.pk.column)}, v.* FROM {execution}, "
        f"(VALUES {', '.join([row] * run_count)}) AS v ({names})"
    )


@lru_cache(maxsize=128)
def _tree_statement(shape: tuple[tuple[int, int], ...], checked: bool) -> str:
    """PostgreSQL: runs and their sub automations' runs (``shape``: for each execution in
    preorder, the index of its parent's, -1 for a run's own, and its number of step
    runs), each with its step runs, in one statement. A child's parent_id is its parent's
    RETURNING id, and every insert of a run's tree reads from its run's, so a stale
    version there (``checked``) inserts nothing of that tree. It answers the executions'
    ids in order (NULL for those not inserted)."""
    fields = model_fields(Execution)
    pk = _quote(Execution._meta.pk.column)
    parent_column = Execution._meta.get_field("parent").column
    insert = "INSERT INTO {} ({})".format(  # noqa: S608
        _quote(Execution._meta.db_table), ", ".join(_quote(f.column) for f in fields)
    )
    parts = []
    for index, (parent, run_count) in enumerate(shape):
        if parent < 0:
            select = ", ".join(_cast(f) for f in fields)
            source = _version_check() if checked else ""
        else:
            select = ", ".join(
                f"e{parent}.{pk}" if f.column == parent_column else _cast(f) for f in fields
            )
            source = f"FROM e{parent}"
        parts.append(f"e{index} AS ({insert} SELECT {select} {source} RETURNING {pk})")
        if run_count:
            parts.append(f"r{index} AS ({_runs_of(f'e{index}', run_count)} RETURNING 1)")
    ids = ", ".join(f"(SELECT {pk} FROM e{index})" for index in range(len(shape)))  # noqa: S608
    # Every data-modifying CTE runs to its end whether or not the SELECT reads it.
    return f"WITH {', '.join(parts)} SELECT {ids}"


def _version_check() -> str:
    return "FROM {} WHERE {} = %s AND {} = %s".format(  # noqa: S608
        _quote(Automation._meta.db_table),
        _quote(Automation._meta.pk.column),
        _quote(Automation._meta.get_field("version").column),
    )


@lru_cache(maxsize=4)
def _sqlite_execution(checked: bool) -> str:
    """SQLite: the execution alone; with ``checked``, only while the automation has the
    expected version (no row from the SELECT, nothing inserted)."""
    fields = model_fields(Execution)
    marks = ", ".join(["%s"] * len(fields))
    return "INSERT INTO {} ({}) {}".format(  # noqa: S608
        _quote(Execution._meta.db_table),
        ", ".join(_quote(f.column) for f in fields),
        f"SELECT {marks} {_version_check()}" if checked else f"VALUES ({marks})",
    )


@lru_cache(maxsize=128)
def _sqlite_runs(run_count: int) -> str:
    """SQLite: ``run_count`` step runs of one execution, one multi-row INSERT."""
    fields = [StepRun._meta.get_field("execution"), *model_fields(StepRun, skip=("execution",))]
    row = "({})".format(", ".join(["%s"] * len(fields)))
    return "INSERT INTO {} ({}) VALUES {}".format(  # noqa: S608
        _quote(StepRun._meta.db_table),
        ", ".join(_quote(f.column) for f in fields),
        ", ".join([row] * run_count),
    )


# Above this many step runs (a long loop) one statement would pass PostgreSQL's limit of
# 65,535 parameters; the ORM then writes them in batches.
MAX_RUNS = 1000


def supported(run_count: int = 0) -> bool:
    """Whether ``insert_execution`` can write an execution with this many step runs."""
    vendor = connection.vendor
    if run_count > MAX_RUNS or vendor not in ("postgresql", "sqlite"):
        return False
    # SQLite's limit on parameters is set when it is built (32,766 by default).
    run_params = len(model_fields(StepRun, skip=("execution",))) + 1
    return vendor == "postgresql" or run_params * run_count <= _sqlite_max_params()


@lru_cache(maxsize=1)
def _sqlite_max_params() -> int:
    connection.ensure_connection()
    return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def insert_execution(
    execution: Execution,
    runs: list[dict[str, Any]],
    *,
    expect: tuple[int, int] | None = None,
    texts: Texts | None = None,
) -> None:
    """Insert a new execution and its step runs (see ``supported``); with ``expect``
    (automation id, version) only if the automation still has that version, else raise
    StalePlan. ``texts``: JSON already written for some of the values (``Texts``)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql":
        insert_tree([Node(execution, runs, -1, texts)], expect=expect)
        return
    params = _values(execution, db, texts)
    if expect is not None:
        params.extend(expect)
    recipe = model_recipe(StepRun, ("execution",), db.vendor)
    run_params = [row_values(run, recipe, db, texts) for run in runs]
    _insert_sqlite(execution, params, run_params, expect is not None)


# PostgreSQL's limit on the parameters of one statement.
MAX_PARAMS = 65_535


class Node(NamedTuple):
    """One execution of a run's tree for ``insert_tree``: its step runs, the index of its
    parent's node (-1 for the first) and the JSON already written for its values."""

    execution: Execution
    runs: list[dict[str, Any]]
    parent: int
    texts: Texts | None


def tree_supported(nodes: list[Node]) -> bool:
    """Whether ``insert_tree`` can write these executions in one statement."""
    if connection.vendor != "postgresql" or any(len(n.runs) > MAX_RUNS for n in nodes):
        return False
    return _param_count(nodes) <= MAX_PARAMS


def insert_tree(nodes: list[Node], *, expect: tuple[int, int] | None = None) -> None:
    """PostgreSQL: insert a run's execution (the first node) and its sub automations'
    (each after its parent, in preorder), with their step runs, in one statement; with
    ``expect`` only if the first one's automation still has that version, else StalePlan
    and nothing written. A run with sub automations was four round trips (BEGIN, an
    INSERT for each execution, COMMIT), now one, atomic by itself. Outside a transaction
    the statement may carry other threads' runs too (``_together``)."""
    inserted = _together.write(
        (nodes, expect),
        key=(_shape(nodes), expect is not None),
        size=_param_count(nodes),
        alone=connections[DEFAULT_DB_ALIAS].in_atomic_block,
    )
    if not inserted:  # the first insert found a newer version: nothing inserted
        raise StalePlan(nodes[0].execution.automation_id)


def _shape(nodes: list[Node]) -> tuple[tuple[int, int], ...]:
    return tuple((node.parent, len(node.runs)) for node in nodes)


def _param_count(nodes: list[Node]) -> int:
    run_params = len(model_fields(StepRun, skip=("execution",)))
    size = len(nodes) * len(model_fields(Execution)) + 2
    return size + run_params * sum(len(node.runs) for node in nodes)


Tree = tuple[list[Node], tuple[int, int] | None]


def _insert_forest(trees: list[Tree]) -> list[bool]:
    """Several runs' trees (of one shape, all checked or none) in one statement: for
    each, whether it was inserted (False: its version was stale, nothing of it written)."""
    db = connections[DEFAULT_DB_ALIAS]
    recipe = model_recipe(StepRun, ("execution",), db.vendor)
    parent_at = [f.name for f in model_fields(Execution)].index("parent")
    params: list[Any] = []
    shape: list[tuple[int, int]] = []
    for nodes, expect in trees:
        offset = len(shape)
        for node in nodes:
            values = _values(node.execution, db, node.texts)
            if node.parent >= 0:
                del values[parent_at]  # the parent's RETURNING id, in the statement
            params.extend(values)
            if node.parent < 0 and expect is not None:
                params.extend(expect)
            for run in node.runs:
                params.extend(row_values(run, recipe, db, node.texts))
            shape.append((node.parent + offset if node.parent >= 0 else -1, len(node.runs)))
    with db.cursor() as cursor:
        cursor.execute(_tree_statement(tuple(shape), trees[0][1] is not None), params)
        ids = iter(cursor.fetchone())
    inserted = []
    for nodes, _expect in trees:
        pks = [next(ids) for _node in nodes]
        inserted.append(pks[0] is not None)
        if pks[0] is None:
            continue
        for node, pk in zip(nodes, pks, strict=True):
            _inserted(node.execution, pk)
        for node in nodes[1:]:
            node.execution.parent = nodes[node.parent].execution
    return inserted


# Runs' trees of one shape that threads of this process write at the same moment, in
# one statement: at most MAX_PARAMS parameters and TREES_TOGETHER trees, so that a
# shape has few statements (each planned once per connection). A transaction's writes
# are its own, and a log of more than ALONE_ABOVE parameters (a loop's hundred step
# runs) goes alone, so that others do not wait for it.
TREES_TOGETHER = 16
ALONE_ABOVE = 2_000
_together = group_commit.GroupCommit(
    _insert_forest, most=TREES_TOGETHER, limit=MAX_PARAMS, alone_above=ALONE_ABOVE
)


def _insert_sqlite(
    execution: Execution, params: list, run_params: list[list], checked: bool
) -> None:
    # Every step run's row starts with the execution's id, set once it is inserted;
    # all else is ready before the transaction starts.
    runs = [value for row in run_params for value in (None, *row)]
    inserted = _sqlite_together.write(
        (execution, params, runs, len(run_params), checked),
        key=None,
        size=len(params) + len(runs),
        alone=connection.in_atomic_block,
    )
    if not inserted:  # a stale plan: nothing inserted, nothing to undo
        raise StalePlan(execution.automation_id)


# The execution, its values, its step runs' values in a row (each run's first value its
# execution's id, to fill), their number, and whether the version is checked.
SQLiteRow = tuple[Execution, list, list, int, bool]


def _insert_sqlite_many(items: list[SQLiteRow]) -> list[bool]:
    """Executions with their step runs, one transaction for all (or a lone execution
    without step runs in autocommit): for each, whether it was inserted (False: its
    version was stale)."""
    inserted, pks = [], []
    alone = len(items) == 1 and not items[0][3]
    with _writers_queue(), nullcontext() if alone else _write_transaction():
        with connection.cursor() as cursor:
            for _execution, params, runs, run_count, checked in items:
                cursor.execute(_sqlite_execution(checked), params)
                inserted.append(cursor.rowcount == 1)
                pks.append(cursor.lastrowid)
                if inserted[-1] and run_count:
                    runs[:: len(runs) // run_count] = [pks[-1]] * run_count
                    cursor.execute(_sqlite_runs(run_count), runs)
    for (execution, *_rest), written, pk in zip(items, inserted, pks, strict=True):
        if written:
            _inserted(execution, pk)
    return inserted


# SQLite: any runs' logs written at the same moment by threads of this process, in one
# transaction (one commit, and the pages they share written once), as PostgreSQL's.
# Under load a leader lingers up to SQLITE_LINGER seconds for the runs finishing on
# this process's other threads (group_commit.py): each write also takes the writers'
# turn of every process, and fewer, larger writes let all of them through sooner.
SQLITE_LINGER = 0.001
_sqlite_together = group_commit.GroupCommit(
    _insert_sqlite_many, most=TREES_TOGETHER, alone_above=ALONE_ABOVE, linger=SQLITE_LINGER
)


# SQLite admits one writer at a time, and a writer that finds the database locked is
# not queued: SQLite's busy handler sleeps 1, 2, 5 ... then 100 ms between tries, so a
# burst of webhooks mostly sleeps while the lock is free. The log's writers take turns
# here first: the threads of a process on a lock, the processes on an advisory file
# lock beside the database (flock), each woken the moment the one before is done.
_turn = threading.Lock()
_turn_files: dict[tuple[int, str], int | None] = {}


@contextmanager
def _writers_queue() -> Iterator[None]:
    if connection.in_atomic_block:
        yield  # a transaction already holds (or waits for) the write lock
        return
    name = connection.settings_dict["NAME"]
    with _turn:
        # An in-memory database (tests) lives in this process alone: no file to lock.
        fd = None if SQLiteCreation.is_in_memory_db(name) else _turn_file(str(name))
        if fd is None:
            yield  # the threads of this process still take turns
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _turn_file(name: str) -> int | None:
    """The lock file's descriptor in this process (a forked worker opens its own), or
    None when it cannot be made (a read-only folder): a webhook is not refused for it."""
    key = (os.getpid(), name)
    if key not in _turn_files:
        try:
            _turn_files[key] = os.open(name + ".writers", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            logger.warning("SQLite writers take turns within each process only: %s", exc)
            _turn_files[key] = None
    return _turn_files[key]


@contextmanager
def _write_transaction() -> Iterator[None]:
    """SQLite: the two INSERTs, all or nothing. Outside any transaction (a web request)
    a deferred BEGIN: the settings' IMMEDIATE would take the write lock at BEGIN and
    hold it across one more return to Python, where this thread may wait its turn for
    the GIL behind the process's other threads while every other writer waits for it.
    Deferred, the first INSERT takes the lock (no read came first, so SQLite waits for
    it as for any write) and the commit follows the second at once. Inside a
    transaction, the statements are part of it."""
    if connection.in_atomic_block:
        with transaction.atomic(savepoint=False):
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        try:
            yield
            cursor.execute("COMMIT")
        except BaseException:
            # Some errors (a full disk) end the transaction themselves.
            if connection.connection.in_transaction:
                try:
                    cursor.execute("ROLLBACK")
                except DatabaseError:
                    connection.close()  # as Django's atomic does: the connection is broken
            raise


def _inserted(execution: Execution, pk: int) -> None:
    execution.pk = pk
    execution._state.adding = False
