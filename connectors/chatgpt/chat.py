"""Chat, Prompt and Chat with Vision: one Chat Completions call each."""

from __future__ import annotations

from typing import Any

from connectors import fields as f
from connectors.base import Action, ConnectorError, RunContext
from connectors.chatgpt.client import call, record_usage

MODEL = f.Field(
    "model", "API model", type=f.CHOICE, lookup="chat_models", allow_custom=True,
    default="gpt-4o-mini",
    choices=(("gpt-4o-mini", "gpt-4o-mini"), ("gpt-4o", "gpt-4o"), ("gpt-4.1", "gpt-4.1")),
    help="A chat model of your account; any model name is accepted.",
)  # fmt: skip
MESSAGES = f.Field("messages", "Prompt input", type=f.MESSAGES)
MAX_TOKENS = f.Field("max_tokens", "Maximum tokens", type=f.INTEGER, required=False, minimum=1)
TEMPERATURE = f.Field(
    "temperature", "Temperature", type=f.NUMBER, required=False, minimum=0, maximum=2
)
OPTIONS = (
    f.Field(
        "response_format", "Response format", type=f.CHOICE, required=False,
        choices=(("text", "Text"), ("json", "JSON object"), ("json_schema", "Structured output")),
    ),
    f.Field("json_schema", "JSON schema", type=f.JSON, required=False, object_only=True,
            help="For structured output: the JSON schema the answer must follow."),
    MAX_TOKENS,
    TEMPERATURE,
    f.Field("n", "Number of answers", type=f.INTEGER, required=False, minimum=1, maximum=3),
    f.Field("frequency_penalty", "Frequency penalty", type=f.NUMBER, required=False,
            minimum=-2, maximum=2),
    f.Field("presence_penalty", "Presence penalty", type=f.NUMBER, required=False,
            minimum=-2, maximum=2),
)  # fmt: skip


def request_options(params: dict[str, Any]) -> dict[str, Any]:
    """The optional Chat Completions parameters that were given."""
    options: dict[str, Any] = {}
    for key in ("max_tokens", "temperature", "n", "frequency_penalty", "presence_penalty"):
        if params.get(key) is not None:
            options[key] = params[key]
    kind = params.get("response_format")
    if kind == "json":
        options["response_format"] = {"type": "json_object"}
    elif kind == "json_schema":
        schema = params.get("json_schema")
        if not schema:
            raise ConnectorError("Structured output needs a JSON schema.", field="json_schema")
        options["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": True},
        }
    return options


def complete(
    context: RunContext, model: str, messages: list[dict], **options: Any
) -> dict[str, Any]:
    """One Chat Completions call; the output every chat-like action shares."""
    body = call(
        context, "/chat/completions", {"model": model, "messages": messages, **options}, model
    )
    choices = [
        {
            "index": choice.get("index", index),
            "content": (choice.get("message") or {}).get("content"),
            "finish_reason": choice.get("finish_reason"),
            "message": {k: v for k, v in (choice.get("message") or {}).items() if v is not None},
        }
        for index, choice in enumerate(body.get("choices") or [])
    ]
    if not choices:
        raise ConnectorError("OpenAI answered with no choices.", retryable=True)
    return {
        "content": choices[0]["content"],
        "choices": choices,
        "usage": record_usage(context, body.get("usage")),
        "model": body.get("model", model),
    }


class ChatAction(Action):
    key = "chat"
    # Costs tokens but changes nothing outside the run; asking again is safe.
    side_effects = False
    idempotent = True
    label = "Chat"
    description = "Send a conversation to ChatGPT and get its answer."
    needs_account = True
    fields = (MODEL, MESSAGES, *OPTIONS)

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        return complete(context, params["model"], params["messages"], **request_options(params))


class PromptAction(Action):
    key = "prompt"
    # Costs tokens but changes nothing outside the run; asking again is safe.
    side_effects = False
    idempotent = True
    label = "Prompt"
    description = "Ask ChatGPT one question."
    needs_account = True
    fields = (MODEL, f.Field("prompt", "Prompt", type=f.LONG_TEXT), *OPTIONS)

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        messages = [{"role": "user", "content": params["prompt"]}]
        return complete(context, params["model"], messages, **request_options(params))


def _vision_content(content: Any, index: int) -> Any:
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if (
            isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        ):
            parts.append({"type": "text", "text": part["text"]})
        elif isinstance(part, dict) and part.get("type") == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            if not isinstance(url, str) or not url.startswith(
                ("https://", "http://", "data:image/")
            ):
                raise ConnectorError(
                    f"Message {index + 1}: an image part needs an http(s) or data: URL.",
                    field="messages",
                )
            parts.append({"type": "image_url", "image_url": {"url": url}})
        else:
            raise ConnectorError(
                f"Message {index + 1}: each part is text or an image URL.", field="messages"
            )
    return parts


class ChatWithVisionAction(Action):
    key = "chat_with_vision"
    # Costs tokens but changes nothing outside the run; asking again is safe.
    side_effects = False
    idempotent = True
    label = "Chat with Vision"
    description = "Chat about images: user messages hold text and image URLs."
    needs_account = True
    fields = (
        MODEL,
        f.Field("messages", "Prompt input", type=f.MESSAGES,
                help='A user message\'s content may be a list of parts: {"type": "text", '
                '"text": ...} or {"type": "image_url", "image_url": {"url": ...}}.'),
        *OPTIONS,
    )  # fmt: skip

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        messages = []
        for index, message in enumerate(params["messages"]):
            content = message["content"]
            if message["role"] != "user" and not isinstance(content, str):
                raise ConnectorError(
                    f"Message {index + 1}: only user messages may hold images.", field="messages"
                )
            messages.append({"role": message["role"], "content": _vision_content(content, index)})
        return complete(context, params["model"], messages, **request_options(params))
