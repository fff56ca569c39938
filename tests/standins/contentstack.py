"""A stand-in for the Contentstack Content Management API on 127.0.0.1.

It holds one stack in memory (branches, content types, entries, assets and folders,
locales, environments, webhooks), speaks the published wire format (``api_key`` and
``authorization`` headers, an optional ``branch`` header, ``{"entry": ...}`` bodies,
multipart ``asset[...]`` uploads, errors as ``error_message``/``error_code``/``errors``),
and records every request it receives.
"""

from __future__ import annotations

import itertools
import json
import re
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.standins.server import Received, Reply, StandIn

BLOG_SCHEMA = [
    {"uid": "title", "data_type": "text", "display_name": "Title", "mandatory": True},
    {"uid": "url", "data_type": "text", "display_name": "URL"},
    {"uid": "body", "data_type": "text", "display_name": "Body"},
    {"uid": "featured_image", "data_type": "file", "display_name": "Featured image"},
]


def cs_error(status: int, message: str, code: int, errors: dict | None = None) -> Reply:
    return Reply(status, {"error_message": message, "error_code": code, "errors": errors or {}})


class ContentstackStandIn(StandIn):
    def __init__(
        self, api_key: str = "blt0000000000000001", token: str = "cs-token-0123456789"
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.token = token
        self._uids = (f"blt{n:016x}" for n in itertools.count(0x1000))
        self.branches = {
            "main": {"uid": "main", "source": ""},
            "development": {"uid": "development", "source": "main"},
        }
        self.content_types: dict[str, dict[str, Any]] = {
            "blog_post": {"uid": "blog_post", "title": "Blog post", "schema": BLOG_SCHEMA},
            "author": {"uid": "author", "title": "Author", "schema": BLOG_SCHEMA[:1]},
        }
        # (branch, content type uid) -> {entry uid: entry}
        self.entries: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.assets: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}
        self.folders = {
            "bltfolder00000000001": {
                "uid": "bltfolder00000000001",
                "name": "Blog images",
                "is_dir": True,
            }
        }
        self.locales = [
            {"code": "en-us", "name": "English - United States"},
            {"code": "de-de", "name": "German - Germany"},
        ]
        self.environments = [
            {"uid": "bltenv0000000000001", "name": "production"},
            {"uid": "bltenv0000000000002", "name": "staging"},
        ]
        self.webhooks: dict[str, dict[str, Any]] = {}
        # Every webhook ever created; replies forced on the next creates / deletes; and
        # how long a create takes (to let two requests overlap).
        self.webhooks_created = 0
        self.webhook_create_errors: list[Reply] = []
        self.webhook_delete_errors: list[Reply] = []
        self.webhook_delay = 0.0
        self.published: list[dict[str, Any]] = []
        self.forced: list[Reply] = []
        # Seconds to hold every answer after the request was carried out (a stalled
        # service: the caller times out although the write happened).
        self.stall = 0.0

    @property
    def base_url(self) -> str:
        return self.url

    def add_entry(
        self, content_type: str, title: str, branch: str = "main", **fields: Any
    ) -> dict[str, Any]:
        uid = next(self._uids)
        entry = {
            "uid": uid,
            "title": title,
            "locale": "en-us",
            "_version": 1,
            "tags": [],
            "created_at": f"2026-11-25T10:00:{len(self.entries):02d}.000Z",
            "updated_at": f"2026-11-25T10:00:{len(self.entries):02d}.000Z",
            "ACL": {},
            **fields,
        }
        self.entries.setdefault((branch, content_type), {})[uid] = entry
        return entry

    def entry(self, content_type: str, uid: str, branch: str = "main") -> dict[str, Any]:
        return self.entries[(branch, content_type)][uid]

    # -- routing ----------------------------------------------------------------------

    def handle(self, request: Received) -> Reply:
        if request.path.startswith("/files/"):
            return self._download(request)
        if request.headers.get("api_key") != self.api_key:
            return cs_error(412, "api_key is not valid.", 109, {"api_key": ["is not valid."]})
        if request.headers.get("authorization") != self.token:
            return cs_error(401, "You're not allowed in here unless you're logged in.", 105)
        if self.forced:
            return self.forced.pop(0)
        branch = request.headers.get("branch", "main")
        if branch not in self.branches:
            return cs_error(422, f"Branch '{branch}' does not exist.", 903)
        path, method = request.path, request.method
        routes = [
            ("GET", r"^/v3/stacks/branches$", self._branches),
            ("GET", r"^/v3/content_types$", self._content_types),
            ("GET", r"^/v3/content_types/(?P<ct>[\w-]+)$", self._content_type),
            ("GET", r"^/v3/content_types/(?P<ct>[\w-]+)/entries$", self._entries),
            ("POST", r"^/v3/content_types/(?P<ct>[\w-]+)/entries$", self._create_entry),
            ("GET", r"^/v3/content_types/(?P<ct>[\w-]+)/entries/(?P<uid>\w+)$", self._get_entry),
            ("PUT", r"^/v3/content_types/(?P<ct>[\w-]+)/entries/(?P<uid>\w+)$", self._update_entry),
            (
                "POST",
                r"^/v3/content_types/(?P<ct>[\w-]+)/entries/(?P<uid>\w+)/publish$",
                self._publish,
            ),
            ("GET", r"^/v3/locales$", lambda r, b: Reply(200, {"locales": self.locales})),
            (
                "GET",
                r"^/v3/environments$",
                lambda r, b: Reply(200, {"environments": self.environments}),
            ),
            ("GET", r"^/v3/assets$", self._list_assets),
            ("POST", r"^/v3/assets$", self._upload),
            ("POST", r"^/v3/webhooks$", self._create_webhook),
            ("DELETE", r"^/v3/webhooks/(?P<uid>\w+)$", self._delete_webhook),
        ]
        for verb, pattern, handler in routes:
            match = re.match(pattern, path)
            if verb == method and match:
                reply = handler(request, branch, **match.groupdict())
                reply.delay = reply.delay or self.stall
                return reply
        return cs_error(404, f"Unknown route {method} {path}.", 404)

    # -- reads ------------------------------------------------------------------------

    def _branches(self, request: Received, branch: str) -> Reply:
        return Reply(200, {"branches": list(self.branches.values())})

    def _content_types(self, request: Received, branch: str) -> Reply:
        return Reply(200, {"content_types": list(self.content_types.values())})

    def _content_type(self, request: Received, branch: str, ct: str) -> Reply:
        if ct not in self.content_types:
            return cs_error(422, f"The Content Type '{ct}' was not found. Please try again.", 118)
        return Reply(200, {"content_type": self.content_types[ct]})

    def _entries(self, request: Received, branch: str, ct: str) -> Reply:
        if ct not in self.content_types:
            return cs_error(422, f"The Content Type '{ct}' was not found. Please try again.", 118)
        entries = list(self.entries.get((branch, ct), {}).values())
        query = json.loads(request.query.get("query", ["{}"])[0])
        title = query.get("title")
        if isinstance(title, dict) and "$regex" in title:
            needle = title["$regex"].lower()
            entries = [e for e in entries if needle in e["title"].lower()]
        if request.query.get("desc", [""])[0] == "updated_at":
            entries.sort(key=lambda e: e["updated_at"], reverse=True)
        limit = int(request.query.get("limit", ["100"])[0])
        return Reply(200, {"entries": entries[:limit]})

    def _get_entry(self, request: Received, branch: str, ct: str, uid: str) -> Reply:
        entry = self.entries.get((branch, ct), {}).get(uid)
        if ct not in self.content_types:
            return cs_error(422, f"The Content Type '{ct}' was not found. Please try again.", 118)
        if entry is None:
            return cs_error(
                422, "The requested entry doesn't exist.", 141, {"uid": ["is not valid."]}
            )
        return Reply(200, {"entry": entry})

    def _list_assets(self, request: Received, branch: str) -> Reply:
        query = json.loads(request.query.get("query", ["{}"])[0])
        if query.get("is_dir") is True:
            return Reply(200, {"assets": list(self.folders.values())})
        return Reply(200, {"assets": list(self.assets.values())})

    # -- writes -----------------------------------------------------------------------

    def _body_entry(self, request: Received) -> tuple[dict | None, Reply | None]:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return None, cs_error(422, "Request body must be JSON.", 100)
        try:
            body = request.json()
        except ValueError:
            return None, cs_error(400, "Request body is not valid JSON.", 100)
        if not isinstance(body, dict) or not isinstance(body.get("entry"), dict):
            return None, cs_error(
                422,
                "Bad Request. Please provide the 'entry' key.",
                119,
                {"entry": ["is required."]},
            )
        return body, None

    def _create_entry(self, request: Received, branch: str, ct: str) -> Reply:
        if ct not in self.content_types:
            return cs_error(422, f"The Content Type '{ct}' was not found. Please try again.", 118)
        body, problem = self._body_entry(request)
        if problem:
            return problem
        if not body["entry"].get("title"):
            return cs_error(
                422,
                "Entry creation failed. Please enter valid data.",
                119,
                {"title": ["is required."]},
            )
        entry = self.add_entry(ct, branch=branch, **body["entry"])
        return Reply(201, {"notice": "Entry created successfully.", "entry": entry})

    def _update_entry(self, request: Received, branch: str, ct: str, uid: str) -> Reply:
        found = self._get_entry(request, branch, ct, uid)
        if found.status != 200:
            return found
        body, problem = self._body_entry(request)
        if problem:
            return problem
        entry = self.entries[(branch, ct)][uid]
        for key, value in body["entry"].items():
            if key == "featured_image" and isinstance(value, str) and value not in self.assets:
                return cs_error(422, "Entry update failed.", 119, {key: ["asset does not exist."]})
            entry[key] = value
        entry["_version"] += 1
        answer = dict(entry)
        if request.query.get("include_branch", ["false"])[0] == "true":
            answer["_branch"] = branch
        return Reply(200, {"notice": "Entry updated successfully.", "entry": answer})

    def _publish(self, request: Received, branch: str, ct: str, uid: str) -> Reply:
        found = self._get_entry(request, branch, ct, uid)
        if found.status != 200:
            return found
        body = request.json()
        target = body.get("entry") or {}
        names = {e["name"] for e in self.environments}
        if not target.get("environments") or not set(target["environments"]) <= names:
            return cs_error(
                422, "Please select an environment.", 141, {"environments": ["is not valid."]}
            )
        self.published.append({"uid": uid, **target, "locale": body.get("locale")})
        return Reply(200, {"notice": "The requested action has been performed."})

    def _upload(self, request: Received, branch: str) -> Reply:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return cs_error(422, "Please upload a file (multipart/form-data).", 203)
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + request.body
        )
        fields: dict[str, Any] = {}
        upload = None
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "asset[upload]":
                upload = (
                    part.get_filename(),
                    part.get_content_type(),
                    part.get_payload(decode=True),
                )
            else:
                fields[name] = part.get_payload(decode=True).decode()
        if upload is None:
            return cs_error(422, "Please upload a file.", 203, {"asset[upload]": ["is required."]})
        uid = next(self._uids)
        filename, mime, data = upload
        self.uploads[uid] = data
        asset = {
            "uid": uid,
            "title": fields.get("asset[title]", filename),
            "filename": filename,
            "content_type": mime,
            "file_size": str(len(data)),
            "description": fields.get("asset[description]", ""),
            "parent_uid": fields.get("asset[parent_uid]") or None,
            "tags": [t for t in fields.get("asset[tags]", "").split(",") if t],
            "url": f"{self.url}/files/{uid}/{filename}",
            "_version": 1,
            "created_at": "2026-11-25T10:00:00.000Z",
            "updated_at": "2026-11-25T10:00:00.000Z",
        }
        self.assets[uid] = asset
        return Reply(201, {"notice": "Asset created successfully.", "asset": asset})

    def _download(self, request: Received) -> Reply:
        uid = request.path.split("/")[2]
        if uid not in self.uploads:
            return Reply(404, "not found")
        return Reply(
            200, self.uploads[uid], headers={"Content-Type": self.assets[uid]["content_type"]}
        )

    def _create_webhook(self, request: Received, branch: str) -> Reply:
        if self.webhook_create_errors:
            return self.webhook_create_errors.pop(0)
        body = request.json()
        webhook = body.get("webhook") if isinstance(body, dict) else None
        if (
            not isinstance(webhook, dict)
            or not webhook.get("name")
            or not webhook.get("destinations")
        ):
            return cs_error(
                422,
                "Webhook creation failed.",
                370,
                {"webhook": ["name and destinations are required."]},
            )
        if not webhook.get("channels"):
            return cs_error(422, "Webhook creation failed.", 370, {"channels": ["is required."]})
        with self._lock:
            uid = next(self._uids)
            self.webhooks[uid] = {"uid": uid, **webhook}
            self.webhooks_created += 1
        return Reply(
            201,
            {"notice": "The Webhook was created successfully", "webhook": self.webhooks[uid]},
            delay=self.webhook_delay,
        )

    def _delete_webhook(self, request: Received, branch: str, uid: str) -> Reply:
        if self.webhook_delete_errors:
            return self.webhook_delete_errors.pop(0)
        if self.webhooks.pop(uid, None) is None:
            return cs_error(422, "The requested webhook doesn't exist.", 371)
        return Reply(200, {"notice": "The Webhook was deleted successfully"})
