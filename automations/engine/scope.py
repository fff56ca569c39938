"""What a step sees when it runs: the earlier steps it may name and the loops around it.

The wizard's Suggested Data Elements and Test Action ask this of a place in the step
tree. It follows the rule ``clean_definition`` enforces on references (a step sees the
steps that run before it in its own list and in the lists around it, and after a
branch the steps inside it; a loop body's steps only inside that body), read here from
the saved tree rather than checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from automations.engine.references import BadReference, resolve
from automations.engine.runner import nested_of
from automations.models import Step
from connectors import registry


@dataclass
class Scope:
    # The step at this place (None for the end of a list, where a new step goes).
    step: Step | None
    # The steps it may reference, in the order they run.
    earlier: list[Step] = field(default_factory=list)
    # The for_each steps around it, outermost first.
    loops: list[Step] = field(default_factory=list)


def _control(step: Step) -> str:
    try:
        return registry.get(step.connector).action(step.action).control
    except (registry.UnknownConnector, KeyError):
        return ""


def _chain(steps: list[Step], key: str) -> list[tuple[list[Step], int]] | None:
    """The lists from the top down to the step ``key``, with its holder's index in each."""
    for index, step in enumerate(steps):
        if step.key == key:
            return [(steps, index)]
        for children in nested_of(step).values():
            found = _chain(children, key)
            if found:
                return [(steps, index), *found]
    return None


def _visible_after(step: Step) -> list[Step]:
    """A step and, if it is a branch, the steps of its lists outside loops."""
    found = [step]
    if _control(step) == "branch":
        for children in nested_of(step).values():
            for child in children:
                found.extend(_visible_after(child))
    return found


def step_scope(
    tree: list[Step], *, key: str | None = None, parent: str | None = None, branch: str = ""
) -> Scope | None:
    """The scope of the step ``key``, or of a new step at the end of the list ``branch``
    of the step ``parent`` (or of the top level when neither is given); None when the
    tree holds no such step."""
    if key:
        chain = _chain(tree, key)
    elif parent:
        chain = _chain(tree, parent)
        if chain is not None:
            holder_list, index = chain[-1]
            children = nested_of(holder_list[index]).get(branch, [])
            chain.append((children, len(children)))
    else:
        chain = [(tree, len(tree))]
    if chain is None:
        return None
    steps, index = chain[-1]
    scope = Scope(step=steps[index] if index < len(steps) else None)
    for level, (steps, index) in enumerate(chain):
        for before in steps[:index]:
            scope.earlier.extend(_visible_after(before))
        if level < len(chain) - 1 and _control(steps[index]) == "loop":
            scope.loops.append(steps[index])
    return scope


def first_iteration(loops: list[Step], data: dict[str, Any]) -> dict[str, Any] | None:
    """``loop`` as the innermost loop's first iteration sees it, its items resolved from
    the samples in ``data``; None when a list cannot be resolved or is empty."""
    loop = None
    for holder in loops:
        scope = {**data, "loop": loop} if loop is not None else data
        try:
            items = resolve(holder.config.get("items"), scope)
        except BadReference:
            return None
        if not isinstance(items, list) or not items:
            return None
        loop = {"item": items[0], "index": 0}
    return loop
