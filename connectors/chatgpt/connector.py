from __future__ import annotations

from typing import Any

from connectors import fields as f
from connectors.base import Connector, ConnectorError
from connectors.chatgpt.chat import ChatAction, ChatWithVisionAction, PromptAction
from connectors.chatgpt.client import make_client, openai_errors
from connectors.chatgpt.functions import FunctionCallingAction, FunctionCallingResponseAction
from connectors.chatgpt.images import ImageGeneratorAction
from connectors.chatgpt.translate import TranslateEntryAction

CHECK_TIMEOUT = 15.0
CHAT_PREFIXES = ("gpt-", "chatgpt-", "o1", "o3", "o4")
# Models with those prefixes that do not chat.
NOT_CHAT = ("image", "audio", "realtime", "tts", "transcribe", "embedding", "search")


class ChatGPTConnector(Connector):
    key = "chatgpt"
    label = "ChatGPT"
    description = "OpenAI's ChatGPT: chat, function calling, images and translation."
    account_fields = (
        f.Field("api_key", "API Key", secret=True),
        f.Field("organization_id", "Organization ID", required=False,
                help="From Settings in your OpenAI platform account."),
        f.Field("base_url", "Base URL", required=False, routes_secrets=True,
                help="For Azure OpenAI or an OpenAI-compatible server, e.g. "
                "https://example.openai.azure.com/openai/v1"),
        f.Field("project_id", "Project ID", required=False),
    )  # fmt: skip
    actions = (
        ChatAction, PromptAction, ChatWithVisionAction, FunctionCallingAction,
        FunctionCallingResponseAction, ImageGeneratorAction, TranslateEntryAction,
    )  # fmt: skip

    def check_account(self, credentials: dict[str, Any]) -> None:
        base_url = credentials.get("base_url") or ""
        if base_url and not base_url.startswith(("https://", "http://")):
            raise ConnectorError("must start with https://", field="base_url")
        try:
            with openai_errors():
                make_client(credentials, timeout=CHECK_TIMEOUT).models.list()
        except ConnectorError as exc:
            if exc.field:
                raise
            where = base_url or "the OpenAI API"
            raise ConnectorError(
                f"Could not use {where}: {exc.message}", field="base_url"
            ) from None

    def lookup(
        self, name: str, credentials: dict[str, Any], params: dict[str, Any]
    ) -> list[dict[str, str]]:
        if name != "chat_models":
            return super().lookup(name, credentials, params)
        with openai_errors():
            models = make_client(credentials, timeout=CHECK_TIMEOUT).models.list()
        ids = sorted(
            m.id
            for m in models
            if m.id.startswith(CHAT_PREFIXES) and not any(word in m.id for word in NOT_CHAT)
        )
        return [{"value": model_id, "label": model_id} for model_id in ids]
