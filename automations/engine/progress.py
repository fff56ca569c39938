"""A background run's progress written in one statement, on PostgreSQL.

A worker writes its run's log as it goes: the step about to act, the step done, the
final status. Through the ORM each write was a transaction of two or three compiled
statements, and a one-step run paid ten round trips to the database for its log, which
is what held the drain rate of the workers down (they wait on the database, not on the
CPU). Here one data-modifying CTE updates the step runs already written, inserts the
new ones and updates the execution row: one round trip, atomic by itself.

The SQL is built from the models' field definitions and cached per shape (how many rows
of each kind, which columns), so it follows the models. Other databases use the ORM
(``Recorder._flush``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections

from automations.engine.inserts import Texts, model_fields, model_recipe, recipe_of, row_values
from automations.models import Execution, StepRun

# Beyond this many rows in one write (a long loop's iterations), the ORM writes them.
MAX_ROWS = 100


def supported(rows: int) -> bool:
    return connection.vendor == "postgresql" and rows <= MAX_ROWS


def _field(model, name: str):
    return model._meta.get_field(name)


def _insert_fields() -> list:
    return model_fields(StepRun, skip=("execution",))


@lru_cache(maxsize=64)
def _statement(
    updates: tuple[tuple[str, ...], ...],
    inserts: int,
    execution_fields: tuple[str, ...],
    returning: str | None,
) -> str:
    quote = connection.ops.quote_name
    runs, executions = quote(StepRun._meta.db_table), quote(Execution._meta.db_table)
    run_execution = quote(_field(StepRun, "execution").column)
    parts = []
    for n, names in enumerate(updates):
        assignments = ", ".join(f"{quote(_field(StepRun, name).column)} = %s" for name in names)
        parts.append(
            f"u{n} AS (UPDATE {runs} SET {assignments} "  # noqa: S608 (names from the models)
            f"WHERE {run_execution} = %s AND {quote(_field(StepRun, 'path').column)} = %s "
            "RETURNING 1)"
        )
    if inserts:
        columns = ", ".join(quote(f.column) for f in _insert_fields())
        row = "(%s, {})".format(", ".join(["%s"] * len(_insert_fields())))
        parts.append(
            f"i AS (INSERT INTO {runs} ({run_execution}, {columns}) "  # noqa: S608
            f"VALUES {', '.join([row] * inserts)} RETURNING 1)"
        )
    if execution_fields:
        assignments = ", ".join(
            f"{quote(_field(Execution, name).column)} = %s" for name in execution_fields
        )
        pk = quote(Execution._meta.pk.column)
        main = f"UPDATE {executions} SET {assignments} WHERE {pk} = %s"  # noqa: S608
        if returning:
            main += f" RETURNING ({returning})"
    else:
        main = "SELECT 1"
    return f"WITH {', '.join(parts)} {main}" if parts else main


def write(
    execution: Execution,
    updates: list[dict[str, Any]],
    inserts: list[dict[str, Any]],
    execution_fields: list[str],
    returning: tuple[str, list] | None = None,
    texts: Texts | None = None,
) -> Any:
    """Update the step runs in ``updates`` (by path; only the keys each holds), insert
    those in ``inserts`` (a key left out gets its field's default) and write
    ``execution_fields`` of the execution row, in one statement. ``returning``, an SQL
    expression and its parameters, is answered by the same statement when the execution
    row is written (None otherwise): a question the caller would ask right after.
    ``texts``: JSON already written for some of the values (``inserts.Texts``)."""
    params: list[Any] = []
    db = connections[DEFAULT_DB_ALIAS]
    # Values prepared as the execution's own insert prepares them (engine/inserts.py).
    for values in updates:
        recipe = recipe_of([_field(StepRun, name) for name in values], db)
        params.extend(row_values(values, recipe, db, texts))
        params.extend([execution.pk, values["path"]])
    insert_recipe = model_recipe(StepRun, ("execution",), db.vendor)
    for values in inserts:
        params.append(execution.pk)
        params.extend(row_values(values, insert_recipe, db, texts))
    if execution_fields:
        fields = [_field(Execution, name) for name in execution_fields]
        current = {f.attname: getattr(execution, f.attname) for f in fields}
        params.extend(row_values(current, recipe_of(fields, db), db, texts))
        params.append(execution.pk)
    expression = None
    if returning and execution_fields:
        expression = returning[0]
        params.extend(returning[1])
    statement = _statement(
        tuple(tuple(values) for values in updates),
        len(inserts),
        tuple(execution_fields),
        expression,
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone() if expression else None
    return row[0] if row else None
