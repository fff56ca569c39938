"""Translate Entry: the text fields of a Contentstack entry, every other field unchanged."""

from __future__ import annotations

import json
from typing import Any

from connectors import fields as f
from connectors.base import Action, ConnectorError, RunContext
from connectors.chatgpt.chat import MODEL, complete

# Entry keys that are never prose, whatever their type.
SYSTEM_KEYS = {
    "uid", "locale", "created_by", "updated_by", "created_at", "updated_at", "ACL",
    "publish_details", "tags", "url", "_version", "_in_progress", "_metadata", "_content_type_uid",
    "_branch", "_workflow", "api_key", "content_type_uid", "href", "filename", "file_size",
    "content_type", "parent_uid",
}  # fmt: skip


def _text_paths_by_schema(schema: list[dict], entry: Any, prefix: tuple) -> list[tuple]:
    paths: list[tuple] = []
    if not isinstance(entry, dict):
        return paths
    for field in schema:
        uid, kind = field.get("uid"), field.get("data_type")
        if uid not in entry or uid in SYSTEM_KEYS:
            continue
        value = entry[uid]
        if kind == "text":
            if isinstance(value, str) and value.strip():
                paths.append((*prefix, uid))
            elif isinstance(value, list):
                paths.extend(
                    (*prefix, uid, i)
                    for i, v in enumerate(value)
                    if isinstance(v, str) and v.strip()
                )
        elif kind in ("group", "global_field") and field.get("schema"):
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                where = (*prefix, uid, i) if isinstance(value, list) else (*prefix, uid)
                paths.extend(_text_paths_by_schema(field["schema"], item, where))
    return paths


def _text_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Without a schema: every non-empty string that is not under a system key."""
    paths: list[tuple] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SYSTEM_KEYS or key.startswith("_"):
                continue
            paths.extend(_text_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths.extend(_text_paths(item, (*prefix, index)))
    elif (
        isinstance(value, str)
        and value.strip()
        and not value.startswith(("http://", "https://", "blt"))
    ):
        paths.append(prefix)
    return paths


def _get(entry: Any, path: tuple) -> Any:
    for key in path:
        entry = entry[key]
    return entry


def _set(entry: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        entry = entry[key]
    entry[path[-1]] = value


class TranslateEntryAction(Action):
    key = "translate_entry"
    # Returns the translated entry; writing it is another step's doing.
    side_effects = False
    idempotent = True
    label = "Translate Entry"
    description = "Translate an entry's text fields; everything else stays as it is."
    needs_account = True
    fields = (
        MODEL,
        f.Field("entry", "Entry", type=f.JSON, object_only=True,
                help="The entry's JSON, e.g. {{ trigger.entry }}."),
        f.Field("language", "Language", help="The language to translate into, e.g. German."),
        f.Field("content_type_schema", "Content type schema", type=f.JSON, required=False,
                help="The content type's schema, so only its text fields are translated."),
    )  # fmt: skip

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        entry = json.loads(json.dumps(params["entry"]))
        schema = params.get("content_type_schema")
        if isinstance(schema, dict):
            schema = schema.get("schema", [])
        if schema is not None and not isinstance(schema, list):
            raise ConnectorError(
                "The content type schema must be a list of fields.", field="content_type_schema"
            )
        paths = _text_paths_by_schema(schema, entry, ()) if schema else _text_paths(entry)
        if not paths:
            return {"entry": entry, "translated_fields": [], "usage": {}}
        source = {str(i): _get(entry, path) for i, path in enumerate(paths)}
        messages = [
            {"role": "system", "content": (
                "Translate every value of the JSON object the user sends into "
                f"{params['language']}. Answer with a JSON object with exactly the same "
                "keys. Keep markup, placeholders and line breaks as they are.")},
            {"role": "user", "content": json.dumps(source, ensure_ascii=False)},
        ]  # fmt: skip
        answer = complete(
            context, params["model"], messages, response_format={"type": "json_object"}
        )
        try:
            translated = json.loads(answer["content"] or "")
        except json.JSONDecodeError:
            raise ConnectorError(
                "ChatGPT's translation was not valid JSON.", retryable=True
            ) from None
        if not isinstance(translated, dict) or set(translated) != set(source):
            raise ConnectorError(
                "ChatGPT's translation did not keep the entry's fields.", retryable=True
            )
        for i, path in enumerate(paths):
            _set(entry, path, str(translated[str(i)]))
        return {
            "entry": entry,
            "translated_fields": [".".join(str(p) for p in path) for path in paths],
            "usage": answer["usage"],
        }
