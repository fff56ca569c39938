"""Ready-made automations (the seed use cases) that a user creates in one action.

Each blueprint is a JSON file here: a title, a description, and the automation
documents it creates, in order (sub automations before the automations that call them).
Accounts are left empty for the user to choose.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@cache
def blueprints() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(HERE.glob("*.json")):
        data = json.loads(path.read_text())
        found[path.stem] = {"key": path.stem, **data}
    return found


def blueprint(key: str) -> dict[str, Any] | None:
    return blueprints().get(key)
