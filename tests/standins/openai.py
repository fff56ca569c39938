"""A stand-in for the OpenAI API on 127.0.0.1, speaking the published wire format.

It serves the models list, Chat Completions and Images, checks the API key and
organization headers, validates every request body against the reference's request
shapes (``openai_shapes``), answers deterministically, and records what it received.

Behaviour a test can set:
- ``tool_to_call``: with tools in a request, call this function (its arguments come from
  ``tool_arguments``: a dict, or a callable taking the request body);
- ``translator``: how text is "translated" in JSON mode (default: prefix "DE: ");
- ``forced``: replies sent before any normal answer (errors, rate limits, delays).
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

from jsonschema import Draft202012Validator

from tests.standins import openai_shapes as shapes
from tests.standins.server import Received, Reply, StandIn

CHAT_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1")
IMAGE_MODELS = ("dall-e-3", "gpt-image-1")


def tiny_png(rgb: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    raw = b"\x00" + bytes(rgb)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def error(status: int, message: str, *, code: str | None = None, param: str | None = None,
          kind: str = "invalid_request_error", headers: dict | None = None) -> Reply:  # fmt: skip
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return Reply(status, body, headers=headers or {})


class OpenAIStandIn(StandIn):
    def __init__(self, api_key: str = "sk-test-0123456789abcdef", organization: str | None = None):
        super().__init__()
        self.api_key = api_key
        self.organization = organization
        self.forced: list[Reply] = []
        self.tool_to_call: str | None = None
        self.tool_arguments: Any = None
        self.translator = lambda text: f"DE: {text}"
        self.image = tiny_png()
        self._counter = 0

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def chat_requests(self) -> list[dict]:
        return [r.json() for r in self.received if r.path == "/v1/chat/completions"]

    # -- routing ----------------------------------------------------------------------

    def handle(self, request: Received) -> Reply:
        if request.method == "GET" and request.path.startswith("/files/"):
            return Reply(200, self.image, headers={"Content-Type": "image/png"})
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return error(401, "Incorrect API key provided.", code="invalid_api_key")
        if self.organization and request.headers.get("openai-organization") != self.organization:
            org = request.headers.get("openai-organization")
            return error(401, f"No such organization: {org}.", code="invalid_organization")
        if self.forced:
            return self.forced.pop(0)
        if request.method == "GET" and request.path == "/v1/models":
            return self._models()
        if request.method == "POST" and request.path == "/v1/chat/completions":
            return self._chat(request)
        if request.method == "POST" and request.path == "/v1/images/generations":
            return self._images(request)
        return error(404, f"Unknown request URL: {request.method} {request.path}.")

    def _models(self) -> Reply:
        data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "openai"}
                for m in (*CHAT_MODELS, *IMAGE_MODELS, "text-embedding-3-small")]  # fmt: skip
        return Reply(200, {"object": "list", "data": data})

    def _invalid(self, request: Received, schema: dict) -> tuple[dict | None, Reply | None]:
        try:
            body = request.json()
        except ValueError:
            return None, error(400, "We could not parse the JSON body of your request.")
        problems = sorted(Draft202012Validator(schema).iter_errors(body), key=lambda e: e.path)
        if problems:
            first = problems[0]
            where = ".".join(str(p) for p in first.absolute_path) or None
            return None, error(400, f"Invalid request: {first.message}", param=where)
        return body, None

    # -- chat -------------------------------------------------------------------------

    def _chat(self, request: Received) -> Reply:
        body, problem = self._invalid(request, shapes.CHAT_COMPLETION_REQUEST)
        if problem:
            return problem
        if body["model"] not in CHAT_MODELS:
            return error(404, f"The model `{body['model']}` does not exist or you do not have "
                         "access to it.", code="model_not_found")  # fmt: skip
        problem = self._check_tool_round_trip(body["messages"])
        if problem:
            return problem
        message = self._answer(body)
        usage = {"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27}
        self._counter += 1
        choices = [
            {"index": i, "message": message, "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
             "logprobs": None}
            for i in range(body.get("n") or 1)
        ]  # fmt: skip
        return Reply(200, {
            "id": f"chatcmpl-{self._counter}", "object": "chat.completion", "created": 1700000000,
            "model": body["model"], "choices": choices, "usage": usage,
            "system_fingerprint": "fp_standin",
        })  # fmt: skip

    def _check_tool_round_trip(self, messages: list[dict]) -> Reply | None:
        open_calls: set[str] = set()
        for index, message in enumerate(messages):
            if message["role"] == "assistant":
                open_calls = {call["id"] for call in message.get("tool_calls") or []}
            elif message["role"] == "tool" and message["tool_call_id"] not in open_calls:
                return error(400, "Invalid parameter: messages with role 'tool' must be a "
                             "response to a preceeding message with 'tool_calls'.",
                             param=f"messages.[{index}].role")  # fmt: skip
        return None

    def _answer(self, body: dict) -> dict:
        messages = body["messages"]
        last = messages[-1]
        if last["role"] == "tool":
            return {
                "role": "assistant",
                "content": f"Final: {_text(last['content'])}",
                "refusal": None,
            }
        tools = [t["function"]["name"] for t in body.get("tools") or []]
        if tools and self.tool_to_call:
            if self.tool_to_call not in tools:
                return {"role": "assistant", "content": "No tool fits.", "refusal": None}
            arguments = self.tool_arguments
            if callable(arguments):
                arguments = arguments(body)
            if arguments is None:
                arguments = {"text": _text(_last_user(messages)["content"])}
            self._counter += 1
            call = {"id": f"call_{self._counter}", "type": "function",
                    "function": {"name": self.tool_to_call,
                                 "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}}  # fmt: skip
            return {"role": "assistant", "content": None, "tool_calls": [call], "refusal": None}
        response_format = (body.get("response_format") or {}).get("type")
        if response_format in ("json_object", "json_schema"):
            return {
                "role": "assistant",
                "content": json.dumps(self._translate(messages)),
                "refusal": None,
            }
        return {
            "role": "assistant",
            "content": f"Echo: {_text(_last_user(messages)['content'])}",
            "refusal": None,
        }

    def _translate(self, messages: list[dict]) -> dict:
        text = _text(_last_user(messages)["content"])
        start = text.find("{")
        source = json.loads(text[start:]) if start >= 0 else {}
        return {key: self.translator(value) for key, value in source.items()}

    # -- images -----------------------------------------------------------------------

    def _images(self, request: Received) -> Reply:
        body, problem = self._invalid(request, shapes.IMAGE_REQUEST)
        if problem:
            return problem
        model = body.get("model") or "dall-e-2"
        if model not in IMAGE_MODELS:
            return error(404, f"The model `{model}` does not exist.", code="model_not_found")
        if model == "dall-e-3":
            rules = shapes.DALL_E_3
            if (body.get("n") or 1) not in rules["n"]:
                return error(400, "You must provide n=1 for this model.", param="n")
            if body.get("size", "1024x1024") not in rules["size"]:
                return error(
                    400,
                    f"'{body['size']}' is not one of {list(rules['size'])} - 'size'",
                    param="size",
                )
            if body.get("quality", "standard") not in rules["quality"]:
                return error(400, "Invalid quality for dall-e-3.", param="quality")
            if len(body["prompt"]) > rules["prompt_max"]:
                return error(400, "The prompt is too long for dall-e-3.", param="prompt")
            self._counter += 1
            item = {"url": f"{self.url}/files/img-{self._counter}.png",
                    "revised_prompt": f"A picture: {body['prompt']}"}  # fmt: skip
            return Reply(200, {"created": 1700000000, "data": [item]})
        if body.get("size", "auto") not in shapes.GPT_IMAGE_SIZES:
            return error(400, "Invalid size for this model.", param="size")
        if "response_format" in body or "style" in body:
            return error(400, "Unknown parameter for this model.", param="response_format")
        item = {"b64_json": base64.b64encode(self.image).decode()}
        return Reply(200, {"created": 1700000000, "data": [item],
                           "usage": {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50,
                                     "input_tokens_details": {"text_tokens": 10, "image_tokens": 40}}})  # fmt: skip


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content if part.get("type") == "text")


def _last_user(messages: list[dict]) -> dict:
    return next(m for m in reversed(messages) if m["role"] == "user")
