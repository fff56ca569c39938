"""Contentstack events in: entry and asset webhooks.

On activation the trigger registers a webhook in the stack, pointing at the platform's
public URL and carrying a secret header; on deactivation it removes it. Each delivery is
authenticated by that header (or Basic auth) in constant time, filtered by stack,
branch, content type, environment and event, and deduplicated, since the sender retries.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any, ClassVar

from connectors import fields as f
from connectors.base import (
    ConnectorError,
    EventIgnored,
    InboundEvent,
    RunContext,
    Trigger,
    TriggerRejected,
    TriggerSetup,
)
from connectors.contentstack.client import ContentstackClient, api_path
from connectors.contentstack.fields import BRANCH
from connectors.http.request_trigger import parse_body

SECRET_HEADER = "X-Switchboard-Secret"  # noqa: S105 - a header name
EVENTS = {
    "created": "create",
    "updated": "update",
    "deleted": "delete",
    "published": "publish",
    "unpublished": "unpublish",
}
EVENT_CHOICES = (
    ("created", "Created"),
    ("updated", "Updated"),
    ("deleted", "Deleted"),
    ("published", "Published"),
    ("unpublished", "Unpublished"),
    ("all", "All events"),
)


EVENT = f.Field("event", "Event", type=f.CHOICE, default="created", choices=EVENT_CHOICES)
ENVIRONMENT = f.Field(
    "environment", "Environment", type=f.LOOKUP, lookup="environments", required=False,
    help="For publish events: any environment when empty.", single_line=True,
)  # fmt: skip
HEADER_SECRET = f.Field(
    "header_secret", "Webhook secret", secret=True, required=False,
    help="Sent by Contentstack in the X-Switchboard-Secret header. Made for you when the "
    "webhook is registered automatically.",
)  # fmt: skip


def _authenticated(event: InboundEvent, secret: str) -> bool:
    given = event.headers.get(SECRET_HEADER.lower(), "")
    if given and hmac.compare_digest(given.encode(), secret.encode()):
        return True
    scheme, _, encoded = event.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        _, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(password.encode(), secret.encode())


def _uid(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("uid") or value.get("name")
    return value if isinstance(value, str) else None


class ContentstackTrigger(Trigger):
    module: ClassVar[str]
    channel_prefix: ClassVar[str]
    delivery = "contentstack"
    needs_account = True
    generated_secrets = ("header_secret",)

    def accept(
        self, event: InboundEvent, config: dict, secrets: dict, credentials: dict
    ) -> dict[str, Any]:
        if event.method != "POST":
            raise TriggerRejected(405, "Contentstack delivers webhooks with POST.")
        secret = secrets.get("header_secret")
        if not secret or not _authenticated(event, str(secret)):
            raise TriggerRejected(
                401, f"The {SECRET_HEADER} header (or Basic auth) is missing or wrong."
            )
        payload = parse_body(event)
        if not isinstance(payload, dict):
            raise TriggerRejected(
                400, "The body is not a Contentstack webhook payload (a JSON object)."
            )
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        if payload.get("module") != self.module:
            raise EventIgnored(
                f"This trigger takes {self.module} events, not {payload.get('module')!r}."
            )
        if credentials.get("api_key") and payload.get("api_key") != credentials["api_key"]:
            raise EventIgnored("The event is from another stack.")
        name = str(payload.get("event") or "").split(".")[0]
        wanted = config.get("event", "created")
        if wanted != "all" and name != EVENTS.get(wanted):
            raise EventIgnored(
                f"The event is {name!r}; this trigger waits for {EVENTS.get(wanted)!r}."
            )
        branch = _uid(data.get("branch")) or "main"
        if branch != (config.get("branch") or "main"):
            raise EventIgnored(f"The event is on branch {branch!r}.")
        content_type = _uid(data.get("content_type"))
        if config.get("content_type") and content_type != config["content_type"]:
            raise EventIgnored(f"The event is for content type {content_type!r}.")
        environment = data.get("environment") if isinstance(data.get("environment"), dict) else {}
        names = {environment.get("name"), environment.get("uid")} - {None}
        if config.get("environment") and names and config["environment"] not in names:
            label = environment.get("name") or environment.get("uid")
            raise EventIgnored(f"The event is for environment {label!r}.")
        return {
            "event": name,
            "module": self.module,
            self.module: data.get(self.module) or {},
            "content_type": data.get("content_type") or {},
            "branch": data.get("branch") or {"uid": branch},
            "environment": data.get("environment"),
            "locale": data.get("locale") or (data.get(self.module) or {}).get("locale"),
            "api_key": payload.get("api_key"),
            "triggered_at": payload.get("triggered_at"),
        }

    def delivery_key(self, output: dict[str, Any]) -> str | None:
        item = output.get(self.module) or {}
        return ":".join(
            str(part)
            for part in (
                output["event"],
                item.get("uid"),
                item.get("_version"),
                output.get("triggered_at"),
            )
        )

    def scope(self, config: dict[str, Any]) -> str:
        """The channel prefix of this trigger's events, e.g. content_types.blog_post.entries."""
        raise NotImplementedError

    def channels(self, config: dict[str, Any]) -> list[str]:
        chosen = config.get("event", "created")
        names = list(EVENTS) if chosen == "all" else [chosen]
        scope = self.scope(config)
        env = (
            f"environments.{config['environment']}" if config.get("environment") else "environments"
        )
        return [
            f"{scope}.{env}.{EVENTS[name]}.success"
            if EVENTS[name] in ("publish", "unpublish")
            else f"{scope}.{EVENTS[name]}"
            for name in names
        ]

    def activate(self, setup: TriggerSetup) -> dict[str, Any]:
        if not setup.hook_url:
            return {"manual": True, "header": SECRET_HEADER}
        client = ContentstackClient(setup.credentials)
        body = {
            "webhook": {
                "name": f"Switchboard: {setup.automation_name}"[:100],
                "destinations": [
                    {
                        "target_url": setup.hook_url,
                        "http_basic_auth": "",
                        "http_basic_password": "",
                        "custom_header": [
                            {"header_name": SECRET_HEADER, "value": setup.secrets["header_secret"]}
                        ],
                    }
                ],
                "channels": self.channels(setup.config),
                "branches": [setup.config.get("branch") or "main"],
                "retry_policy": "manual",
                "disabled": False,
                "concise_payload": False,
            }
        }
        try:
            webhook = client.request("POST", "/webhooks", json=body)["webhook"]
        finally:
            client.close()
        return {"webhook_uid": webhook["uid"], "header": SECRET_HEADER}

    def deactivate(self, setup: TriggerSetup, state: dict[str, Any]) -> None:
        uid = state.get("webhook_uid")
        if not uid:
            return
        client = ContentstackClient(setup.credentials)
        try:
            client.request("DELETE", api_path("/webhooks/{uid}", uid=uid))
        except ConnectorError as exc:
            if "371" not in exc.message and "doesn't exist" not in exc.message:
                raise
        finally:
            client.close()


