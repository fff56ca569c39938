"""References from a field to the trigger's or an earlier step's output.

``{{ trigger.body.text }}`` and ``{{ steps.<key>.<path> }}``, with list indexes
(``items.0.name``), anywhere in a field. Templates are parsed and rendered by Jinja2's
sandbox, restricted further so that only JSON keys and list indexes can be looked up:
no Python attribute, method or global is reachable. A field that is exactly one
reference keeps the referenced value's JSON type; mixed text renders to a string.
Every referenced path is checked before rendering, so a missing one is reported by name.
Compiling and rendering are bounded in size and time (see ``sandbox``), and any error
while rendering (a division by zero, a filter given a number) is the field's error,
never raised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError

from automations.engine.sandbox import (
    BoundedSandbox,
    RenderRefused,
    RunOutOfTime,
    bounded_render,
    fold_check,
    render_budget,
)

# ``loop`` (the item and index of a for_each iteration) exists only inside a loop's steps;
# ``vars`` are the team's variables.
ROOTS = ("trigger", "steps", "loop", "vars")
MISSING = object()


class Variables(dict):
    """The team's variables as a run renders with them: ``{{ vars.NAME }}``. The values
    of the secret ones are kept beside: a value that holds one may only be written out
    whole."""

    def __init__(self, values: dict[str, Any], secret: frozenset[str] = frozenset()) -> None:
        super().__init__(values)
        self.secret_values = frozenset(str(values[name]) for name in secret if values[name])


class BadReference(Exception):
    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class OutOfTime(BadReference):
    """Rendering reached the run's deadline: the step times out rather than fails."""


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
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return value


