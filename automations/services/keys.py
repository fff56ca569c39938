"""Step keys: derived from step names, and renamed together with every reference to
them when a step's name changes (if the user asks)."""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from automations import documents
from automations.blueprints import blueprints
from automations.models import Automation, Step
from automations.services.editing import automation_update

# Paths under steps/ in the wizard's URLs that are not steps.
RESERVED_KEYS = {"new", "reorder"}


def step_key_for(automation: Automation, name: str, fallback: str, *, own: str = "") -> str:
    """A step's key from its name (``Translate`` -> ``translate``), unique in the
    automation (``own``, the step's present key, does not count as taken)."""
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not base or not base[0].isalpha() or base in RESERVED_KEYS:
        base = fallback
    base = base[:40]
    taken = set(automation.steps.values_list("key", flat=True)) - {own}
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _rewrite(value: Any, old: str, new: str) -> Any:
    """``steps.<old>`` -> ``steps.<new>`` in every string of a config (not
    ``steps.<old>_more``, another step)."""
    pattern = re.compile(r"(?<=\bsteps\.)" + re.escape(old) + r"(?![A-Za-z0-9_])")
    return json.loads(pattern.sub(new, json.dumps(value)))


def automation_update_renaming_step(
    *, automation: Automation, steps: list[dict[str, Any]], old: str, new: str, actor=None
) -> Automation:
    """Save ``steps`` with the step ``old`` renamed to ``new`` and the references to it
    in the other steps updated; checked like any save (nothing changes if it fails).
    The step keeps its row, so its sample and secrets stay."""
    if old == new:
        return automation_update(
            automation=automation, data={"steps": steps}, partial=True, actor=actor
        )
    if new in _keys(steps):
        raise ValidationError({"steps": f"another step already has the key {new!r}"})
    renamed = _renamed(steps, old, new)
    with transaction.atomic():
        Step.objects.filter(automation=automation, key=old).update(key=new)
        return automation_update(
            automation=automation, data={"steps": renamed}, partial=True, actor=actor
        )


def _keys(steps: list[dict[str, Any]]) -> set[str]:
    """Every key of the tree, the steps inside branches and loops included."""
    found: set[str] = set()
    for step in steps:
        found.add(step["key"])
        for held in documents.LISTS:
            found |= _keys(step.get(held) or [])
    return found


def _renamed(steps: list[dict[str, Any]], old: str, new: str) -> list[dict[str, Any]]:
    return [
        {
            **step,
            "key": new if step["key"] == old else step["key"],
            "config": _rewrite(step.get("config") or {}, old, new),
            **{held: _renamed(step[held], old, new) for held in documents.LISTS if held in step},
        }
        for step in steps
    ]


def help_keys(automation: Automation, before: str | None) -> dict[str, str]:
    """The templates' example step keys (``steps.choose`` in a help text) mapped to the
    keys of this automation's earlier steps that run the same action, so help texts
    name this automation's steps."""
    by_action = {}
    for step in automation.steps.order_by("position", "pk"):
        if step.key == before:
            break
        by_action[(step.connector, step.action)] = step.key
    mapping = {}
    for found in blueprints().values():
        for document in found["documents"]:
            for step in document["steps"]:
                key = by_action.get((step["connector"], step["action"]))
                if key and key != step["key"]:
                    mapping.setdefault(step["key"], key)
    return mapping
