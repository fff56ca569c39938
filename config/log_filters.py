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
from functools import lru_cache
from typing import Any

from gunicorn.glogging import Logger as GunicornBaseLogger
from gunicorn.glogging import SafeAtoms

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
        if isinstance(record.args, RedactedAtoms):
            return True  # an access line: made of atoms redacted one by one
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it when it formats
            return True
        safe = redact_hook_secrets(message)
        if safe != message:
            record.msg, record.args = safe, None
        return True


class RedactedAtoms(SafeAtoms):
    """gunicorn's access log atoms (``atoms_wrapper_class``), each escaped and redacted
    when the format reads it: SafeAtoms escaped all of them up front, and redacting
    them all (each a lowercasing, the path and request line a regex each) cost every
    webhook more than writing its line."""

    def __init__(self, atoms: dict[str, Any]) -> None:
        dict.__init__(self, atoms)

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if isinstance(value, str):
            return redact_hook_secrets(value.replace('"', '\\"'))
        return value


@lru_cache(maxsize=8)
def _atom_kinds(access_log_format: str) -> frozenset[str]:
    """Which kinds of per-request atoms a format names: i, o, e as in %({name}i)s."""
    return frozenset(re.findall(r"%\(\{[^}]*\}([ioe])\)", access_log_format))


class _Headers:
    """A request or response as gunicorn's ``atoms`` reads it, its headers left out
    unless ``keep``."""

    def __init__(self, message: Any, keep: bool) -> None:
        self._message = message
        self.headers = message.headers if keep else ()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._message, name)


class _Environ:
    """The WSGI environ for the standard atoms only: nothing to list as {name}e."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self._environ = environ

    def __getitem__(self, key: str) -> Any:
        return self._environ[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._environ.get(key, default)

    def items(self) -> tuple:
        return ()


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

    atoms_wrapper_class = RedactedAtoms  # type: ignore[assignment]

    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta
    ) -> dict[str, Any]:
        # gunicorn adds every request header, response header and WSGI environ entry
        # to each request's atoms (some seventy); only a format that names one of a
        # kind ({x}i, {x}o, {x}e) gets that kind.
        kinds = _atom_kinds(self.cfg.access_log_format)
        if kinds == {"i", "o", "e"}:
            return super().atoms(resp, req, environ, request_time)
        return super().atoms(
            _Headers(resp, "o" in kinds),
            _Headers(req, "i" in kinds),
            environ if "e" in kinds else _Environ(environ),
            request_time,
        )
