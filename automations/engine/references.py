"""References from a field to the trigger's or an earlier step's output.

``{{ trigger.body.text }}`` and ``{{ steps.<key>.<path> }}``, with list indexes
(``items.0.name``), anywhere in a field. Templates are parsed and rendered by Jinja2's
sandbox, restricted further so that only JSON keys and list indexes can be looked up:
no Python attribute, method or global is reachable. A field that is exactly one
reference keeps the referenced value's JSON type; mixed text renders to a string.
Every referenced path is checked before rendering, so a missing one is reported by name.
Any error while rendering (a division by zero, an include with no loader) is reported as
the field's error, never raised; rendering stops at the run's deadline, and operators
that could build huge values in one step (``**``, ``*`` on text) are bounded.
"""

from __future__ import annotations

import json
import time
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOTS = ("trigger", "steps")
MISSING = object()
MAX_POWER_BITS = 100_000
MAX_REPEAT_LENGTH = 1_000_000
# The run's deadline (time.monotonic()), while ``resolve`` renders for a run.
_deadline: ContextVar[float | None] = ContextVar("render_deadline", default=None)


class BadReference(Exception):
    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class OutOfTime(BadReference):
    def __init__(self) -> None:
        super().__init__("was still rendering when the run's time limit was reached")


def _check_time() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise OutOfTime()


def lookup(obj: Any, key: Any) -> Any:
    """The only way into data: a dict key or a list index. Returns MISSING otherwise."""
    if isinstance(obj, dict):
        return obj.get(key if isinstance(key, str) else str(key), MISSING)
    if isinstance(obj, list):
        if isinstance(key, str) and key.lstrip("-").isdigit():
            key = int(key)
        if isinstance(key, int) and not isinstance(key, bool) and -len(obj) <= key < len(obj):
            return obj[key]
    return MISSING


def _finalize(value: Any) -> Any:
    _check_time()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return value


class _JsonSandbox(ImmutableSandboxedEnvironment):
    # Not folded at compile time, so call_binop sees them.
    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:  # noqa: ANN001
        if operator == "**" and _number(left) and _number(right):
            bits = int(abs(left)).bit_length() if abs(left) >= 2 else 1
            if abs(right) * bits > MAX_POWER_BITS:
                raise SecurityError("The power is too large.")
        if operator == "*":
            for text, times in ((left, right), (right, left)):
                repeats = isinstance(text, str | list) and _number(times)
                if repeats and len(text) * times > MAX_REPEAT_LENGTH:
                    raise SecurityError("The repeated value would be too long.")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self._get(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self._get(obj, argument)

    def _get(self, obj: Any, key: Any) -> Any:
        _check_time()
        value = lookup(obj, key)
        if value is MISSING:
            return self.undefined(obj=obj, name=key)
        return value

    def call(self, context, obj, *args, **kwargs):  # noqa: ANN001
        raise SecurityError("Calling functions is not allowed in a reference.")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_env = _JsonSandbox(undefined=StrictUndefined, finalize=_finalize, autoescape=False)
_env.globals.clear()


@dataclass(frozen=True)
class _Compiled:
    template: Any
    single: tuple[Any, ...] | None
    paths: tuple[tuple[Any, ...], ...]


def _chain(node: nodes.Node) -> tuple[Any, ...] | None:
    """The static path of a lookup chain rooted at trigger/steps, or None."""
    keys: list[Any] = []
    while True:
        if isinstance(node, nodes.Getattr):
            keys.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            keys.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name) and node.name in ROOTS:
            keys.append(node.name)
            return tuple(reversed(keys))
        else:
            return None


def _collect(node: nodes.Node, found: list[tuple[Any, ...]]) -> None:
    path = _chain(node)
    if path is not None:
        found.append(path)
        return
    for child in node.iter_child_nodes():
        _collect(child, found)


@lru_cache(maxsize=4096)
def _compile(source: str) -> _Compiled:
    try:
        tree = _env.parse(source)
    except TemplateSyntaxError as exc:
        raise BadReference(f"has a malformed reference: {exc.message}") from None
    except Exception as exc:  # a template Jinja cannot read at all (deep nesting, say)
        raise BadReference(f"has a malformed reference ({type(exc).__name__})") from None
    loaded = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    stored = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    unknown = sorted(loaded - stored - set(ROOTS) - {"loop"})
    if unknown:
        raise BadReference(
            f"can refer to trigger and steps only, not {', '.join(repr(n) for n in unknown)}"
        )
    found: list[tuple[Any, ...]] = []
    _collect(tree, found)
    single = None
    if len(tree.body) == 1 and isinstance(tree.body[0], nodes.Output):
        parts = [
            n for n in tree.body[0].nodes
            if not (isinstance(n, nodes.TemplateData) and not n.data.strip())
        ]  # fmt: skip
        if len(parts) == 1:
            single = _chain(parts[0])
    template = None if single else _env.from_string(tree)
    return _Compiled(template=template, single=single, paths=tuple(dict.fromkeys(found)))


def path_text(path: tuple[Any, ...]) -> str:
    return ".".join(str(key) for key in path)


def _walk(path: tuple[Any, ...], data: dict[str, Any]) -> Any:
    value: Any = data
    for depth, key in enumerate(path):
        value = lookup(value, key)
        if value is MISSING:
            if depth == 0:
                raise BadReference(f"{key} is not available here", path_text(path))
            if depth == 1 and path[0] == "steps":
                raise BadReference(
                    f"{path_text(path)} refers to step {key!r}, which does not run before this one",
                    path_text(path),
                )
            raise BadReference(
                f"{path_text(path)} does not exist ({path_text(path[:depth])} has no {key!r})",
                path_text(path),
            )
    return value


def render(source: str, data: dict[str, Any]) -> Any:
    """Resolve one string. ``data`` is {"trigger": ..., "steps": {key: output}}."""
    if "{{" not in source and "{%" not in source:
        return source
    _check_time()
    compiled = _compile(source)
    for path in compiled.paths:
        _walk(path, data)
    if compiled.single is not None:
        return _walk(compiled.single, data)
    try:
        return compiled.template.render(data)
    except BadReference:
        raise
    except SecurityError as exc:
        raise BadReference(f"is not allowed: {exc}") from None
    except TemplateError as exc:
        raise BadReference(f"could not be resolved: {exc}") from None
    except Exception as exc:
        # The template's own doing (1 / 0, an include with no loader): the field's error.
        detail = str(exc)[:200]
        raise BadReference(
            f"could not be resolved: {type(exc).__name__}" + (f" ({detail})" if detail else "")
        ) from None


def resolve(value: Any, data: dict[str, Any], *, deadline: float | None = None) -> Any:
    """Resolve every reference inside a JSON value (dicts and lists included); past
    ``deadline`` (time.monotonic()) rendering stops with OutOfTime."""
    if deadline is not None:
        token = _deadline.set(deadline)
        try:
            return resolve(value, data)
        finally:
            _deadline.reset(token)
    if isinstance(value, str):
        return render(value, data)
    if isinstance(value, dict):
        return {key: resolve(item, data) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, data) for item in value]
    return value


def referenced_paths(value: Any) -> list[str]:
    """Every path a JSON value refers to; raises BadReference on malformed syntax."""
    found: list[str] = []
    if isinstance(value, str):
        if "{{" in value or "{%" in value:
            found.extend(path_text(p) for p in _compile(value).paths)
    elif isinstance(value, dict):
        for item in value.values():
            found.extend(referenced_paths(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(referenced_paths(item))
    return found
