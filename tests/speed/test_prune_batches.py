"""Retention pruning deletes in small batches, oldest first, each in its own short
transaction (one statement on PostgreSQL), resting after each batch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automations import services
from automations.models import DeliveryReceipt, Execution, Status, StepRun
from automations.services import pruning
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db


def automation(team):
    return services.automation_create(
        project=make_project(team),
        data={
            "name": "Log",
            "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
            "steps": [],
        },
    )


def logged(automation, *, days_ago: int, parent=None, at=None) -> Execution:
    execution = Execution.objects.create(
        automation=automation, status=Status.SUCCEEDED, parent=parent
    )
    StepRun.objects.create(execution=execution, step_key="a", position=0, path="0")
    Execution.objects.filter(pk=execution.pk).update(
        created_at=at or timezone.now() - timedelta(days=days_ago)
    )
    return execution


def batches(queries) -> int:
    """The statements that deleted executions."""
    table = connection.ops.quote_name(Execution._meta.db_table)
    return sum(f"DELETE FROM {table}" in q["sql"] for q in queries.captured_queries)  # noqa: S608


def test_it_prunes_old_runs_with_their_step_runs_and_children_in_batches(team):
    auto = automation(team)
    old = [logged(auto, days_ago=40) for _ in range(5)]
    child = logged(auto, days_ago=40, parent=old[0])
    logged(auto, days_ago=1, parent=child)  # a grandchild goes with its tree
    fresh = logged(auto, days_ago=1)
    with CaptureQueriesContext(connection) as queries:
        deleted = services.execution_prune(batch=2, pause=0)
    assert deleted == 7
    assert list(Execution.objects.all()) == [fresh]
    assert list(StepRun.objects.values_list("execution_id", flat=True)) == [fresh.pk]
    assert batches(queries) == 3


def test_the_batch_size_is_a_setting(team, settings):
    settings.EXECUTION_PRUNE_BATCH = 4
    auto = automation(team)
    for _ in range(9):
        logged(auto, days_ago=40)
    with CaptureQueriesContext(connection) as queries:
        assert services.execution_prune(pause=0) == 9
    assert batches(queries) == 3


def test_runs_of_the_same_instant_are_all_pruned_across_batches(team):
    auto = automation(team)
    instant = timezone.now() - timedelta(days=40)
    for _ in range(5):
        logged(auto, days_ago=40, at=instant)
    assert services.execution_prune(batch=2, pause=0) == 5
    assert not Execution.objects.exists()


def test_it_rests_after_each_batch(team, settings, monkeypatch):
    settings.EXECUTION_PRUNE_PAUSE = 0.25
    rests = []
    monkeypatch.setattr(pruning.time, "sleep", rests.append)
    auto = automation(team)
    for _ in range(5):
        logged(auto, days_ago=40)
    DeliveryReceipt.objects.create(automation=auto, key="k")
    DeliveryReceipt.objects.update(received_at=timezone.now() - timedelta(days=40))
    assert services.execution_prune(batch=2) == 5
    assert not DeliveryReceipt.objects.exists()
    # Between the three batches of executions (the last, not full, ends it): the pause.
    assert len(rests) == 2 and min(rests) >= 0.25


def test_it_keeps_a_retry_whose_original_is_pruned(team):
    auto = automation(team)
    original = logged(auto, days_ago=40)
    retry = Execution.objects.create(automation=auto, status=Status.QUEUED, retry_of=original)
    services.execution_prune(batch=1, pause=0)
    retry.refresh_from_db()
    assert retry.retry_of_id is None
