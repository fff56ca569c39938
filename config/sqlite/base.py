"""Django's SQLite backend with the placeholder conversion remembered, and UTC times
written without a detour.

Django writes SQL with ``%s`` placeholders and its SQLite backend turns each into ``?``
with a regular expression on every execute. The text of a statement repeats (the
values travel apart), and that substitution cost about 14 µs for a webhook's execution
INSERT and 30 µs for the multi-row INSERT of its step runs, more than SQLite took to run
either. The converted text is kept per distinct statement, a bounded number of them; a
statement longer than CACHED_STATEMENT_LENGTH (a bulk statement of thousands of values,
each of its own length) is converted each time instead of filling the cache.

A time is stored as text, naive in the connection's zone: Django checks it is aware,
reads USE_TZ, converts it to that zone and formats it, about 3 µs for each of the five
times a webhook's log holds. Times made by ``timezone.now()`` are in UTC already, as is
the connection by default, so those are formatted as they are (the same text).
"""

from __future__ import annotations

import datetime
import functools

from django.db.backends.sqlite3 import base, operations

# Distinct statements a process runs, with room to spare: the ORM's queries repeat by
# text, and the log's INSERTs come in a few shapes. A statement past the bound is only
# converted again. At most about 8 MB, were every one as long as allowed.
CONVERTED_STATEMENTS = 512
CACHED_STATEMENT_LENGTH = 8_192


def _qmark(query: str) -> str:
    """``query`` with ``%s`` as ``?`` and ``%%`` as ``%``, as Django's backend makes it."""
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


qmark = functools.lru_cache(maxsize=CONVERTED_STATEMENTS)(_qmark)


class CursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query, *, param_names=None):
        if param_names is not None:
            return super().convert_query(query, param_names=param_names)
        return qmark(query) if len(query) <= CACHED_STATEMENT_LENGTH else _qmark(query)


class DatabaseOperations(operations.DatabaseOperations):
    def adapt_datetimefield_value(self, value):
        if (
            getattr(value, "tzinfo", None) is datetime.UTC
            and self.connection.timezone is datetime.UTC
        ):
            return value.replace(tzinfo=None).isoformat(" ")  # what str() writes
        return super().adapt_datetimefield_value(value)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def create_cursor(self, name=None):
        return self.connection.cursor(factory=CursorWrapper)
