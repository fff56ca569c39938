"""The connector catalog as data: what the API's /connectors/ and the wizard show."""

from __future__ import annotations

from typing import Any

from connectors import registry
from connectors.base import Operation


def _operation(op: type[Operation]) -> dict[str, Any]:
    return {
        "key": op.key,
        "label": op.label,
        "description": op.description,
        "needs_account": op.needs_account,
        "fields": [f.describe() for f in op.fields],
    }


def catalog() -> list[dict[str, Any]]:
    return [
        {
            "key": connector.key,
            "label": connector.label,
            "description": connector.description,
            "account_fields": [f.describe() for f in connector.account_fields],
            "triggers": [_operation(t) for t in connector.triggers],
            "actions": [_operation(a) for a in connector.actions],
        }
        for connector in registry.all_connectors()
    ]
