"""DALL-E 3 Image Generator (and the newer image model that answers in base64)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from connectors import fields as f
from connectors.base import Action, ConnectorError, RunContext
from connectors.chatgpt.client import call, record_usage

SIZES = (("1024x1024", "1024x1024"), ("1792x1024", "1792x1024 (wide)"),
         ("1024x1792", "1024x1792 (tall)"))  # fmt: skip
# The base64 model draws in other sizes; the nearest one is used.
GPT_IMAGE_SIZE = {"1024x1024": "1024x1024", "1792x1024": "1536x1024", "1024x1792": "1024x1536"}
GPT_IMAGE_QUALITY = {"standard": "medium", "hd": "high"}


class ImageGeneratorAction(Action):
    key = "dalle3_image_generator"
    # Each call draws (and bills) a new image, but nothing outside the run changes.
    side_effects = False
    idempotent = False
    label = "DALL-E 3 Image Generator"
    description = "Generate an image from a prompt; later steps get its URL."
    needs_account = True
    fields = (
        f.Field("prompt", "Prompt text", type=f.LONG_TEXT),
        f.Field("size", "Image size", type=f.CHOICE, default="1024x1024", required=False,
                choices=SIZES),
        f.Field("style", "Style", type=f.CHOICE, default="vivid", required=False,
                choices=(("vivid", "Vivid"), ("natural", "Natural"))),
        f.Field("quality", "Quality", type=f.CHOICE, default="standard", required=False,
                choices=(("standard", "Standard"), ("hd", "HD"))),
        f.Field("model", "Image model", type=f.CHOICE, default="dall-e-3", required=False,
                choices=(("dall-e-3", "DALL-E 3"), ("gpt-image-1", "GPT Image (base64)"))),
    )  # fmt: skip

    def run(self, params: dict[str, Any], context: RunContext) -> dict[str, Any]:
        model = params["model"]
        if model == "dall-e-3":
            if len(params["prompt"]) > 4000:
                raise ConnectorError(
                    "DALL-E 3 takes a prompt of at most 4000 characters.", field="prompt"
                )
            request = {
                "model": model, "prompt": params["prompt"], "n": 1, "size": params["size"],
                "style": params["style"], "quality": params["quality"], "response_format": "url",
            }  # fmt: skip
        else:
            request = {
                "model": model, "prompt": params["prompt"], "n": 1,
                "size": GPT_IMAGE_SIZE[params["size"]],
                "quality": GPT_IMAGE_QUALITY[params["quality"]],
            }  # fmt: skip
        result = call(context, "/images/generations", request, model)
        if not result.get("data"):
            raise ConnectorError("OpenAI answered with no image.", retryable=True)
        image = result["data"][0]
        usage = record_usage(context, result.get("usage"))
        url = image.get("url") or self._store(image.get("b64_json"), context)
        return {
            "url": url,
            "revised_prompt": image.get("revised_prompt") or params["prompt"],
            "size": request["size"],
            "model": model,
            "usage": usage,
        }

    def _store(self, b64: str | None, context: RunContext) -> str:
        if not b64:
            raise ConnectorError("OpenAI answered with neither an image URL nor image data.")
        try:
            content = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise ConnectorError("OpenAI's image data is not valid base64.") from None
        if context.store_file is None:
            raise ConnectorError("Generated files cannot be stored here.")
        return context.store_file("image.png", content, "image/png")
