"""JSON from callers, and JSON we store: both held to what the database can keep.

Python's parser recurses once per level, so a body of a few kilobytes of ``[`` exhausts
the stack (RecursionError, a 500). It also accepts what no database column takes back:
``NaN`` and ``Infinity`` (and ``1e400``, which becomes infinity), integers longer than
Python will write out again (4300 digits), ``\\u0000`` (PostgreSQL's jsonb and text
refuse it) and lone surrogates (not UTF-8). Once such a value was accepted, the log
write failed after the steps had run.

One rule, two uses: ``loads`` and ``check`` refuse such a value with the reason and
where it is (an inbound event is answered 400 and runs nothing); ``storable`` replaces
what cannot be kept and says so (the recorder can then never fail on a step's output).
"""

from __future__ import annotations

import json
import math
import re
import sys
from decimal import Decimal
from typing import Any

MAX_DEPTH = 200
TOO_DEEP = f"The JSON is nested deeper than {MAX_DEPTH} levels."
# What the log keeps: a caller's JSON sits a few levels down (a body in a trigger output).
STORED_DEPTH = MAX_DEPTH + 8
DROPPED_KEY = "_dropped"
NOTES_KEY = "_sanitised"
REPLACEMENT = "\ufffd"
# \u0000 or a surrogate escape in JSON text: only then can a parsed string hold one.
_RISKY_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_RISKY_CHAR = re.compile("[\x00\ud800-\udfff]")


class Unstorable(ValueError):
    """A value the database cannot keep, with where it is (``body.items.0``)."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(f"{reason} at {path}." if path else f"{reason}.")
        self.reason = reason
        self.path = path


class TooDeep(Unstorable):
    def __init__(self) -> None:
        ValueError.__init__(self, TOO_DEEP)
        self.reason = TOO_DEEP
        self.path = ""


class _Refused:
    """What the parser put where a number it must not accept was."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def loads(data: str | bytes, where: str = "") -> Any:
    """Strict ``json.loads``: Unstorable (TooDeep for nesting beyond MAX_DEPTH) for what
    cannot be stored, named by its path under ``where``."""
    refused: list[_Refused] = []

    def constant(name: str) -> _Refused:
        refused.append(_Refused(f"{name} is not valid JSON"))
        return refused[-1]

    def number(text: str) -> float | _Refused:
        value = float(text)
        if math.isfinite(value):
            return value
        refused.append(_Refused(f"the number {text[:20]} is too large"))
        return refused[-1]

    def integer(text: str) -> int | _Refused:
        try:
            return int(text)
        except ValueError:
            refused.append(_Refused(f"an integer of {len(text)} digits is too long"))
            return refused[-1]

    try:
        value = json.loads(data, parse_constant=constant, parse_float=number, parse_int=integer)
    except RecursionError:
        raise TooDeep() from None
    check_depth(value, data)
    # The walk is skipped when the text shows it cannot find anything (the common case).
    if refused or not isinstance(data, bytes) or _RISKY_ESCAPE.search(data):
        check(value, where)
    return value


def check(value: Any, where: str = "") -> None:
    """Raise Unstorable for the first part of ``value`` the database cannot keep."""
    if not _plain(value):
        _clean(value, where, 1, None)


def check_depth(value: Any, text: str | bytes | None = None) -> None:
    """Raise TooDeep when ``value`` nests containers beyond MAX_DEPTH. ``text``, the
    JSON it came from, lets a shallow document skip the walk (a count runs at C speed)."""
    if text is not None:
        opening = ("[", "{") if isinstance(text, str) else (b"[", b"{")
        if text.count(opening[0]) + text.count(opening[1]) <= MAX_DEPTH:
            return
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if level > MAX_DEPTH:
            raise TooDeep()
        stack.extend((child, level + 1) for child in children)


def storable(value: Any) -> Any:
    """``value`` as the database can keep it. What cannot be kept is replaced: NUL and
    lone surrogates by U+FFFD, NaN and infinities by null, too long integers by their
    digits as a string, containers deeper than STORED_DEPTH by ``{"_dropped": ...}``; an
    object at the top lists what was replaced under ``_sanitised``."""
    if _plain(value):
        return value
    notes: list[str] = []
    clean = _clean(value, "", 1, notes)
    if notes and isinstance(clean, dict):
        clean[NOTES_KEY] = notes[:20]
    return clean


def storable_text(text: str) -> str:
    """A string a text column takes (errors, messages)."""
    return _RISKY_CHAR.sub(REPLACEMENT, text) if not text.isascii() or "\x00" in text else text


def storable_with_text(value: Any, text: str | None = None) -> tuple[Any, str | None]:
    """``storable(value)``, with its JSON as ``encoded`` writes it when the value is kept
    as it is (None when something was replaced). ``text``, that JSON when the caller
    has it already, saves encoding the value again."""
    if text is None:
        text = encoded(value)
    elif not _plain_text(text):
        text = None
    if text is None:
        return storable(value), None
    return value, text


def encoded(value: Any) -> str | None:
    """``value``'s JSON (not ASCII-escaped) when it surely needs no change, else None;
    judged from that text at C speed."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    return text if _plain_text(text) else None


def _plain_text(text: str) -> bool:
    if "\\u0000" in text or text.count("[") + text.count("{") > STORED_DEPTH:
        return False
    return text.isascii() or not _RISKY_CHAR.search(text)


def _plain(value: Any) -> bool:
    return encoded(value) is not None


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _problem(reason: str, path: str, notes: list[str] | None) -> None:
    """Refuse (``notes`` None) or note a replacement."""
    if notes is None:
        raise Unstorable(reason, path)
    notes.append(f"{path or 'the value'}: {reason}")


def _clean(value: Any, path: str, depth: int, notes: list[str] | None) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if _RISKY_CHAR.search(value):
            what = "a NUL character" if "\x00" in value else "a lone surrogate"
            _problem(f"the text holds {what}", path, notes)
            return storable_text(value)
        return value
    if isinstance(value, int):
        limit = sys.get_int_max_str_digits()
        if limit and value.bit_length() > limit * 3 and abs(value) >= 10**limit:
            _problem(f"an integer of more than {limit} digits is too long", path, notes)
            return str(Decimal(value))
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            name = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
            _problem(f"{name} is not valid JSON", path, notes)
            return None
        return value
    if isinstance(value, _Refused):
        _problem(value.reason, path, notes)
        return None
    if isinstance(value, dict | list | tuple):
        if depth > STORED_DEPTH:
            if notes is None:
                raise TooDeep()
            _problem(f"nested deeper than {STORED_DEPTH} levels", path, notes)
            return {DROPPED_KEY: f"nested deeper than {STORED_DEPTH} levels"}
        if isinstance(value, dict):
            clean = {}
            for key, item in value.items():
                key = str(key)
                if _RISKY_CHAR.search(key):
                    _problem("a key holds a NUL character or a lone surrogate", path, notes)
                    key = storable_text(key)
                clean[key] = _clean(item, _join(path, key), depth + 1, notes)
            return clean
        return [_clean(item, _join(path, i), depth + 1, notes) for i, item in enumerate(value)]
    _problem(f"a {type(value).__name__} is not JSON", path, notes)
    return str(value)
