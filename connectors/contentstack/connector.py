from __future__ import annotations

from typing import Any

from connectors import fields as f
from connectors.base import Connector, ConnectorError
from connectors.contentstack import lookups
from connectors.contentstack.actions import (
    CreateAssetAction,
    CreateEntryAction,
    GetEntryAction,
    PublishEntryAction,
    UpdateEntryAction,
)
from connectors.contentstack.client import REGIONS, ContentstackClient
from connectors.contentstack.triggers import AssetTrigger, EntryTrigger


class ContentstackConnector(Connector):
    key = "contentstack"
    label = "Contentstack"
    description = "Entry and asset events in; assets and entries out."
    account_fields = (
        f.Field(
            "region",
            "Region",
            type=f.CHOICE,
            default="na",
            choices=tuple((key, label) for key, (label, _) in REGIONS.items()),
            routes_secrets=True,
        ),
        f.Field(
            "base_url",
            "Custom base URL",
            required=False,
            routes_secrets=True,
            help="For the custom region: scheme, host and port, e.g. https://cms.example.com",
            single_line=True,
        ),
        f.Field("api_key", "Stack API key", single_line=True),
        f.Field("management_token", "Management token", secret=True, single_line=True),
    )
    triggers = (EntryTrigger, AssetTrigger)
    actions = (
        CreateAssetAction,
        UpdateEntryAction,
        GetEntryAction,
        CreateEntryAction,
        PublishEntryAction,
    )

    def check_account(self, credentials: dict[str, Any]) -> None:
        client = ContentstackClient(credentials, timeout=15.0)
        try:
            client.get("/content_types", params={"limit": 1})
        except ConnectorError as exc:
            raise ConnectorError(exc.message, field=exc.field or "base_url") from None
        finally:
            client.close()

    def lookup(
        self, name: str, credentials: dict[str, Any], params: dict[str, Any]
    ) -> list[dict[str, str]]:
        return lookups.lookup(name, credentials, params)
