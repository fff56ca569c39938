"""Every connector, by key, as a dotted path imported on first use.

Adding a connector is one package and one line here; no engine code changes.
"""

from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from connectors.base import Connector

CONNECTORS: dict[str, str] = {
    "http": "connectors.http.connector.HttpConnector",
    "response": "connectors.response.connector.ResponseConnector",
    "chatgpt": "connectors.chatgpt.connector.ChatGPTConnector",
    "sub_automation": "connectors.sub_automation.connector.SubAutomationConnector",
    "contentstack": "connectors.contentstack.connector.ContentstackConnector",
    "schedule": "connectors.schedule.connector.ScheduleConnector",
    "flow": "connectors.flow.connector.FlowConnector",
}


class UnknownConnector(LookupError):
    pass


@cache
def get(key: str) -> Connector:
    try:
        path = CONNECTORS[key]
    except KeyError:
        raise UnknownConnector(f"There is no connector {key!r}.") from None
    return import_string(path)()


def all_connectors() -> list[Connector]:
    return [get(key) for key in CONNECTORS]
