"""Jinja's built-in filters, bounded.

Each check takes the filter's own arguments (after Jinja's context argument, if any),
refuses what would allocate or compute too much before the filter runs, and returns the
input to give the filter (join's made a list, so that it can be measured). Every
filter's result is checked too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

import markupsafe

from automations.engine.sandbox.limits import (
    MAX_ITEMS,
    RenderRefused,
    bounded_render,
    check_format,
    check_value,
    max_bytes,
    measure,
    tick,
    too_large,
    too_many_items,
)

# wordwrap copies the rest of an unbroken word for every line it cuts from it.
_MAX_WRAP_COPY = 20_000_000_000
_MAX_ROUND_PRECISION = 1_000
_MAX_JSON_INDENT = 16


def _center(value: Any, width: int = 80) -> Any:
    if isinstance(width, int) and width > max_bytes():
        raise too_large()
    return value


def _indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> Any:
    text = str(s)
    step = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    if len(text) + (text.count("\n") + 2) * step > max_bytes():
        raise too_large()
    return s


def _wordwrap(
    s: Any,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> Any:
    text = str(s)
    lines = len(text) // max(width, 1) + 1 if isinstance(width, int) else 1
    wrap = len(wrapstring) if isinstance(wrapstring, str) else 1
    if len(text) + lines * wrap > max_bytes():
        raise too_large()
    if lines > MAX_ITEMS or len(text) * lines > _MAX_WRAP_COPY:
        raise RenderRefused("asks wordwrap for more lines than a field may have")
    return s


def _replace(s: Any, old: Any, new: Any, count: int | None = None) -> Any:
    text, old, new = str(s), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    if len(text) + found * (len(new) - len(old)) > max_bytes():
        raise too_large()
    return s


def _join(value: Any, d: str = "", attribute: Any = None) -> Any:
    items = list(value)
    if len(items) > MAX_ITEMS:
        raise too_many_items()
    if measure(items, max_bytes()) + max(len(items) - 1, 0) * len(str(d)) > max_bytes():
        raise too_large()
    return items


def _batch(value: Any, linecount: int, fill_with: Any = None) -> Any:
    if isinstance(linecount, int) and linecount > 0:
        if linecount > MAX_ITEMS:
            raise too_many_items()
        if fill_with is not None and measure(fill_with, max_bytes()) * linecount > max_bytes():
            raise too_large()
    return value


def _format(value: Any, *args: Any, **kwargs: Any) -> Any:
    check_format(str(value))
    return value


def _round(value: Any, precision: int = 0, method: str = "common") -> Any:
    if isinstance(precision, int) and abs(precision) > _MAX_ROUND_PRECISION:
        raise RenderRefused(f"asks round for more than {_MAX_ROUND_PRECISION} digits")
    return value


def _sum(iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    # Summing lists or text copies the total so far again for every item.
    if not isinstance(start, int | float):
        raise RenderRefused("may sum numbers only")
    return iterable


def _urlize(
    value: Any,
    trim_url_limit: int | None = None,
    nofollow: bool = False,
    target: str | None = None,
    rel: str | None = None,
    extra_schemes: Any = None,
) -> Any:
    # Each word may become a link: written twice, with the attributes around it.
    text = str(markupsafe.escape(value))
    extra = len(str(target or "")) + len(str(rel or "")) + 64
    if 3 * len(text) + len(text.split()) * extra > max_bytes():
        raise too_large()
    return value


FILTER_CHECKS: dict[str, Callable[..., Any]] = {
    "center": _center,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "replace": _replace,
    "join": _join,
    "batch": _batch,
    "slice": _batch,
    "format": _format,
    "round": _round,
    "sum": _sum,
    "urlize": _urlize,
}
# attr reads Python attributes (references reach JSON keys only: use ["key"]); pprint
# multiplies a nested value by its depth.
LEFT_OUT_FILTERS = ("attr", "pprint")


def bounded_filter(func: Callable[..., Any], check: Callable[..., Any] | None) -> Callable:
    skip = 0 if getattr(func, "jinja_pass_arg", None) is None else 1

    @wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        tick()
        if check is not None and len(args) > skip:
            value = check(*args[skip:], **kwargs)
            args = (*args[:skip], value, *args[skip + 1 :])
        return check_value(func(*args, **kwargs))

    return bounded


def bounded_dumps(value: Any, **kwargs: Any) -> str:
    """json.dumps for the tojson filter, streamed, so that an indent cannot multiply a
    large value unchecked."""
    indent = kwargs.get("indent")
    if (isinstance(indent, int) and indent > _MAX_JSON_INDENT) or (
        isinstance(indent, str) and len(indent) > _MAX_JSON_INDENT
    ):
        raise RenderRefused(f"asks tojson to indent by more than {_MAX_JSON_INDENT}")
    return bounded_render(json.JSONEncoder(**kwargs).iterencode(value))
