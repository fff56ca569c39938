"""A new execution and its step runs written in one statement, on PostgreSQL.

A webhook answered inline writes its whole log at the end. Through the ORM that is two
compiled INSERTs inside a transaction, which in the benchmark cost more than the rest
of the request together. Here the SQL is built once per process from Django's own field
definitions (so it follows the models) and sent as a single data-modifying CTE: one
round trip, atomic by itself; an execution with children (sub automations) writes each
in turn inside one transaction. Other databases use the ORM.

The same statement can check the plan's freshness (``expect``): the execution is
inserted only if its automation still has the version the plan was built from, so a
webhook served from a cached plan needs no read of that version beforehand. Nothing
inserted means the plan was stale (``StalePlan``); the caller runs again with a fresh
one (it ran only steps free of side effects: an inline run writes before any other).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import JSONField, Model
from psycopg.types.json import Jsonb

from automations.models import Automation, Execution, StepRun


class StalePlan(Exception):
    """The automation changed since its plan was cached: nothing was written."""


@lru_cache(maxsize=8)
def _fields(model: type[Model], skip: tuple[str, ...] = ()) -> list:
    # Once per process: the models do not change while it runs.
    return [
        f for f in model._meta.concrete_fields if not f.primary_key and f.name not in skip
    ]  # fmt: skip


def _values(obj: Model, fields: list) -> list:
    """An instance's values; auto_now fields get their time, as ``save`` would."""
    row = {
        f.attname: f.pre_save(obj, add=True)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        else getattr(obj, f.attname)
        for f in fields
    }
    return _row_values(row, fields)


@lru_cache(maxsize=128)
def _statement(run_count: int, checked: bool = False) -> str:
    quote = connection.ops.quote_name
    execution_fields = _fields(Execution)
    run_fields = _fields(StepRun, skip=("execution",))
    # Identifiers come from model metadata, values go as parameters.
    if checked:
        # A row from SELECT only while the automation has the expected version; the
        # SELECT list carries no column types of its own, so each parameter is cast.
        values = "SELECT {} FROM {} WHERE {} = %s AND {} = %s".format(  # noqa: S608
            ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in execution_fields),
            quote(Automation._meta.db_table),
            quote(Automation._meta.pk.column),
            quote(Automation._meta.get_field("version").column),
        )
    else:
        values = "VALUES ({})".format(", ".join(["%s"] * len(execution_fields)))
    insert_execution = "INSERT INTO {} ({}) {} RETURNING {}".format(  # noqa: S608
        quote(Execution._meta.db_table),
        ", ".join(quote(f.column) for f in execution_fields),
        values,
        quote(Execution._meta.pk.column),
    )
    if not run_count:
        return insert_execution
    # VALUES rows carry no column types of their own, so each parameter is cast.
    row = "({})".format(", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in run_fields))
    names = ", ".join(quote(f.column) for f in run_fields)
    return (
        f"WITH e AS ({insert_execution}) "  # noqa: S608
        f"INSERT INTO {quote(StepRun._meta.db_table)} "
        f"({quote(StepRun._meta.get_field('execution').column)}, {names}) "
        f"SELECT e.{quote(Execution._meta.pk.column)}, v.* FROM e, "
        f"(VALUES {', '.join([row] * run_count)}) AS v ({names}) "
        f"RETURNING {quote(StepRun._meta.get_field('execution').column)}"
    )


def _row_values(row: dict[str, Any], fields: list) -> list:
    # Values as the engine built them, with the right Python types: the fields' generic
    # preparation cost more than the SQL. JSON goes as Jsonb, as Django's JSONField
    # sends it; a field left out gets its default.
    values = []
    for f in fields:
        value = row[f.attname] if f.attname in row else f.get_default()
        values.append(Jsonb(value) if value is not None and isinstance(f, JSONField) else value)
    return values


# Above this many step runs (a long loop) one statement would pass PostgreSQL's limit of
# 65,535 parameters; the ORM then writes them in batches.
MAX_RUNS = 1000


def supported(run_count: int = 0) -> bool:
    return connection.vendor == "postgresql" and run_count <= MAX_RUNS


def insert_execution(
    execution: Execution, runs: list[dict[str, Any]], *, expect: tuple[int, int] | None = None
) -> None:
    """Insert a new execution and its step runs in one statement (see ``supported``);
    with ``expect`` (automation id, version) only if the automation still has that
    version, else raise StalePlan."""
    params = _values(execution, _fields(Execution))
    if expect is not None:
        params.extend(expect)
    run_fields = _fields(StepRun, skip=("execution",))
    for run in runs:
        params.extend(_row_values(run, run_fields))
    with connection.cursor() as cursor:
        cursor.execute(_statement(len(runs), expect is not None), params)
        row = cursor.fetchone()
    if row is None:
        raise StalePlan(execution.automation_id)
    execution.pk = row[0]
    execution._state.adding = False
