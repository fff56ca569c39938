from __future__ import annotations

import pytest

from automations.engine.conditions import OPERATORS, conditions_hold, validate_conditions

OUTPUT = {"body": {"title": "Spring Gardening", "views": 120, "tags": ["garden", "spring"],
                   "meta": {"lang": "en"}, "empty": "", "none": [], "obj": {}}}  # fmt: skip


@pytest.mark.parametrize(
    "path, operator, value, holds",
    [
        ("body.title", "equals", "Spring Gardening", True),
        ("body.title", "not_equals", "Spring Gardening", False),
        ("body.title", "equals_ignore_case", "spring gardening", True),
        ("body.title", "not_equals_ignore_case", "SPRING GARDENING", False),
        ("body.title", "contains", "Garden", True),
        ("body.title", "not_contains", "Winter", True),
        ("body.title", "starts_with", "Spring", True),
        ("body.title", "not_starts_with", "Spring", False),
        ("body.title", "ends_with", "ing", True),
        ("body.title", "not_ends_with", "x", True),
        ("body.empty", "is_empty", None, True),
        ("body.missing", "is_empty", None, True),
        ("body.title", "not_is_empty", None, True),
        ("body.views", "number_equals", "120", True),
        ("body.views", "number_not_equals", 120, False),
        ("body.views", "greater_than", 100, True),
        ("body.views", "less_than", 100, False),
        ("body.views", "greater_or_equal", 120, True),
        ("body.views", "less_or_equal", 119, False),
        ("body.title", "greater_than", 1, False),
        ("body.meta", "has_property", "lang", True),
        ("body.meta", "not_has_property", "lang", False),
        ("body.obj", "object_is_empty", None, True),
        ("body.meta", "not_object_is_empty", None, True),
        ("body.none", "array_is_empty", None, True),
        ("body.tags", "not_array_is_empty", None, True),
        ("body.tags", "array_contains", "garden", True),
        ("body.tags", "not_array_contains", "garden", False),
        ("body.tags", "length_greater_than", 1, True),
        ("body.tags", "length_less_than", 2, False),
        ("trigger.body.title", "contains", "Spring", True),
    ],
)
def test_each_operator(path, operator, value, holds):
    row = {"path": path, "operator": operator, "value": value}
    assert conditions_hold([row], OUTPUT) is holds


def test_all_rows_must_hold():
    rows = [{"path": "body.views", "operator": "greater_than", "value": 1},
            {"path": "body.title", "operator": "contains", "value": "Winter"}]  # fmt: skip
    assert conditions_hold(rows, OUTPUT) is False
    assert conditions_hold([], OUTPUT) is True


def test_every_text_operator_has_a_negation():
    for name, spec in list(OPERATORS.items()):
        if spec[0] != "number" and not name.startswith("not_"):
            assert f"not_{name}" in OPERATORS


def test_bad_rows_are_reported_by_index_and_field():
    _, errors = validate_conditions([
        {"path": "", "operator": "equals", "value": "x"},
        {"path": "body.n", "operator": "greater_than", "value": "many"},
        {"path": "body.n", "operator": "sounds_like", "value": "x"},
        {"path": "body.t", "operator": "contains"},
    ])  # fmt: skip
    assert set(errors) == {"[0].path", "[1].value", "[2].operator", "[3].value"}
    assert errors["[1].value"] == "must be a number for this operator"
