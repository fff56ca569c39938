"""Trigger conditions: rows of (path, operator, value), all of which must hold.

An event whose trigger output fails them starts no execution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from automations.engine.references import MISSING, lookup


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any) -> str | None:
    if value is MISSING or value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _text_op(test: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    def check(actual: Any, expected: Any) -> bool:
        text = _text(actual)
        return text is not None and test(text, "" if expected is None else str(expected))

    return check


def _number_op(test: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def check(actual: Any, expected: Any) -> bool:
        a, b = _num(actual), _num(expected)
        return a is not None and b is not None and test(a, b)

    return check


def _is_empty(actual: Any, expected: Any) -> bool:
    return actual is MISSING or actual in (None, "", [], {})


def _length(test: Callable[[int, float], bool]) -> Callable[[Any, Any], bool]:
    def check(actual: Any, expected: Any) -> bool:
        limit = _num(expected)
        return isinstance(actual, list) and limit is not None and test(len(actual), limit)

    return check


def _array_contains(actual: Any, expected: Any) -> bool:
    return isinstance(actual, list) and (
        expected in actual or str(expected) in [str(item) for item in actual]
    )


def _has_property(actual: Any, expected: Any) -> bool:
    return isinstance(actual, dict) and str(expected) in actual


# operator -> (group, label, test, needs a value)
OPERATORS: dict[str, tuple[str, str, Callable[[Any, Any], bool], bool]] = {
    "equals": ("text", "equals", _text_op(lambda a, b: a == b), True),
    "equals_ignore_case": (
        "text", "equals (ignoring case)", _text_op(lambda a, b: a.casefold() == b.casefold()), True,
    ),
    "contains": ("text", "contains", _text_op(lambda a, b: b in a), True),
    "starts_with": ("text", "starts with", _text_op(lambda a, b: a.startswith(b)), True),
    "ends_with": ("text", "ends with", _text_op(lambda a, b: a.endswith(b)), True),
    "is_empty": ("text", "is empty", _is_empty, False),
    "number_equals": ("number", "=", _number_op(lambda a, b: a == b), True),
    "number_not_equals": ("number", "!=", _number_op(lambda a, b: a != b), True),
    "greater_than": ("number", ">", _number_op(lambda a, b: a > b), True),
    "less_than": ("number", "<", _number_op(lambda a, b: a < b), True),
    "greater_or_equal": ("number", ">=", _number_op(lambda a, b: a >= b), True),
    "less_or_equal": ("number", "<=", _number_op(lambda a, b: a <= b), True),
    "has_property": ("object", "has property", _has_property, True),
    "object_is_empty": (
        "object", "is empty", lambda a, b: isinstance(a, dict) and not a or a is MISSING, False,
    ),
    "array_is_empty": (
        "array", "is empty", lambda a, b: isinstance(a, list) and not a or a is MISSING, False,
    ),
    "array_contains": ("array", "contains", _array_contains, True),
    "length_greater_than": ("array", "length >", _length(lambda n, x: n > x), True),
    "length_less_than": ("array", "length <", _length(lambda n, x: n < x), True),
}  # fmt: skip

# Text, object and array tests each have a negation: "not_" + the operator.
for _name in [n for n, spec in OPERATORS.items() if spec[0] != "number"]:
    _group, _label, _test, _needs = OPERATORS[_name]
    OPERATORS[f"not_{_name}"] = (
        _group,
        f"does not {_label}" if not _label.startswith("is ") else f"is not {_label[3:]}",
        (lambda test: lambda a, b: not test(a, b))(_test),
        _needs,
    )


def _path_keys(path: str) -> list[str]:
    path = path.strip()
    if path.startswith("trigger."):
        path = path[len("trigger.") :]
    return [part for part in path.split(".") if part]


def value_at(data: Any, path: str) -> Any:
    value = data
    for key in _path_keys(path):
        value = lookup(value, key)
        if value is MISSING:
            return MISSING
    return value


def validate_conditions(rows: Any) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Clean condition rows; errors keyed by ``[index].field``."""
    if rows in (None, ""):
        return [], {}
    if not isinstance(rows, list):
        return [], {"": "must be a list of conditions"}
    clean, errors = [], {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            errors[f"[{index}]"] = "must be an object with path, operator and value"
            continue
        path, operator, value = row.get("path"), row.get("operator"), row.get("value")
        if not isinstance(path, str) or not _path_keys(path):
            errors[f"[{index}].path"] = "is required (a path in the trigger output, e.g. body.text)"
        if operator not in OPERATORS:
            errors[f"[{index}].operator"] = f"must be one of: {', '.join(OPERATORS)}"
        elif OPERATORS[operator][0] == "number" and _num(value) is None:
            errors[f"[{index}].value"] = "must be a number for this operator"
        elif OPERATORS[operator][3] and value in (None, ""):
            errors[f"[{index}].value"] = "is required for this operator"
        clean.append({"path": path, "operator": operator, "value": value})
    return clean, errors


def conditions_hold(rows: list[dict[str, Any]], trigger_output: Any) -> bool:
    for row in rows or []:
        _, _, test, _ = OPERATORS[row["operator"]]
        if not test(value_at(trigger_output, row["path"]), row.get("value")):
            return False
    return True
