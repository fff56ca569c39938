"""Suggested Data Elements: every path of the trigger's and earlier steps' sample
outputs, as references a field can hold."""

from __future__ import annotations

from typing import Any

MAX_ITEMS = 500
MAX_LIST_ITEMS = 3
# The kind of a value in words a user knows (never a Python type name).
_KINDS = {str: "text", bool: "true or false", int: "number", float: "number", type(None): "empty"}


def _walk(value: Any, path: str, out: list[dict[str, Any]]) -> None:
    if len(out) >= MAX_ITEMS:
        return
    if isinstance(value, dict):
        if path:
            out.append({"reference": f"{{{{ {path} }}}}", "path": path, "type": "object"})
        for key, item in value.items():
            if isinstance(key, str) and key.isidentifier():
                _walk(item, f"{path}.{key}" if path else key, out)
    elif isinstance(value, list):
        out.append({"reference": f"{{{{ {path} }}}}", "path": path, "type": "array"})
        for index, item in enumerate(value[:MAX_LIST_ITEMS]):
            _walk(item, f"{path}.{index}", out)
    else:
        example = value if not isinstance(value, str) or len(value) <= 80 else value[:77] + "..."
        kind = _KINDS.get(type(value), "value")
        out.append(
            {"reference": f"{{{{ {path} }}}}", "path": path, "type": kind, "example": example}
        )


def suggestions(
    trigger_sample: Any,
    earlier: list[tuple[str, str, Any]],
    variables: list[tuple[str, bool, str]] = (),
    loop: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """``earlier`` holds (step key, step label, sample output) of the steps before,
    ``variables`` (name, secret, value) of the team's variables; a secret's value is
    never an example. ``loop`` is the first iteration's ``{"item", "index"}`` for a step
    inside a loop (its item None when the samples do not tell it)."""
    out: list[dict[str, Any]] = []
    if trigger_sample is not None:
        group: list[dict[str, Any]] = []
        _walk(trigger_sample, "trigger", group)
        out.extend({**row, "source": "Trigger"} for row in group)
    for key, label, sample in earlier:
        if sample is None:
            continue
        group = []
        _walk(sample, f"steps.{key}", group)
        out.extend({**row, "source": label} for row in group)
    if loop is not None:
        group = []
        for key in ("item", "index"):
            if loop.get(key) is None:
                reference = f"{{{{ loop.{key} }}}}"
                group.append({"reference": reference, "path": f"loop.{key}", "type": "value"})
            else:
                _walk(loop[key], f"loop.{key}", group)
        out.extend({**row, "source": "Loop"} for row in group)
    for name, secret, value in variables:
        row = {"reference": f"{{{{ vars.{name} }}}}", "path": f"vars.{name}", "type": "text"}
        if secret:
            row["secret"] = True
        else:
            row["example"] = value if len(value) <= 80 else value[:77] + "..."
        out.append({**row, "source": "Team variables"})
    return out[:MAX_ITEMS]
