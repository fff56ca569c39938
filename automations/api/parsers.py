"""The API's JSON parser: DRF's, with the nesting bound callers' JSON has everywhere."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from connectors import jsondata


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
            jsondata.check_depth(data)
        except (RecursionError, jsondata.TooDeep):
            raise ParseError(jsondata.TOO_DEEP) from None
        return data
