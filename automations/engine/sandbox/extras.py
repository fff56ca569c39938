"""Filters of our own, beyond Jinja's built-ins (docs/REFERENCES.md lists them all).

They work on JSON values only and give JSON values back (dates are ISO 8601 text), so
nothing a template holds is ever a Python object it could reach into. Each refuses
input that would cost too much before it works on it, and the sandbox checks every
result as it does those of the built-ins (``bounded_filter``).
"""

from __future__ import annotations

import json
import math
import re
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from django.utils.text import slugify as django_slugify

from automations.engine.sandbox.limits import (
    MAX_ITEMS,
    RenderRefused,
    bounded_render,
    max_bytes,
    tick,
    too_large,
    too_many_items,
)

# As deep as a webhook body may be nested (MAX_JSON_DEPTH of the webhooks).
MAX_JSON_DEPTH = 200
_MAX_JSON_INDENT = 16
# A date, with its time and zone, is short; a format is a line.
_MAX_DATE_TEXT = 200
_MAX_DATE_FORMAT = 200
# strftime/strptime directives, with glibc's padding flags but no width: "%10000Y" would
# make the C library write ten thousand characters before anything could count them.
_DIRECTIVE = re.compile(r"%([-_0^#]?)(.|$)", re.DOTALL)
_DIRECTIVE_LETTERS = set("aAbBcdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%")
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise RenderRefused(f"{what} takes text, not {_kind(value)}")
    if len(value) > max_bytes():
        raise too_large()
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "an undefined value"


def _number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RenderRefused(f"{what} takes numbers, not {_kind(value)}")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise RenderRefused(f"{what} takes a list, not {_kind(value)}")
    return list(value)


