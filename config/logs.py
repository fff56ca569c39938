"""Log lines: one per event, plain or JSON (LOG_FORMAT=json), each written during a run
naming the run's execution, automation and team.

The runner sets the run's ids in a context variable (``run_context``); a filter on the
handler copies them onto every record, so a line logged anywhere below the runner (a
connector, the HTTP client) says which run it belongs to without being passed anything.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

_run: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("run", default=None)

FIELDS = ("execution", "automation", "team")


@contextlib.contextmanager
def run_context(
    *, execution: int | None, automation: int | None, team: int | None
) -> Iterator[None]:
    """Lines logged inside name this run. An inline run has no id until it is written,
    hence "pending"; a sub automation's run nests and restores its parent's ids."""
    values = {
        "execution": str(execution) if execution is not None else "pending",
        "automation": str(automation) if automation is not None else "-",
        "team": str(team) if team is not None else "-",
    }
    token = _run.set(values)
    try:
        yield
    finally:
        _run.reset(token)


class RunContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        values = _run.get() or {}
        for field in FIELDS:
            if not hasattr(record, field):
                setattr(record, field, values.get(field, "-"))
        return True


def _one_line(text: str) -> str:
    # A traceback or a value with newlines would otherwise read as several events.
    return text.replace("\r", "\\r").replace("\n", "\\n")


class OneLineFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s execution=%(execution)s team=%(team)s %(message)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        for field in FIELDS:
            if not hasattr(record, field):
                setattr(record, field, "-")
        return _one_line(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, "-")
            if value != "-":
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
