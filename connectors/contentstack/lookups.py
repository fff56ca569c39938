"""Live choices from the stack: branches, content types, entries, locales, environments
and asset folders. The branch narrows content types; the content type narrows entries."""

from __future__ import annotations

import json
import re
from typing import Any

from connectors.base import ConnectorError
from connectors.contentstack.client import ContentstackClient, api_path


def _choices(rows: list[dict], value: str, label: str) -> list[dict[str, str]]:
    return [
        {"value": str(row.get(value)), "label": str(row.get(label) or row.get(value))}
        for row in rows
    ]


def lookup(name: str, credentials: dict[str, Any], params: dict[str, Any]) -> list[dict[str, str]]:
    client = ContentstackClient(credentials)
    branch = params.get("branch") or "main"
    try:
        if name == "branches":
            return _choices(client.get("/stacks/branches")["branches"], "uid", "uid")
        if name == "content_types":
            rows = client.get("/content_types", branch=branch)["content_types"]
            return _choices(rows, "uid", "title")
        if name == "entries":
            content_type = params.get("content_type")
            if not content_type:
                raise ConnectorError("Choose a content type first.", field="content_type")
            query: dict[str, Any] = {}
            if params.get("q"):
                query["title"] = {"$regex": re.escape(params["q"]), "$options": "i"}
            rows = client.get(
                api_path("/content_types/{content_type}/entries", content_type=content_type),
                params={"query": json.dumps(query), "limit": 50, "only[BASE][]": "title"},
                branch=branch,
            )["entries"]
            return _choices(rows, "uid", "title")
        if name == "locales":
            return _choices(client.get("/locales", branch=branch)["locales"], "code", "name")
        if name == "environments":
            return _choices(
                client.get("/environments", branch=branch)["environments"], "name", "name"
            )
        if name == "asset_folders":
            rows = client.get(
                "/assets",
                params={"include_folders": "true", "query": json.dumps({"is_dir": True})},
                branch=branch,
            )["assets"]
            return _choices(rows, "uid", "name")
    finally:
        client.close()
    raise ConnectorError(f"Unknown lookup {name!r}.")
