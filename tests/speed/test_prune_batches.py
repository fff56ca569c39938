"""Retention pruning deletes in batches of ids, each in its own short transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automations import services
from automations.models import Execution, Status, StepRun
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


def logged(automation, *, days_ago: int, parent=None) -> Execution:
    execution = Execution.objects.create(
        automation=automation, status=Status.SUCCEEDED, parent=parent
    )
    StepRun.objects.create(execution=execution, step_key="a", position=0, path="0")
    Execution.objects.filter(pk=execution.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )
    return execution


def test_it_prunes_old_runs_with_their_step_runs_and_children_in_batches(team):
    auto = automation(team)
    old = [logged(auto, days_ago=40) for _ in range(5)]
    logged(auto, days_ago=40, parent=old[0])
    fresh = logged(auto, days_ago=1)
    with CaptureQueriesContext(connection) as queries:
        deleted = services.execution_prune(batch=2)
    assert deleted == 6
    assert list(Execution.objects.all()) == [fresh]
    assert list(StepRun.objects.values_list("execution_id", flat=True)) == [fresh.pk]
    prefix = ("DELETE", "FROM", f'"{Execution._meta.db_table}"')
    batches = [q for q in queries.captured_queries if tuple(q["sql"].split()[:3]) == prefix]
    assert len(batches) == 3


def test_it_keeps_a_retry_whose_original_is_pruned(team):
    auto = automation(team)
    original = logged(auto, days_ago=40)
    retry = Execution.objects.create(automation=auto, status=Status.QUEUED, retry_of=original)
    services.execution_prune(batch=1)
    retry.refresh_from_db()
    assert retry.retry_of_id is None
