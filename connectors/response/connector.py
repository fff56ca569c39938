from __future__ import annotations

from connectors.base import Connector


class ResponseConnector(Connector):
    key = "response"
    label = "Response"
    description = "Answer the HTTP caller that started the automation."
