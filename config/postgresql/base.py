"""Django's PostgreSQL backend with a health check that costs no round trip, and
psycopg's parse of a statement's placeholders kept for the log's larger statements.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before its first use in
every request or task by sending ``SELECT 1``. For a webhook that is one of its two round
trips to the database. A connection the server has closed (a restart, a terminated
session, an idle timeout) becomes readable (its closing message and EOF wait on the
socket), so an idle connection whose socket has nothing to read and whose session
psycopg sees as healthy is taken as usable without asking; anything else gets Django's
own check. A network that silently drops packets would hang ``SELECT 1`` as well as the
statement that follows it, so nothing is lost there.

psycopg turns a statement's ``%s`` placeholders into ``$1``, ``$2``... and keeps the
result per statement text (128 of them), but only for statements of at most 50
parameters and 4,096 characters: it keeps the generated bulk INSERTs of other projects,
thousands of rows long and each of a different length, out of that cache. Every other
statement is parsed again on each execution. The log's insert has 17 parameters per
step run and 20 per execution, so a webhook logging two steps is past the bound, and
the parse cost more than the rest of its insert on the client: 160 of 300 µs; for use
case 1's run and sub automation (160 parameters) 330 of 610 µs. The bound is raised to
500 parameters and 16,384 characters: the log's statements come in a few shapes per
automation, and the cache still holds at most 128 statements (about 14 MB at worst).
The two bounds are psycopg's module settings (``psycopg._queries``); a test fails if a
new psycopg no longer has them.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import _queries
from psycopg.pq import ConnStatus, TransactionStatus

CACHED_STATEMENT_PARAMS = 500
CACHED_STATEMENT_LENGTH = 16_384

_queries.MAX_CACHED_STATEMENT_PARAMS = max(
    _queries.MAX_CACHED_STATEMENT_PARAMS, CACHED_STATEMENT_PARAMS
)
_queries.MAX_CACHED_STATEMENT_LENGTH = max(
    _queries.MAX_CACHED_STATEMENT_LENGTH, CACHED_STATEMENT_LENGTH
)


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is not None and _quiet(self.connection):
            return True
        return super().is_usable()


def _quiet(connection) -> bool:
    if connection.closed or connection.pgconn.status != ConnStatus.OK:
        return False
    if connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
