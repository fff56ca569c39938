"""Request shapes of the OpenAI endpoints the stand-in serves, as JSON Schema.

Written for this project from OpenAI's published API reference (the OpenAPI document,
MIT licence): the fields the reference lists for each request, their types, ranges and
enumerations, and the dall-e-3 rules it states only in prose (n is 1; three sizes).
Unknown top-level fields are refused, so a misspelt parameter fails a test.
"""

from __future__ import annotations

TEXT_PART = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
}
IMAGE_PART = {
    "type": "object",
    "required": ["type", "image_url"],
    "properties": {
        "type": {"const": "image_url"},
        "image_url": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "minLength": 1},
                "detail": {"enum": ["auto", "low", "high"]},
            },
        },
    },
}
TOOL_CALL = {
    "type": "object",
    "required": ["id", "type", "function"],
    "properties": {
        "id": {"type": "string"},
        "type": {"const": "function"},
        "function": {
            "type": "object",
            "required": ["name", "arguments"],
            "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}},
        },
    },
}


def _text_or_parts(parts: list[dict]) -> dict:
    return {
        "anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {"anyOf": parts}}]
    }


MESSAGE = {
    "oneOf": [
        {
            "type": "object",
            "required": ["role", "content"],
            "properties": {
                "role": {"enum": ["system", "developer"]},
                "content": _text_or_parts([TEXT_PART]),
                "name": {"type": "string"},
            },
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["role", "content"],
            "properties": {
                "role": {"const": "user"},
                "content": _text_or_parts([TEXT_PART, IMAGE_PART]),
                "name": {"type": "string"},
            },
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["role"],
            "properties": {
                "role": {"const": "assistant"},
                "content": {"anyOf": [{"type": "null"}, _text_or_parts([TEXT_PART])]},
                "tool_calls": {"type": "array", "items": TOOL_CALL},
                "refusal": {"type": ["string", "null"]},
                "name": {"type": "string"},
            },
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["role", "content", "tool_call_id"],
            "properties": {
                "role": {"const": "tool"},
                "content": _text_or_parts([TEXT_PART]),
                "tool_call_id": {"type": "string"},
            },
            "additionalProperties": False,
        },
    ]
}

TOOL = {
    "type": "object",
    "required": ["type", "function"],
    "properties": {
        "type": {"const": "function"},
        "function": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
                "description": {"type": "string"},
                "parameters": {"type": "object"},
                "strict": {"type": ["boolean", "null"]},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

RESPONSE_FORMAT = {
    "oneOf": [
        {"type": "object", "required": ["type"], "properties": {"type": {"const": "text"}},
         "additionalProperties": False},
        {"type": "object", "required": ["type"], "properties": {"type": {"const": "json_object"}},
         "additionalProperties": False},
        {
            "type": "object",
            "required": ["type", "json_schema"],
            "properties": {
                "type": {"const": "json_schema"},
                "json_schema": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
                        "description": {"type": "string"},
                        "schema": {"type": "object"},
                        "strict": {"type": ["boolean", "null"]},
                    },
                },
            },
            "additionalProperties": False,
        },
    ]
}  # fmt: skip

CHAT_COMPLETION_REQUEST = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string", "minLength": 1},
        "messages": {"type": "array", "minItems": 1, "items": MESSAGE},
        "max_tokens": {"type": ["integer", "null"]},
        "max_completion_tokens": {"type": ["integer", "null"]},
        "temperature": {"type": ["number", "null"], "minimum": 0, "maximum": 2},
        "top_p": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "n": {"type": ["integer", "null"], "minimum": 1, "maximum": 128},
        "frequency_penalty": {"type": ["number", "null"], "minimum": -2, "maximum": 2},
        "presence_penalty": {"type": ["number", "null"], "minimum": -2, "maximum": 2},
        "response_format": RESPONSE_FORMAT,
        "tools": {"type": "array", "items": TOOL},
        "tool_choice": {
            "anyOf": [
                {"enum": ["none", "auto", "required"]},
                {
                    "type": "object",
                    "required": ["type", "function"],
                    "properties": {
                        "type": {"const": "function"},
                        "function": {"type": "object", "required": ["name"]},
                    },
                },
            ]
        },
        "parallel_tool_calls": {"type": "boolean"},
        "seed": {"type": ["integer", "null"]},
        "stop": {"anyOf": [{"type": "string"}, {"type": "array"}, {"type": "null"}]},
        "stream": {"type": ["boolean", "null"]},
        "user": {"type": "string"},
        "metadata": {"type": ["object", "null"]},
        "store": {"type": ["boolean", "null"]},
    },
    "additionalProperties": False,
}

IMAGE_REQUEST = {
    "type": "object",
    "required": ["prompt"],
    "properties": {
        "prompt": {"type": "string", "minLength": 1},
        "model": {"type": ["string", "null"]},
        "n": {"type": ["integer", "null"], "minimum": 1, "maximum": 10},
        "quality": {"enum": ["standard", "hd", "low", "medium", "high", "auto", None]},
        "response_format": {"enum": ["url", "b64_json", None]},
        "output_format": {"enum": ["png", "jpeg", "webp", None]},
        "size": {
            "enum": [
                "auto",
                "1024x1024",
                "1536x1024",
                "1024x1536",
                "256x256",
                "512x512",
                "1792x1024",
                "1024x1792",
                None,
            ]
        },  # fmt: skip
        "style": {"enum": ["vivid", "natural", None]},
        "background": {"enum": ["transparent", "opaque", "auto", None]},
        "moderation": {"enum": ["low", "auto", None]},
        "user": {"type": "string"},
    },
    "additionalProperties": False,
}

# Stated in the reference's prose rather than its schema.
DALL_E_3 = {
    "n": (1,),
    "size": ("1024x1024", "1792x1024", "1024x1792"),
    "quality": ("standard", "hd"),
    "prompt_max": 4000,
}
GPT_IMAGE_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")
