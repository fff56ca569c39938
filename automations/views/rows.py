"""Row editors for list fields: prompt messages (+ Add Prompt Text), sub automations
(+ Add Sub Automation), key/value rows (+ Add Row) and a branch's conditions
(+ Add Condition).

The rows travel as ordinary form inputs (``messages__0__role``...), so adding or removing
a row re-renders the panel from what was posted and nothing typed is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from automations.engine.conditions import OPERATORS
from connectors import fields as field_types

COLUMNS = {
    field_types.MESSAGES: ("role", "content"),
    field_types.KEY_VALUE: ("key", "value"),
    field_types.SUB_AUTOMATIONS: ("name",),
    field_types.SCHEMA: ("key", "type", "required", "description"),
    field_types.CONDITIONS: ("path", "operator", "value"),
}
ADD_LABELS = {
    field_types.SCHEMA: "+ Add Input",
    field_types.MESSAGES: "+ Add Prompt Text",
    field_types.KEY_VALUE: "+ Add Row",
    field_types.SUB_AUTOMATIONS: "+ Add Sub Automation",
    field_types.CONDITIONS: "+ Add Condition",
}
# The operator choices of a condition row, named by the kind of value they test.
OPERATOR_CHOICES = tuple((name, f"{spec[0]}: {spec[1]}") for name, spec in OPERATORS.items())


@dataclass
class Rows:
    key: str
    kind: str
    values: list[dict[str, str]]
    roles: tuple[str, ...] = ()
    types: tuple[str, ...] = field_types.SCHEMA_TYPES
    operators: tuple[tuple[str, str], ...] = OPERATOR_CHOICES

    @property
    def columns(self) -> tuple[str, ...]:
        return COLUMNS[self.kind]

    @property
    def add_label(self) -> str:
        return ADD_LABELS[self.kind]

    def named(self) -> list[list[tuple[str, str, str]]]:
        """Per row: (column, input name, value), for the template."""
        return [
            [
                (column, f"{self.key}__{index}__{column}", row.get(column, ""))
                for column in self.columns
            ]
            for index, row in enumerate(self.values)
        ]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def rows_from_value(kind: str, value: Any) -> list[dict[str, str]] | None:
    """Rows for a stored value; None when it is not a list (a reference, say)."""
    if value in (None, ""):
        return []
    if kind == field_types.KEY_VALUE and isinstance(value, dict):
        value = [{"key": k, "value": v} for k, v in value.items()]
    if not isinstance(value, list):
        return None
    if kind == field_types.SUB_AUTOMATIONS:
        return [{"name": _text(name)} for name in value]
    if kind == field_types.SCHEMA:
        return [
            {
                "key": _text(row.get("key", "")),
                "type": _text(row.get("type", "string")),
                "required": "on" if row.get("required") else "",
                "description": _text(row.get("description", "")),
            }
            for row in value
            if isinstance(row, dict)
        ]
    return [
        {column: _text(row.get(column, "")) for column in COLUMNS[kind]}
        for row in value
        if isinstance(row, dict)
    ]


def rows_from_post(data: Any, key: str, kind: str) -> list[dict[str, str]] | None:
    """The rows a form posted, or None when it posted none for this field."""
    columns = COLUMNS[kind]
    if f"{key}__0__{columns[0]}" not in data:
        return None
    rows, index = [], 0
    while f"{key}__{index}__{columns[0]}" in data:
        rows.append({column: data.get(f"{key}__{index}__{column}", "") for column in columns})
        index += 1
    return rows


def value_from_rows(kind: str, rows: list[dict[str, str]]) -> list[Any]:
    """The field's value; rows left empty are dropped."""
    if kind == field_types.SUB_AUTOMATIONS:
        return [row["name"].strip() for row in rows if row["name"].strip()]
    if kind == field_types.SCHEMA:
        return [
            {
                "key": row["key"].strip(),
                "type": row["type"] or "string",
                "required": row["required"] in ("on", "true"),
                "description": row["description"],
            }
            for row in rows
            if row["key"].strip()
        ]
    if kind == field_types.CONDITIONS:
        # An operator such as "is empty" takes no value: a row counts when it has a path.
        return [dict(row) for row in rows if row["path"].strip()]
    last = COLUMNS[kind][-1]
    return [dict(row) for row in rows if row[last].strip()]