class _JsonSandbox(BoundedSandbox):
    def getattr(self, obj: Any, attribute: str) -> Any:
        return self._get(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self._get(obj, argument)

    def _get(self, obj: Any, key: Any) -> Any:
        value = lookup(obj, key)
        if value is MISSING:
            return self.undefined(obj=obj, name=key)
        return value

    def call(self, context, obj, *args, **kwargs):  # noqa: ANN001
        raise SecurityError("Calling functions is not allowed in a reference.")


_env = _JsonSandbox(undefined=StrictUndefined, finalize=_finalize, autoescape=False)


@dataclass(frozen=True)
class _Compiled:
    template: Any
    single: tuple[Any, ...] | None
    paths: tuple[tuple[Any, ...], ...]
    # The paths whose values the template does more with than write out (a filter, a
    # test, an operator, a loop, a block that captures output): refused when they hold a
    # secret variable's value, so that no field can turn a secret into text the
    # redaction of logs would not recognise.
    worked: tuple[tuple[Any, ...], ...] = ()


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


# Blocks whose output a template captures and can work on before writing it out.
_CAPTURING = (nodes.FilterBlock, nodes.AssignBlock, nodes.Macro, nodes.CallBlock)


def _collect(
    node: nodes.Node,
    found: list[tuple[Any, ...]],
    worked: list[tuple[Any, ...]],
    written: bool = False,
    captured: bool = False,
) -> None:
    path = _chain(node)
    if path is not None:
        found.append(path)
        if not written:
            worked.append(path)
        return
    if isinstance(node, nodes.Filter) and node.name == "default" and _chain(node.node):
        # The default stands in for a missing path (a step of a branch not taken): the
        # path need not exist, but a filter still works on it.
        worked.append(_chain(node.node))
        for child in [*node.args, *node.kwargs]:
            _collect(child, found, worked, captured=captured)
        return
    captured = captured or isinstance(node, _CAPTURING)
    for child in node.iter_child_nodes():
        # Only an expression an output writes as it is, into the field, is written out.
        written_here = isinstance(node, nodes.Output) and not captured
        _collect(child, found, worked, written=written_here, captured=captured)


@lru_cache(maxsize=4096)
def _compile(source: str) -> _Compiled:
    try:
        tree = _env.parse(source)
    except TemplateSyntaxError as exc:
        raise BadReference(f"has a malformed reference: {exc.message}") from None
    except RecursionError:
        raise BadReference("has a reference nested too deeply") from None
    except Exception as exc:  # a template Jinja cannot read at all
        raise BadReference(f"has a malformed reference ({type(exc).__name__})") from None
    loaded = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    stored = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    unknown = sorted(loaded - stored - set(ROOTS) - {"loop"})
    if unknown:
        raise BadReference(
            f"can refer to trigger, steps and vars only, not {', '.join(repr(n) for n in unknown)}"
        )
    found: list[tuple[Any, ...]] = []
    worked: list[tuple[Any, ...]] = []
    _collect(tree, found, worked)
    single = None
    if len(tree.body) == 1 and isinstance(tree.body[0], nodes.Output):
        parts = [
            n for n in tree.body[0].nodes
            if not (isinstance(n, nodes.TemplateData) and not n.data.strip())
        ]  # fmt: skip
        if len(parts) == 1:
            single = _chain(parts[0])
    template = None if single else _template(tree)
    return _Compiled(
        template=template,
        single=single,
        paths=tuple(dict.fromkeys(found)),
        worked=tuple(dict.fromkeys(worked)),
    )


def _template(tree: nodes.Template) -> Any:
    try:
        fold_check(_env, tree)
        return _env.from_string(tree)
    except RenderRefused as exc:
        raise BadReference(exc.message) from None
    except TemplateSyntaxError as exc:
        raise BadReference(f"has a malformed reference: {exc.message}") from None
    except RecursionError:
        raise BadReference("has a reference nested too deeply") from None
    except Exception as exc:  # a template Jinja cannot read at all
        raise BadReference(f"has a malformed reference ({type(exc).__name__})") from None


def path_text(path: tuple[Any, ...]) -> str:
    return ".".join(str(key) for key in path)


def _walk(path: tuple[Any, ...], data: dict[str, Any]) -> Any:
    value: Any = data
    for depth, key in enumerate(path):
        value = lookup(value, key)
        if value is MISSING:
            if depth == 0:
                raise BadReference(f"{key} is not available here", path_text(path))
            if depth == 1 and path[0] == "vars":
                raise BadReference(
                    f"{path_text(path)}: the team has no variable {key!r}", path_text(path)
                )
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


def render(source: str, data: dict[str, Any], *, deadline: float | None = None) -> Any:
    """Resolve one string. ``data`` is {"trigger": ..., "steps": {key: output}, "vars":
    Variables}; the render ends by ``deadline`` (time.monotonic()) if that is sooner than
    its own limit."""
    if "{{" not in source and "{%" not in source:
        return source
    compiled = _compile(source)
    for path in compiled.paths:
        _walk(path, data)
    _check_secrets(compiled, data)
    if compiled.single is not None:
        return _walk(compiled.single, data)
    try:
        with render_budget(deadline):
            return bounded_render(compiled.template.generate(data))
    except RunOutOfTime as exc:
        raise OutOfTime(exc.message) from None
    except RenderRefused as exc:
        raise BadReference(exc.message) from None
    except SecurityError as exc:
        raise BadReference(f"is not allowed: {exc}") from None
    except TemplateError as exc:
        raise BadReference(f"could not be resolved: {exc}") from None
    except Exception as exc:
        # The template's own doing (1 / 0, a filter given a number): the field's error.
        detail = str(exc)[:200]
        raise BadReference(
            f"could not be resolved: {type(exc).__name__}" + (f" ({detail})" if detail else "")
        ) from None


def _check_secrets(compiled: _Compiled, data: dict[str, Any]) -> None:
    secrets = getattr(data.get("vars"), "secret_values", None)
    if not secrets or not compiled.worked:
        return
    for path in compiled.worked:
        try:
            value = _walk(path, data)
        except BadReference:
            continue  # a missing path under | default(...) holds no secret
        if _holds_secret(value, secrets):
            what = (
                f"{path_text(path)} is a secret variable"
                if len(path) == 2 and path[0] == "vars"
                else f"{path_text(path)} holds the value of a secret variable"
            )
            raise BadReference(
                f"{what}: it can only be written out as it is, with no filter, test, "
                "operator, loop or block",
                path_text(path),
            )


def _holds_secret(value: Any, secrets: frozenset[str]) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any(secret in item for secret in secrets):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def resolve(value: Any, data: dict[str, Any], *, deadline: float | None = None) -> Any:
    """Resolve every reference inside a JSON value (dicts and lists included), within
    one render time limit."""
    with render_budget(deadline):
        return _resolve(value, data)


def _resolve(value: Any, data: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return render(value, data)
    if isinstance(value, dict):
        return {key: _resolve(item, data) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, data) for item in value]
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
