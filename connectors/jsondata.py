"""JSON from callers, with a bound on nesting.

Python's parser recurses once per level, so a body of a few kilobytes of ``[`` exhausts
the stack (RecursionError, a 500); and what parses deeper than the stored data can carry
fails later, when it is written. Both are refused here with one clear reason.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 200
TOO_DEEP = f"The JSON is nested deeper than {MAX_DEPTH} levels."


class TooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(TOO_DEEP)


def loads(data: str | bytes) -> Any:
    """``json.loads`` that raises TooDeep for nesting beyond MAX_DEPTH."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep() from None
    check_depth(value, data)
    return value


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