class EntryTrigger(ContentstackTrigger):
    key = "entry"
    label = "Entry"
    description = "Runs when an entry is created, updated, deleted, published or unpublished."
    module = "entry"
    fields = (
        EVENT,
        f.Field(
            "content_type", "Content type", type=f.LOOKUP, lookup="content_types",
            required=False, depends_on=("branch",), help="Any content type when empty.",
            single_line=True,
        ),
        ENVIRONMENT,
        BRANCH,
        HEADER_SECRET,
    )  # fmt: skip

    def scope(self, config: dict[str, Any]) -> str:
        if config.get("content_type"):
            return f"content_types.{config['content_type']}.entries"
        return "content_types.entries"

    def sample(self, config: dict[str, Any], context: RunContext) -> dict[str, Any]:
        client = ContentstackClient.for_context(context)
        branch = config.get("branch") or "main"
        try:
            content_type = config.get("content_type")
            if not content_type:
                types = client.get("/content_types", branch=branch)["content_types"]
                if not types:
                    raise ConnectorError("The stack has no content types yet.")
                content_type = types[0]["uid"]
            found = client.get(
                api_path("/content_types/{content_type}/entries", content_type=content_type),
                params={"limit": 1, "desc": "updated_at"},
                branch=branch,
            )["entries"]
            if not found:
                raise ConnectorError(
                    f"There are no entries of {content_type!r} yet: create one and test again."
                )
            schema = client.get(
                api_path("/content_types/{content_type}", content_type=content_type),
                branch=branch,
            )["content_type"]
        finally:
            client.close()
        event = config.get("event", "created")
        return {
            "event": EVENTS.get(event, "create"),
            "module": "entry",
            "entry": found[0],
            "content_type": {"uid": schema["uid"], "title": schema.get("title")},
            "branch": {"uid": branch},
            "environment": None,
            "locale": found[0].get("locale"),
            "api_key": context.credentials.get("api_key"),
            "triggered_at": found[0].get("updated_at"),
        }


class AssetTrigger(ContentstackTrigger):
    key = "asset"
    label = "Asset"
    description = "Runs when an asset is created, updated, deleted, published or unpublished."
    module = "asset"
    fields = (EVENT, ENVIRONMENT, BRANCH, HEADER_SECRET)

    def scope(self, config: dict[str, Any]) -> str:
        return "assets"

    def sample(self, config: dict[str, Any], context: RunContext) -> dict[str, Any]:
        client = ContentstackClient.for_context(context)
        branch = config.get("branch") or "main"
        try:
            assets = client.get(
                "/assets", params={"limit": 1, "desc": "updated_at"}, branch=branch
            )["assets"]
        finally:
            client.close()
        if not assets:
            raise ConnectorError("The stack has no assets yet: upload one and test again.")
        return {
            "event": EVENTS.get(config.get("event", "created"), "create"),
            "module": "asset",
            "asset": assets[0],
            "content_type": {},
            "branch": {"uid": branch},
            "environment": None,
            "locale": None,
            "api_key": context.credentials.get("api_key"),
            "triggered_at": assets[0].get("updated_at"),
        }
