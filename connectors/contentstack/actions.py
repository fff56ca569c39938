"""Contentstack Management actions: assets and entries out."""

from __future__ import annotations

import mimetypes
from typing import Any

from connectors import fields as f
from connectors.base import Action, ConnectorError, RunContext
from connectors.contentstack.client import ContentstackClient, api_path
from connectors.contentstack.fields import (
    BRANCH,
    CONTENT_TYPE,
    ENTRY,
    ENTRY_DATA,
    INCLUDE_BRANCH,
    LOCALE,
)
from connectors.http.request_action import raise_for_status
from connectors.http_client import fetch

MAX_ASSET_BYTES = 25 * 1024 * 1024
DOWNLOAD_TIMEOUT = 60.0


def _not_found(exc: ConnectorError, content_type: str, entry: str | None = None) -> ConnectorError:
    """Contentstack's 'does not exist' errors, with the uid that was not found."""
    if "(error code 118)" in exc.message:
        return ConnectorError(
            f"Content type {content_type!r} was not found. {exc.message}", field="content_type"
        )
    if "(error code 141)" in exc.message and entry:
        return ConnectorError(
            f"Entry {entry!r} was not found in content type {content_type!r}. {exc.message}",
            field="entry",
        )
    return exc


def _entry_body(data: dict[str, Any]) -> dict[str, Any]:
    # Accept the fields alone or the API's own {"entry": {...}} envelope.
    return data["entry"] if set(data) == {"entry"} and isinstance(data["entry"], dict) else data


def _entry_path(params: dict[str, Any]) -> str:
    return api_path(
        "/content_types/{content_type}/entries/{entry}",
        content_type=params["content_type"],
        entry=params["entry"],
    )


class _EntryAction(Action):
    needs_account = True

    def call(
        self, context: RunContext, method: str, params: dict[str, Any], path: str, **kwargs: Any
    ) -> dict:
        client = ContentstackClient.for_context(context)
        query = {}
        if params.get("locale"):
            query["locale"] = params["locale"]
        if params.get("include_branch"):
            query["include_branch"] = "true"
        try:
            return client.request(
                method, path, params=query or None, branch=params.get("branch") or None, **kwargs
            )
        except ConnectorError as exc:
            raise _not_found(exc, params["content_type"], params.get("entry")) from None
        finally:
            client.close()


class GetEntryAction(_EntryAction):
    key = "get_entry"
    side_effects = False
    idempotent = True
    label = "Get an Entry"
    fields = (BRANCH, CONTENT_TYPE, ENTRY, LOCALE, INCLUDE_BRANCH)

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        return self.call(context, "GET", params, _entry_path(params))["entry"]


class UpdateEntryAction(_EntryAction):
    key = "update_entry"
    side_effects = True
    idempotent = True  # a PUT of the same fields
    label = "Update an Entry"
    description = "Set fields of an entry; a file field takes an asset uid."
    fields = (BRANCH, CONTENT_TYPE, ENTRY, ENTRY_DATA, LOCALE, INCLUDE_BRANCH)

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        body = {"entry": _entry_body(params["entry_data"])}
        return self.call(context, "PUT", params, _entry_path(params), json=body)["entry"]


class CreateEntryAction(_EntryAction):
    key = "create_entry"
    side_effects = True
    idempotent = False  # each POST makes another entry
    label = "Create an Entry"
    fields = (BRANCH, CONTENT_TYPE, ENTRY_DATA, LOCALE)

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        content_type = params["content_type"]
        path = api_path("/content_types/{content_type}/entries", content_type=content_type)
        body = {"entry": _entry_body(params["entry_data"])}
        return self.call(context, "POST", params, path, json=body)["entry"]


class PublishEntryAction(_EntryAction):
    key = "publish_entry"
    side_effects = True
    idempotent = True  # publishing the same version again changes nothing
    label = "Publish an Entry"
    fields = (
        BRANCH,
        CONTENT_TYPE,
        ENTRY,
        f.Field("environments", "Environments", type=f.JSON, help='Names, e.g. ["production"].'),
        f.Field("locales", "Locales", type=f.JSON, required=False, help='Codes, e.g. ["en-us"].'),
        LOCALE,
    )

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        environments = params["environments"]
        if isinstance(environments, str):
            environments = [environments]
        if not isinstance(environments, list) or not all(isinstance(e, str) for e in environments):
            raise ConnectorError("Environments must be a list of names.", field="environments")
        locales = params.get("locales") or [params.get("locale") or "en-us"]
        body = {"entry": {"environments": environments, "locales": locales}, "locale": locales[0]}
        path = _entry_path(params) + "/publish"
        answer = self.call(context, "POST", {**params, "locale": None}, path, json=body)
        return {"notice": answer.get("notice"), "environments": environments, "locales": locales}


def _download(url: str, context: RunContext) -> tuple[bytes, str]:
    """The file at ``url``: one of ours from storage, anything else through the guard."""
    if context.read_file is not None:
        local = context.read_file(url)
        if local is not None:
            return local
    response = fetch(
        "GET", url, timeout=context.remaining(DOWNLOAD_TIMEOUT), max_bytes=MAX_ASSET_BYTES
    )
    host = url.split("/")[2] if "://" in url else url
    raise_for_status(response.status_code, host, "", response.headers.get("Retry-After"))
    return response.content, response.headers.get("Content-Type", "")


def _check_type(file_name: str, served: str) -> str:
    expected, _ = mimetypes.guess_type(file_name)
    if expected is None:
        raise ConnectorError(
            f"The file name {file_name!r} has no known extension (.png, .jpg, .pdf, ...).",
            field="file_name",
        )
    served = served.split(";")[0].strip().lower()
    if (
        served
        and served not in ("application/octet-stream", "binary/octet-stream")
        and served != expected
    ):
        raise ConnectorError(
            f"The URL serves {served}, but the file name {file_name!r} says {expected}.",
            field="file_name",
        )
    return expected


class CreateAssetAction(Action):
    key = "create_asset"
    side_effects = True
    idempotent = False  # each upload makes another asset
    label = "Create an Asset"
    description = "Download a file from a URL and upload it to the stack's assets."
    needs_account = True
    fields = (
        f.Field("title", "Title"),
        f.Field(
            "file_name", "File name", help="e.g. vacation.png: its extension must match the file."
        ),
        f.Field("url", "Input URL", help="The file's URL, e.g. {{ steps.image.url }}."),
        f.Field("description", "Description", type=f.LONG_TEXT, required=False),
        f.Field("folder", "Folder", type=f.LOOKUP, lookup="asset_folders", required=False),
        f.Field("tags", "Tags", required=False, help="Comma-separated."),
        BRANCH,
    )

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        url = params["url"]
        if not url.startswith(("https://", "http://")):
            raise ConnectorError(
                f"The input URL must start with https://, not {url[:40]!r}.", field="url"
            )
        content, served = _download(url, context)
        if not content:
            raise ConnectorError("The URL answered with an empty file.", field="url")
        mime = _check_type(params["file_name"], served)
        data = {"asset[title]": params["title"]}
        for key, value in (
            ("description", params.get("description")),
            ("parent_uid", params.get("folder")),
            ("tags", params.get("tags")),
        ):
            if value:
                data[f"asset[{key}]"] = value
        client = ContentstackClient.for_context(context)
        try:
            answer = client.request(
                "POST",
                "/assets",
                data=data,
                files={"asset[upload]": (params["file_name"], content, mime)},
                branch=params.get("branch") or None,
            )
        finally:
            client.close()
        return answer["asset"]