# -- JSON ------------------------------------------------------------------------------


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                break
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def from_json(value: Any) -> Any:
    """Parse JSON text into a value."""
    text = _text(value, "from_json")
    try:
        parsed = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise RenderRefused(f"from_json: nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        # Includes numbers longer than 4,300 digits, which Python refuses to convert.
        raise RenderRefused(f"from_json: not valid JSON ({str(exc)[:120]})") from None
    if _depth(parsed) > MAX_JSON_DEPTH:
        raise RenderRefused(f"from_json: nested deeper than {MAX_JSON_DEPTH} levels")
    return parsed


def to_json(value: Any, indent: int | None = None, sort_keys: bool = False) -> str:
    """The value as JSON text: plain JSON, unlike Jinja's tojson, which escapes for HTML."""
    if indent is not None and (
        isinstance(indent, bool) or not isinstance(indent, int) or not 0 <= indent <= 16
    ):
        raise RenderRefused(f"to_json: indent must be a number from 0 to {_MAX_JSON_INDENT}")
    if _depth(value) > MAX_JSON_DEPTH:
        raise RenderRefused(f"to_json: nested deeper than {MAX_JSON_DEPTH} levels")
    encoder = json.JSONEncoder(
        ensure_ascii=False, indent=indent, sort_keys=bool(sort_keys), allow_nan=False
    )
    try:
        return bounded_render(encoder.iterencode(value))
    except (TypeError, ValueError) as exc:
        raise RenderRefused(f"to_json: {str(exc)[:120]}") from None


# -- dates -----------------------------------------------------------------------------


def _zone(name: Any) -> tzinfo:
    if not isinstance(name, str) or len(name) > 64 or not _ZONE_NAME.match(name):
        raise RenderRefused(f"unknown time zone {str(name)[:64]!r}")
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise RenderRefused(f"unknown time zone {name!r}") from None


def _check_format(fmt: Any, what: str) -> str:
    if not isinstance(fmt, str) or not fmt or len(fmt) > _MAX_DATE_FORMAT:
        raise RenderRefused(
            f"{what}: the format must be text of 1 to {_MAX_DATE_FORMAT} characters"
        )
    for match in _DIRECTIVE.finditer(fmt):
        if match.group(2) not in _DIRECTIVE_LETTERS:
            raise RenderRefused(f"{what}: the format has an unknown directive {match.group(0)!r}")
    return fmt


def _moment(value: Any, what: str, tz: tzinfo = UTC, fmt: str | None = None) -> datetime:
    """A time from ISO 8601 or RFC 2822 text, a Unix timestamp, or text in ``fmt``; a
    time without a zone is taken to be in ``tz``."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value) or abs(value) > 253_402_300_799:  # 9999-12-31
                raise ValueError
            return datetime.fromtimestamp(value, UTC)
        if not isinstance(value, str) or len(value) > _MAX_DATE_TEXT:
            raise ValueError
        text = value.strip()
        if fmt is not None:
            moment = datetime.strptime(text, fmt)
        else:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                moment = parsedate_to_datetime(text)
    except (ValueError, TypeError, OverflowError, OSError, IndexError):
        shown = str(value)[:40] if isinstance(value, str | int | float) else _kind(value)
        raise RenderRefused(f"{what}: {shown!r} is not a date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def parse_date(value: Any, format: str | None = None, tz: str = "UTC") -> str:
    """A date as ISO 8601 text with its offset: from ISO 8601, RFC 2822 (e-mail headers)
    or a Unix timestamp, or from text in ``format`` (strptime's directives)."""
    fmt = _check_format(format, "parse_date") if format is not None else None
    return _moment(value, "parse_date", _zone(tz), fmt).isoformat()


def date_format(value: Any, format: str = "%Y-%m-%d %H:%M", tz: str | None = None) -> str:
    """A date written with strftime's directives, in the time zone ``tz`` if given."""
    fmt = _check_format(format, "date_format")
    moment = _moment(value, "date_format")
    if tz is not None:
        moment = moment.astimezone(_zone(tz))
    try:
        return moment.strftime(fmt)
    except (ValueError, OverflowError):
        raise RenderRefused("date_format: the date cannot be written in that format") from None


def to_timezone(value: Any, tz: str) -> str:
    """The same moment as ISO 8601 text in another time zone."""
    zone = _zone(tz)
    try:
        return _moment(value, "to_timezone").astimezone(zone).isoformat()
    except (ValueError, OverflowError):
        raise RenderRefused("to_timezone: the date is out of range") from None


# -- text ------------------------------------------------------------------------------


def slugify(value: Any) -> str:
    """Lowercase ASCII words joined by hyphens: "Hello, World!" becomes "hello-world"."""
    return django_slugify(_text(value, "slugify"))


def truncate_words(value: Any, count: int = 20, end: str = "…") -> str:
    """The first ``count`` words; ``end`` marks that some were left out."""
    text = _text(value, "truncate_words")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise RenderRefused("truncate_words: the number of words must be 0 or more")
    if not isinstance(end, str) or len(end) > 100:
        raise RenderRefused("truncate_words: the ending must be text of at most 100 characters")
    words = text.split(maxsplit=count)
    if len(words) <= count:
        return " ".join(words)
    return " ".join(words[:count]) + end


_BLOCKS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tr",
    "ul",
}
_HIDDEN = {"script", "style", "template", "noscript"}


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def strip_html(value: Any) -> str:
    """The text of an HTML fragment: tags, comments, scripts and styles removed,
    entities decoded, a line break for each paragraph, list item or <br>."""
    parser = _TextOnly()
    parser.feed(_text(value, "strip_html"))
    parser.close()
    text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# -- numbers and lists -----------------------------------------------------------------


def clamp(value: Any, low: Any, high: Any) -> int | float:
    """``value`` kept between ``low`` and ``high``."""
    number = _number(value, "clamp")
    low, high = _number(low, "clamp"), _number(high, "clamp")
    if low > high:
        raise RenderRefused("clamp: the lower bound is above the upper bound")
    return min(max(number, low), high)


def unique(value: Any, case_sensitive: bool = False) -> list[Any]:
    """The items without repeats, first ones kept; objects and lists compare by content."""
    items, seen, kept = _list(value, "unique"), set(), []
    for item in items:
        tick()
        if isinstance(item, dict | list):
            key: Any = ("json", json.dumps(item, sort_keys=True, default=str))
        elif isinstance(item, str) and not case_sensitive:
            key = ("text", item.lower())
        else:
            key = ("value", item)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def flatten(value: Any, levels: int = 1) -> list[Any]:
    """Lists inside the list put in its place, ``levels`` deep (1: one level)."""
    items = _list(value, "flatten")
    if isinstance(levels, bool) or not isinstance(levels, int) or not 1 <= levels <= 100:
        raise RenderRefused("flatten: the levels must be a number from 1 to 100")
    flat: list[Any] = []
    # A stack of (iterator, level) replaces recursion: nesting cannot exhaust the stack.
    stack = [(iter(items), 0)]
    while stack:
        iterator, level = stack[-1]
        item = next(iterator, _END)
        if item is _END:
            stack.pop()
            continue
        if isinstance(item, list | tuple) and level < levels:
            stack.append((iter(item), level + 1))
            continue
        flat.append(item)
        if len(flat) > MAX_ITEMS:
            raise too_many_items()
        tick()
    return flat


_END = object()


def pluck(value: Any, key: Any) -> list[Any]:
    """The value at ``key`` (a key, or a dotted path such as "author.name") of each item;
    null for an item that has none, so positions still match."""
    items = _list(value, "pluck")
    if isinstance(key, int) and not isinstance(key, bool):
        path: list[Any] = [key]
    elif isinstance(key, str) and key:
        path = key.split(".")
    else:
        raise RenderRefused("pluck: name the key to take, e.g. pluck('title')")
    taken = []
    for item in items:
        tick()
        for part in path:
            item = _get(item, part)
        taken.append(item)
    return taken


def _get(item: Any, key: Any) -> Any:
    if isinstance(item, dict):
        return item.get(str(key))
    if isinstance(item, list) and (isinstance(key, int) or str(key).lstrip("-").isdigit()):
        index = int(key)
        return item[index] if -len(item) <= index < len(item) else None
    return None


EXTRA_FILTERS: dict[str, Callable[..., Any]] = {
    "from_json": from_json,
    "to_json": to_json,
    "parse_date": parse_date,
    "date_format": date_format,
    "to_timezone": to_timezone,
    "slugify": slugify,
    "truncate_words": truncate_words,
    "strip_html": strip_html,
    "clamp": clamp,
    "unique": unique,
    "flatten": flatten,
    "pluck": pluck,
}
