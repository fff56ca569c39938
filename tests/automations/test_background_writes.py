"""What a worker writes for a background run: few round trips for a one-step run, the
step logged before it may act (and not run when that log cannot be written), and the
lease moved only when it needs to be."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import team_create
from automations.engine import lease, start
from automations.models import Execution, Status
from tests.automations.test_run_failures import step_runs_refused  # noqa: F401 (fixture)
from tests.automations.test_runner import automation_with
from tests.standins.server import Reply, Routes

pytestmark = pytest.mark.django_db


def post_step(key: str, url: str) -> dict:
    return {"key": key, "connector": "http", "action": "request",
            "config": {"method": "POST", "url": url, "body": {"n": "{{ trigger.body.n }}"}}}  # fmt: skip


def _control(sql: str) -> bool:
    return sql.split(" ", 1)[0] in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")


def queued(automation, n: int = 1) -> Execution:
    return Execution.objects.create(
        automation=automation, status=Status.QUEUED, trigger_output={"body": {"n": n}}
    )


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_one_step_run_costs_four_statements_on_postgresql(team):
    # The claim (in a transaction: the team's lock, then a conditional update returning
    # the row), the step logged as started, and the step's log with the final status in
    # one statement that also says whether a run waits to be handed over. (Transaction
    # control is left out: a test runs inside a transaction of its own.)
    with Routes({("POST", "/sink"): Reply(200, {"ok": True})}) as server:
        automation = automation_with(team, [post_step("call", server.url + "/sink")])
        start.run_queued(queued(automation).pk)  # plan cached, as in a busy worker
        execution = queued(automation, 2)
        with CaptureQueriesContext(connection) as statements:
            start.run_queued(execution.pk)
    sent = [q["sql"] for q in statements.captured_queries if not _control(q["sql"])]
    assert len(sent) == 4, [sql[:80] for sql in sent]
    execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED
    run = execution.step_runs.get()
    assert (run.status, run.input["body"], run.output["body"]) == (
        Status.SUCCEEDED, {"n": 2}, {"ok": True},
    )  # fmt: skip
    assert execution.lease_until is None and execution.duration_ms is not None


def test_a_two_step_run_logs_each_step_and_its_final_status(team):
    with Routes({("POST", "/a"): Reply(200, {"a": 1}), ("POST", "/b"): Reply(200, {"b": 2})}) as s:
        automation = automation_with(
            team, [post_step("first", s.url + "/a"), post_step("second", s.url + "/b")]
        )
        execution = queued(automation)
        start.run_queued(execution.pk)
    execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED
    runs = list(execution.step_runs.order_by("position"))
    assert [(r.step_key, r.status, r.output["body"]) for r in runs] == [
        ("first", Status.SUCCEEDED, {"a": 1}), ("second", Status.SUCCEEDED, {"b": 2}),
    ]  # fmt: skip


def test_a_step_that_may_act_is_not_run_when_its_log_cannot_be_written(
    team,
    step_runs_refused,  # noqa: F811
):
    with Routes({("POST", "/sink"): Reply(200, {"ok": True})}) as server:
        automation = automation_with(team, [post_step("call", server.url + "/sink")])
        execution = queued(automation)
        start.run_queued(execution.pk)
    assert server.received == []
    execution.refresh_from_db()
    assert execution.status == Status.FAILED
    assert "log could not be written" in execution.error


def test_the_lease_is_renewed_before_a_step_only_when_a_third_of_it_has_passed(team, settings):
    automation = automation_with(team, [])
    execution = Execution.objects.create(automation=automation, status=Status.RUNNING)
    with lease.holding(execution.pk):
        with CaptureQueriesContext(connection) as fresh:
            lease.renew_if_due(execution.pk)  # the claim has just set it
        settings.LEASE_SECONDS = 0
        with CaptureQueriesContext(connection) as due:
            lease.renew_if_due(execution.pk)
    assert len(fresh.captured_queries) == 0
    assert len(due.captured_queries) == 1
    execution.refresh_from_db()
    assert execution.lease_until is not None


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_the_one_message_claim_takes_a_run_once_and_respects_the_team_limit(settings):
    # Outside a transaction (as in a worker) the claim goes as one message.
    settings.TEAM_MAX_CONCURRENT_RUNS = 1
    owner = get_user_model().objects.create_user("claims")
    team = team_create(name="Claims", owner=owner)
    automation = automation_with(team, [])
    execution = queued(automation)
    claimed = start.claim(execution.pk)
    assert claimed is not None and claimed.pk == execution.pk
    assert claimed.status == Status.RUNNING and claimed.first_start
    assert claimed.trigger_output == {"body": {"n": 1}}
    assert claimed.plan_version == automation.version
    assert start.claim(execution.pk) is None  # taken already
    waiting = queued(automation, 2)
    assert start.claim(waiting.pk) is None  # the team's one slot is taken
    waiting.refresh_from_db()
    assert waiting.status == Status.QUEUED and waiting.enqueued_at is None
    Execution.objects.filter(pk=execution.pk).update(status=Status.SUCCEEDED)
    assert start.run_queued(waiting.pk) is not None
    waiting.refresh_from_db()
    assert waiting.status == Status.SUCCEEDED


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_a_claim_on_a_connection_the_database_dropped_opens_a_new_one():
    # The claim stands in for the health check: a dead connection costs a reconnect,
    # not the run.
    import psycopg

    owner = get_user_model().objects.create_user("dropped")
    automation = automation_with(team_create(name="Dropped", owner=owner), [])
    execution = queued(automation)
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    dsn = connection.connection.info.dsn
    with psycopg.connect(dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    claimed = start.claim(execution.pk)
    assert claimed is not None and claimed.status == Status.RUNNING
    assert connection.connection.info.backend_pid != pid
