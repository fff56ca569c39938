"""The execution log's pages (the team's Executions page, an automation's Execution
log) by cursor: newest first, PER_PAGE rows, an "Older" link carrying the last row's
time and id and a "Newer" link carrying the first's.

A page number made the database count every matching row for "Page 1 of N" (a tenth of
a second and more at a million runs, on every view) and read and skip every earlier
page to reach a deep one; a cursor reads its page from the index wherever it is, as the
API's does (``ExecutionCursor``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet
from django.http import QueryDict

from automations.models import Execution

PER_PAGE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@dataclass
class LogPage:
    rows: list[Execution]
    older: str = ""  # the cursor of the next page down, if there is one
    newer: str = ""  # the cursor of the page above, if this is not the first
    query: str = ""  # the page's filters, for the links
    first: bool = True  # the newest page (no cursor asked)

    def __iter__(self):
        return iter(self.rows)


def log_page(rows: QuerySet[Execution], params: QueryDict) -> LogPage:
    """One page of ``rows`` (ordered newest first), from the ``before`` or ``after``
    cursor in ``params``."""
    query = params.copy()
    for name in ("before", "after", "page"):
        query.pop(name, None)
    before, after = _position(params.get("before")), _position(params.get("after"))
    if after is not None:
        at, pk = after
        # The rows just above the cursor: read upwards from it, shown newest first.
        newer = Q(created_at__gte=at) & (Q(created_at__gt=at) | Q(pk__gt=pk))
        found = list(rows.filter(newer).order_by("created_at", "pk")[: PER_PAGE + 1])
        shown = found[:PER_PAGE][::-1]
        return LogPage(
            shown,
            older=_cursor(shown[-1]) if shown else "",
            newer=_cursor(shown[0]) if len(found) > PER_PAGE else "",
            query=query.urlencode(),
            first=False,
        )
    if before is not None:
        at, pk = before
        rows = rows.filter(Q(created_at__lte=at) & (Q(created_at__lt=at) | Q(pk__lt=pk)))
    found = list(rows[: PER_PAGE + 1])
    shown = found[:PER_PAGE]
    return LogPage(
        shown,
        older=_cursor(shown[-1]) if len(found) > PER_PAGE else "",
        newer=_cursor(shown[0]) if before is not None and shown else "",
        query=query.urlencode(),
        first=before is None,
    )


def _cursor(execution: Execution) -> str:
    return f"{(execution.created_at - EPOCH) // MICROSECOND}.{execution.pk}"


def _position(cursor: str | None) -> tuple[datetime, int] | None:
    micros, _, pk = (cursor or "").partition(".")
    if not (micros.isdigit() and pk.isdigit()):
        return None
    return EPOCH + int(micros) * MICROSECOND, int(pk)
