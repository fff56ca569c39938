"""Typed field declarations and their validation.

One declaration drives the API's validation, the catalog, the admin and the wizard.
Validation runs twice: when an automation is saved (references such as
``{{ steps.a.b }}`` are accepted in any field, literal values are type-checked) and at
run time on the resolved params (everything is type-checked).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

TEXT = "text"
LONG_TEXT = "long_text"
NUMBER = "number"
INTEGER = "integer"
BOOLEAN = "boolean"
CHOICE = "choice"
JSON = "json"
MESSAGES = "messages"
KEY_VALUE = "key_value"
LOOKUP = "lookup"
SUB_AUTOMATION = "sub_automation"
SUB_AUTOMATIONS = "sub_automations"
SCHEMA = "schema"
# Any JSON value: an object, a list, a number, or text kept as text.
ANY = "any"
# Rows of {path, operator, value} (a branch's conditions); the operators and paths are
# checked where conditions are (automations.engine.conditions), here only the shape.
CONDITIONS = "conditions"

FIELD_TYPES = (
    TEXT, LONG_TEXT, NUMBER, INTEGER, BOOLEAN, CHOICE, JSON, MESSAGES, KEY_VALUE,
    LOOKUP, SUB_AUTOMATION, SUB_AUTOMATIONS, SCHEMA, ANY, CONDITIONS,
)  # fmt: skip

SCHEMA_TYPES = ("string", "number", "integer", "boolean", "object", "array")
# C0 control characters and DEL: CR and LF end an HTTP header, NUL ends a C string.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_CHARACTERS_REFUSED = "may not contain control characters (line breaks, tabs, NUL)"
_SCHEMA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class FieldError(ValueError):
    pass


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    type: str = TEXT
    required: bool = True
    default: Any = None
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    # A choice field may also take a value not in its list (a model name, say).
    allow_custom: bool = False
    secret: bool = False
    # An account field that decides where the account's secrets are sent (a base URL, a
    # region): changing it requires the secrets to be entered again in the same change.
    routes_secrets: bool = False
    minimum: float | None = None
    maximum: float | None = None
    lookup: str = ""
    depends_on: tuple[str, ...] = ()
    roles: tuple[str, ...] = ("system", "user", "assistant")
    object_only: bool = False
    # The value goes into a URL path or an HTTP header: no control characters.
    single_line: bool = False

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data["choices"] = [{"value": v, "label": label} for v, label in self.choices]
        data["depends_on"] = list(self.depends_on)
        data["roles"] = list(self.roles) if self.type == MESSAGES else []
        return data


def has_control_characters(value: str) -> bool:
    return _CONTROL_CHARACTERS.search(value) is not None


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def validate(
    fields: tuple[Field, ...] | list[Field],
    config: dict[str, Any] | None,
    *,
    resolved: bool,
    partial: bool = False,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (clean config, {field key: message}). Unknown keys are errors."""
    config = dict(config or {})
    if not isinstance(config, dict):
        return {}, {"": "must be an object"}
    declared = {f.key: f for f in fields}
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key in config:
        if key not in declared:
            errors[key] = "is not a field here"
    for f in fields:
        value = config.get(f.key)
        if _is_blank(value):
            if f.default is not None:
                clean[f.key] = f.default
            elif f.required and not partial:
                errors[f.key] = "is required"
            continue
        if is_reference(value) and not resolved:
            if f.type == JSON:
                try:
                    check_json_template(value)
                except FieldError as exc:
                    errors[f.key] = str(exc)
                    continue
            clean[f.key] = value
            continue
        try:
            clean[f.key] = clean_value(f, value, resolved=resolved)
        except FieldError as exc:
            errors[f.key] = str(exc)
    return clean, errors


_REFERENCE = re.compile(r"{{.*?}}", re.DOTALL)


