"""Webhook tokens and keys kept out of logs.

A hook URL is a bearer credential (/hooks/<token>/), and a caller may send the
trigger's key as ``?key=``. Django logs request paths (``Not Found: /hooks/...``), the
development server and gunicorn log whole request lines: every line is rewritten here
with the token shortened to its first four characters and the key's value removed.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger as GunicornBaseLogger

from config.logs import JsonFormatter, OneLineFormatter

# Case and doubled slashes do not matter to an attacker probing for a 404, so neither do
# they here; short segments ("contentstack", ".") are passed over, and the first long
# one after /hooks is the token.
_HOOK_TOKEN = re.compile(
    r"(/+hooks/+(?:[^/?#\s\"']{0,12}/+)*?)([^/?#\s\"']{4})[^/?#\s\"']{9,}", re.IGNORECASE
)
_KEY_PARAM = re.compile(r"((?:^|[?&;])key=)[^&#\s\"']*", re.IGNORECASE)


def redact_hook_secrets(text: str) -> str:
    lowered = text.lower()
    if "/hooks" not in lowered and "key=" not in lowered:
        return text
    return _KEY_PARAM.sub(r"\1[removed]", _HOOK_TOKEN.sub(r"\1\2…", text))


class HookSecretsFilter(logging.Filter):
    """Rewrites a record's message in place, so every handler sees the safe text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it when it formats
            return True
        safe = redact_hook_secrets(message)
        if safe != message:
            record.msg, record.args = safe, None
        return True


class GunicornLogger(GunicornBaseLogger):
    """gunicorn's logger (``logger_class`` in gunicorn.conf.py) writing as the platform
    does: its error log one line per event (JSON with LOG_FORMAT=json), its access log
    JSON with LOG_FORMAT=json, and both with webhook tokens shortened, since gunicorn
    names the request line in its own warnings ("Invalid request ... 'GET /hooks/...'").

    Only the formatters and filters of gunicorn's own handlers change, so that
    --error-logfile, --access-logfile and syslog keep writing where they were told (a
    ``logconfig_dict`` would replace those handlers)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        json_lines = os.environ.get("LOG_FORMAT", "plain") == "json"
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not getattr(handler, "_gunicorn", False):
                    continue
                handler.addFilter(HookSecretsFilter())
                if isinstance(handler, logging.handlers.SysLogHandler):
                    continue  # keeps gunicorn's syslog prefix
                if json_lines:
                    handler.setFormatter(JsonFormatter())
                elif log is self.error_log:
                    # The access log's own format is one line already.
                    handler.setFormatter(OneLineFormatter())

    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta
    ) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        # Every text atom: the request line, path and query, and headers such as the
        # Referer that may repeat a hook URL.
        return {k: redact_hook_secrets(v) if isinstance(v, str) else v for k, v in atoms.items()}
