"""Position paths: where a run is in an automation's step tree.

A path is a tuple: ``(2,)`` is the third top-level step; ``(2, "then", 0)`` the first
step of its then-branch; ``(2, "do", 3, 0)`` the first step of its loop body in
iteration 3. As text (``StepRun.path``, ``Execution.resume_path``) the parts are joined
with dots: ``2.do.3.0``. Paths compare in the order the steps run (a holder's own row is
written after the steps it holds, so no holder is ever taken for finished early).
"""

from __future__ import annotations

Address = tuple[int | str, ...]
# The nested lists of a step, in the order they are shown.
LISTS = {"then": 0, "else": 1, "do": 2}


def path_text(address: Address) -> str:
    return ".".join(str(part) for part in address)


def parse_path(text: str) -> Address:
    if not text:
        return ()
    return tuple(int(part) if part.isdigit() else part for part in text.split("."))


def iteration_of(address: Address) -> int | None:
    """The index of the innermost loop iteration the address is in, or None."""
    for at in range(len(address) - 2, 0, -1):
        if address[at] == "do" and isinstance(address[at + 1], int):
            return address[at + 1]
    return None


def _key(address: Address) -> tuple:
    # Numbers and names never meet at one level of one run's paths; keyed anyway, so
    # that comparing any two paths is defined.
    return tuple(
        (0, part, "") if isinstance(part, int) else (1, LISTS.get(part, len(LISTS)), part)
        for part in address
    )


def not_after(address: Address, limit: Address) -> bool:
    """Whether ``address`` runs no later than ``limit`` (or is ``limit``)."""
    return _key(address) <= _key(limit)


def run_order(text: str) -> tuple:
    """A sort key putting the step runs of an execution in the order of its tree."""
    return _key(parse_path(text))


def branch_of(address: Address) -> str:
    """The branch (then, else) the innermost of whose steps the address is, or ""."""
    names = [part for part in address if part in ("then", "else")]
    return names[-1] if names else ""