def check_json_template(source: str) -> None:
    """A JSON field holding references must still be JSON once they are filled in.

    Each reference is replaced by a placeholder of the kind it stands for (a string
    inside quotes, a number elsewhere); a parse error's position is mapped back to the
    text the user typed, so the message points at their mistake.
    """
    if "{%" in source or _REFERENCE.fullmatch(source.strip()):
        return
    out: list[str] = []
    origin: list[int] = []  # origin[i]: index in source of out[i]
    in_string = escaped = False
    index = 0
    while index < len(source):
        match = _REFERENCE.match(source, index) if source.startswith("{{", index) else None
        if match:
            placeholder = "x" if in_string else "0"
            out.append(placeholder)
            origin.append(index)
            index = match.end()
            continue
        char = source[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        out.append(char)
        origin.append(index)
        index += 1
    try:
        json.loads("".join(out))
    except json.JSONDecodeError as exc:
        at = origin[exc.pos] if exc.pos < len(origin) else len(source)
        line = source.count("\n", 0, at) + 1
        column = at - (source.rfind("\n", 0, at) + 1) + 1
        raise FieldError(f"is not valid JSON ({exc.msg} at line {line} column {column})") from None


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def clean_value(f: Field, value: Any, *, resolved: bool) -> Any:
    cleaner = _CLEANERS[f.type]
    return cleaner(f, value, resolved)


def _text(f: Field, value: Any, resolved: bool) -> str:
    if isinstance(value, str):
        if f.single_line and has_control_characters(value):
            raise FieldError(CONTROL_CHARACTERS_REFUSED)
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    if resolved and isinstance(value, dict | list):
        # A reference to an object placed in a text field: hand over its JSON text.
        return json.dumps(value, ensure_ascii=False)
    raise FieldError("must be text")


def _number(f: Field, value: Any, resolved: bool) -> float | int:
    if isinstance(value, bool):
        raise FieldError("must be a number")
    if isinstance(value, str):
        try:
            value = float(value.strip()) if any(c in value for c in ".eE") else int(value.strip())
        except ValueError:
            raise FieldError(f"must be a number, not {value!r}") from None
    if not isinstance(value, int | float) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise FieldError("must be a number")
    if f.type == INTEGER:
        if isinstance(value, float) and not value.is_integer():
            raise FieldError("must be a whole number")
        value = int(value)
    _check_range(f, value)
    return value


def _check_range(f: Field, value: float) -> None:
    low, high = f.minimum, f.maximum
    if low is not None and high is not None and not (low <= value <= high):
        raise FieldError(f"must be a number between {_fmt(low)} and {_fmt(high)}")
    if low is not None and value < low:
        raise FieldError(f"must be at least {_fmt(low)}")
    if high is not None and value > high:
        raise FieldError(f"must be at most {_fmt(high)}")


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _boolean(f: Field, value: Any, resolved: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "on", "off", "1", "0"):
        return value.strip().lower() in ("true", "on", "1")
    raise FieldError("must be true or false")


def _choice(f: Field, value: Any, resolved: bool) -> str:
    value = _text(f, value, resolved)
    allowed = [v for v, _ in f.choices]
    if value not in allowed and not f.allow_custom:
        raise FieldError(f"must be one of: {', '.join(allowed)}")
    return value


def _json(f: Field, value: Any, resolved: bool) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise FieldError(
                f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from None
    if f.object_only and not isinstance(value, dict):
        raise FieldError("must be a JSON object")
    return value


def _rows(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise FieldError("must be a list of rows") from None
    if not isinstance(value, list):
        raise FieldError("must be a list of rows")
    return value


def _messages(f: Field, value: Any, resolved: bool) -> list[dict[str, Any]]:
    rows = []
    for index, row in enumerate(_rows(value)):
        if not isinstance(row, dict):
            raise FieldError(f"row {index + 1} must have a role and a content")
        role = row.get("role")
        if role not in f.roles:
            raise FieldError(f"row {index + 1}: role must be one of: {', '.join(f.roles)}")
        content = row.get("content")
        if _is_blank(content):
            raise FieldError(f"row {index + 1}: content is required")
        if resolved and not isinstance(content, str | list):
            content = json.dumps(content, ensure_ascii=False)
        rows.append({"role": role, "content": content})
    return rows


def _key_value(f: Field, value: Any, resolved: bool) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        value = [{"key": k, "value": v} for k, v in value.items()]
    rows = []
    for index, row in enumerate(_rows(value)):
        if not isinstance(row, dict) or not isinstance(row.get("key"), str) or not row["key"]:
            raise FieldError(f"row {index + 1} needs a key")
        item = row.get("value", "")
        if resolved and not isinstance(item, str):
            item = _text(f, item, resolved)
        rows.append({"key": row["key"], "value": item})
    return rows


def _names(f: Field, value: Any, resolved: bool) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise FieldError("must be a list of sub automation names")
    if len(set(value)) != len(value):
        raise FieldError("lists a sub automation twice")
    return value


def _schema(f: Field, value: Any, resolved: bool) -> list[dict[str, Any]]:
    rows, seen = [], set()
    for index, row in enumerate(_rows(value)):
        if not isinstance(row, dict):
            raise FieldError(f"row {index + 1} must be an object")
        key = row.get("key")
        if not isinstance(key, str) or not _SCHEMA_KEY.match(key):
            raise FieldError(f"row {index + 1}: key must be letters, digits and _ (up to 64)")
        if key in seen:
            raise FieldError(f"row {index + 1}: key {key!r} appears twice")
        seen.add(key)
        kind = row.get("type", "string")
        if kind not in SCHEMA_TYPES:
            raise FieldError(f"row {index + 1}: type must be one of: {', '.join(SCHEMA_TYPES)}")
        rows.append(
            {
                "key": key,
                "type": kind,
                "required": bool(row.get("required", False)),
                "description": str(row.get("description", "")),
            }
        )
    return rows


def _any(f: Field, value: Any, resolved: bool) -> Any:
    return value


def _conditions(f: Field, value: Any, resolved: bool) -> list[Any]:
    return _rows(value)


_CLEANERS = {
    ANY: _any,
    TEXT: _text,
    LONG_TEXT: _text,
    LOOKUP: _text,
    SUB_AUTOMATION: _text,
    NUMBER: _number,
    INTEGER: _number,
    BOOLEAN: _boolean,
    CHOICE: _choice,
    JSON: _json,
    MESSAGES: _messages,
    KEY_VALUE: _key_value,
    SUB_AUTOMATIONS: _names,
    SCHEMA: _schema,
    CONDITIONS: _conditions,
}


def secret_keys(fields: tuple[Field, ...] | list[Field]) -> set[str]:
    return {f.key for f in fields if f.secret}
