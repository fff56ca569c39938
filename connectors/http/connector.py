from __future__ import annotations

from connectors.base import Connector
from connectors.http.request_action import RequestAction
from connectors.http.request_trigger import RequestTrigger


class HttpConnector(Connector):
    key = "http"
    label = "HTTP"
    description = "Start an automation with a request to its webhook URL."
    triggers = (RequestTrigger,)
    actions = (RequestAction,)
