"""Plans (an automation and its steps) cached per process, checked fresh on every use.

A webhook hit costs one small query that reads the automation's id and ``version``; the
plan is reloaded only when that changed. Every write to an automation or its steps (the
services, the admin, key rotation, bulk updates) calls ``automation_touch`` in its
transaction, which bumps ``version``; accounts are not part of a plan (the runner and
the webhook read them for every run), so a cached plan is never stale. Nothing here is
needed by another process.

A webhook may skip that read (``plan_cached``, on PostgreSQL and SQLite): it runs with
the plan it last used for the token, and the statement that writes the execution
inserts it only if the automation still has that version (engine/inserts.py,
``StalePlan``); any other outcome (a refusal, a queued run with a delivery receipt, a
stale plan) is decided again with the version read. One round trip per webhook instead
of two; on SQLite, one statement fewer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.db import connection

from automations.engine.runner import Plan, load_plan
from automations.models import Automation

MAX_PLANS = 256

_plans: OrderedDict[tuple, Plan] = OrderedDict()
# The (automation id, version) each token was last read with.
_tokens: OrderedDict[str, tuple] = OrderedDict()
_lock = threading.Lock()


def _version(token: str) -> tuple | None:
    # Plain SQL: on every webhook hit, the ORM's query compilation cost more than the
    # query itself. The row is only compared, never interpreted.
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL, [token])
        return cursor.fetchone()


_VERSION_SQL = "SELECT {pk}, {version} FROM {table} WHERE {token} = %s".format(  # noqa: S608
    pk=Automation._meta.pk.column,
    version=Automation._meta.get_field("version").column,
    table=Automation._meta.db_table,
    token=Automation._meta.get_field("webhook_token").column,
)


_VERSION_BY_ID_SQL = "SELECT {version} FROM {table} WHERE {pk} = %s".format(  # noqa: S608
    pk=Automation._meta.pk.column,
    version=Automation._meta.get_field("version").column,
    table=Automation._meta.db_table,
)


def plan_for_automation(automation_id: int) -> Plan:
    """The plan of an automation by id (a worker's run), checked like a webhook's."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_BY_ID_SQL, [automation_id])
        row = cursor.fetchone()
    if row is None:
        raise Automation.DoesNotExist(automation_id)
    return plan_for_version(automation_id, row[0])


def plan_for_token(token: str) -> Plan | None:
    row = _version(token)
    if row is None:
        with _lock:
            _tokens.pop(token, None)
        return None
    plan = plan_for_version(row[0], row[1])
    with _lock:
        _tokens[token] = (row[0], row[1])
        _tokens.move_to_end(token)
        while len(_tokens) > MAX_PLANS:
            _tokens.popitem(last=False)
    return plan


def plan_cached(token: str) -> Plan | None:
    """The plan this process last used for ``token``, read from no database and so not
    known to be fresh: only for a write that confirms its version (see above)."""
    with _lock:
        key = _tokens.get(token)
        return _plans.get(key) if key else None


def forget_token(token: str) -> None:
    """The cached plan of ``token`` proved stale."""
    with _lock:
        _tokens.pop(token, None)


def plan_for_version(automation_id: int, version: int) -> Plan:
    """The plan of an automation whose ``version`` the caller has just read."""
    key = (automation_id, version)
    with _lock:
        plan = _plans.get(key)
        if plan is not None:
            _plans.move_to_end(key)
            return plan
    # If the automation changed since the read, this plan is newer than its key; the
    # next read gives a new key, so the entry is never used stale.
    plan = load_plan(automation_id)
    with _lock:
        _plans[key] = plan
        while len(_plans) > MAX_PLANS:
            _plans.popitem(last=False)
    return plan


def plans_clear() -> None:
    """Forget every cached plan. For tests: a rolled-back test's automation ids are
    given out again, with the same first versions (committed ids never are)."""
    with _lock:
        _plans.clear()
        _tokens.clear()
