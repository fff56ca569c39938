"""A connector for tests of the account machinery: one secret, one setting, and a check
that refuses a known-bad key without any network."""

from __future__ import annotations

from connectors import fields as f
from connectors.base import Connector, ConnectorError


class VaultConnector(Connector):
    key = "vault"
    label = "Vault"
    account_fields = (
        f.Field("api_key", "API key", secret=True),
        f.Field("region", "Region", type=f.CHOICE, choices=(("eu", "Europe"), ("us", "US"))),
    )

    def check_account(self, credentials):
        if credentials["api_key"] == "rejected-key":
            raise ConnectorError("The service rejected this API key.", field="api_key")
