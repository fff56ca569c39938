"""The limits every render keeps: its size, its time, and the size of each value a
template computes on the way (texts, lists, numbers). A refusal raises RenderRefused with
a message for the person who wrote the field."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings

# A list built by a template (``[x] * n``, ``batch``, ``slice``) holds at most this many
# items, as Jinja's own sandbox caps range().
MAX_ITEMS = 100_000
# 4,300 decimal digits, the longest integer Python prints or parses from JSON.
MAX_INT_BITS = 14_300
# %-format flags, width and precision: "%-08.3f", "%*d".
_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


class RenderRefused(Exception):
    """A template asked for more than a field may take."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RunOutOfTime(RenderRefused):
    """The run's own deadline came while rendering: the step times out."""


@dataclass
class _Budget:
    deadline: float
    run_deadline: bool
    seconds: float


_budget: ContextVar[_Budget | None] = ContextVar("render_budget", default=None)


def size_text(size: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def max_bytes() -> int:
    return settings.MAX_RENDERED_BYTES


def too_large() -> RenderRefused:
    return RenderRefused(f"the value is larger than {size_text(max_bytes())}")


@contextlib.contextmanager
def render_budget(deadline: float | None = None) -> Iterator[None]:
    """Bound the time of every render inside the block: MAX_RENDER_SECONDS from now, or
    ``deadline`` (a time.monotonic() value, the run's) when that comes first. A block
    inside another keeps the outer, earlier deadline."""
    seconds = settings.MAX_RENDER_SECONDS
    own = time.monotonic() + seconds
    budget = _Budget(own, False, seconds)
    if deadline is not None and deadline < own:
        budget = _Budget(deadline, True, seconds)
    outer = _budget.get()
    if outer is not None and outer.deadline <= budget.deadline:
        budget = outer
    token = _budget.set(budget)
    try:
        yield
    finally:
        _budget.reset(token)


def tick() -> None:
    budget = _budget.get()
    if budget is not None and time.monotonic() > budget.deadline:
        if budget.run_deadline:
            raise RunOutOfTime("was still rendering when the run's time limit was reached")
        raise RenderRefused(f"took longer than {budget.seconds:g} s to render")


def _bytes(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def bounded_render(chunks: Iterable[str]) -> str:
    """Join a template's streamed output, stopping as soon as it passes the size cap or
    the deadline."""
    limit, size, parts = max_bytes(), 0, []
    iterator = iter(chunks)
    try:
        for chunk in iterator:
            size += _bytes(chunk)
            if size > limit:
                raise too_large()
            parts.append(chunk)
            tick()
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    return "".join(parts)


def measure(value: Any, limit: int) -> int:
    """About the length of ``value`` as JSON, counting a part each time it appears (a
    list of a thousand references to one long text is a thousand long texts once it is
    printed). Stops counting once past ``limit``."""
    size, stack = 0, [value]
    while stack and size <= limit:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 2
        elif isinstance(item, dict):
            size += 2 + 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            size += 2 + len(item)
            stack.extend(item)
        else:
            size += 8
    return size


def too_many_items() -> RenderRefused:
    return RenderRefused(f"builds a list of more than {MAX_ITEMS:,} items")


def check_value(value: Any) -> Any:
    """Refuse a value a template computed that is too large to keep."""
    if isinstance(value, str):
        if len(value) > max_bytes():
            raise too_large()
    elif isinstance(value, list | tuple | dict):
        if len(value) > MAX_ITEMS:
            raise too_many_items()
        if measure(value, max_bytes()) > max_bytes():
            raise too_large()
    elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _number_too_large()
    return value


def _number_too_large() -> RenderRefused:
    return RenderRefused("computes a number that is too large (over 4,300 digits)")


# -- operators ---------------------------------------------------------------------------


def _check_repeat(sequence: Any, times: int) -> None:
    if isinstance(sequence, str) and len(sequence) * times > max_bytes():
        raise too_large()
    if isinstance(sequence, list | tuple):
        if len(sequence) * times > MAX_ITEMS:
            raise too_many_items()
        if times > 0 and measure(sequence, max_bytes()) * times > max_bytes():
            raise too_large()


def check_format(template: str) -> None:
    """A %-format's widths and precisions allocate before anything is checked."""
    for match in _FORMAT_SPEC.finditer(template):
        for number in match.groups():
            if number == "*":
                raise RenderRefused("may not take a %-format width from its arguments")
            if number is not None and int(number) > max_bytes():
                raise too_large()


def _is_power_over(base: Any, exponent: Any) -> bool:
    if not (isinstance(base, int) and isinstance(exponent, int)) or abs(base) < 2:
        return False
    return exponent > 0 and (abs(base).bit_length() - 1) * exponent > MAX_INT_BITS


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too large, before it runs."""
    if operator == "**":
        if _is_power_over(left, right):
            raise _number_too_large()
    elif operator == "*":
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                raise _number_too_large()
        elif isinstance(right, int):
            _check_repeat(left, right)
        elif isinstance(left, int):
            _check_repeat(right, left)
    elif operator == "+":
        if isinstance(left, str) and isinstance(right, str):
            if len(left) + len(right) > max_bytes():
                raise too_large()
        elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
            if len(left) + len(right) > MAX_ITEMS:
                raise too_many_items()
            if measure(left, max_bytes()) + measure(right, max_bytes()) > max_bytes():
                raise too_large()
    elif operator == "%" and isinstance(left, str):
        check_format(left)


def bounded_concat(parts: Iterable[Any]) -> str:
    """The ``~`` operator."""
    limit, size, strings = max_bytes(), 0, []
    for part in parts:
        text = str(part)
        size += len(text)
        if size > limit:
            raise too_large()
        strings.append(text)
    tick()
    return "".join(strings)


class Buffer(list):
    """What ``{% set x %}...{% endset %}`` and ``{% filter %}`` blocks write into."""

    size = 0

    def append(self, item: Any) -> None:
        self._count((item,))
        super().append(item)

    def extend(self, items: Iterable[Any]) -> None:
        items = tuple(items)
        self._count(items)
        super().extend(items)

    def _count(self, items: tuple[Any, ...]) -> None:
        self.size += sum(len(item) for item in items if isinstance(item, str))
        if self.size > max_bytes():
            raise too_large()
        tick()


def bounded_iter(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every ``{% for %}`` loop iterates through this, so loops see the deadline."""
    for item in iterable:
        tick()
        yield item
