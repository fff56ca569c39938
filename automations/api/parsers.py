"""The API's JSON parser: the same strict parse as every inbound JSON (nesting bound,
no NaN or Infinity, nothing the database cannot store)."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from connectors import jsondata


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})
        raw = stream.read() if stream is not None else b""
        try:
            text = raw if encoding.lower().replace("-", "") == "utf8" else raw.decode(encoding)
            return jsondata.loads(text)
        except jsondata.Unstorable as exc:
            raise ParseError(str(exc)) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
