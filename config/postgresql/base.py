"""Django's PostgreSQL backend with a health check that costs no round trip.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before its first use in
every request or task by sending ``SELECT 1``. For a webhook that is one of its two round
trips to the database. A connection the server has closed (a restart, a terminated
session, an idle timeout) becomes readable (its closing message and EOF wait on the
socket), so an idle connection whose socket has nothing to read and whose session
psycopg sees as healthy is taken as usable without asking; anything else gets Django's
own check. A network that silently drops packets would hang ``SELECT 1`` as well as the
statement that follows it, so nothing is lost there.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg.pq import ConnStatus, TransactionStatus


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
