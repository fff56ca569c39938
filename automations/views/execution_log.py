"""An execution's step runs laid out as its tree: nested runs indented under their
branch or loop, one collapsible group per loop iteration."""

from __future__ import annotations

import json
from typing import Any

from automations.engine.paths import branch_of, parse_path, run_order
from automations.models import StepRun


def _frames(address: tuple) -> list[tuple]:
    """The loop iterations an address is inside, outermost first (each as the prefix
    ending with its index)."""
    return [
        address[: at + 2]
        for at in range(len(address) - 1)
        if address[at] == "do" and isinstance(address[at + 1], int)
    ]


def log_entries(runs: list[StepRun]) -> list[dict[str, Any]]:
    """Rows for the template, in tree order: {"open": iteration, "depth"} before the
    first run of an iteration, {"close": True} after its last, and {"run": ...} rows."""
    entries: list[dict[str, Any]] = []
    open_frames: list[tuple] = []
    for run in sorted(runs, key=lambda r: run_order(r.path or str(r.position))):
        address = parse_path(run.path or str(run.position))
        frames = _frames(address)
        shared = 0
        while shared < min(len(open_frames), len(frames)) and open_frames[shared] == frames[shared]:
            shared += 1
        for _ in open_frames[shared:]:
            entries.append({"close": True})
        for frame in frames[shared:]:
            entries.append({"open": frame[-1], "depth": sum(isinstance(p, str) for p in frame) - 1})
        open_frames = frames
        output = run.output
        entries.append({
            "run": run,
            "depth": sum(isinstance(part, str) for part in address),
            "branch": branch_of(address),
            "took": output.get("branch") if isinstance(output, dict) and run.connector == "flow"
            and run.action == "if" else "",
            "input": json.dumps(run.input, indent=2, ensure_ascii=False),
            "output": json.dumps(output, indent=2, ensure_ascii=False),
        })  # fmt: skip
    entries.extend({"close": True} for _ in open_frames)
    return entries
