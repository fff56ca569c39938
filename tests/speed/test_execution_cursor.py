"""GET /api/v1/executions/ pages by cursor: newest first, every row once, filters kept,
no count; other lists keep page numbers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from automations import services
from automations.models import Execution, Status
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db


def automation(team, name="Log"):
    return services.automation_create(
        project=make_project(team),
        data={
            "name": name,
            "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
            "steps": [],
        },
    )


def fill(auto, count: int, status=Status.SUCCEEDED) -> list[int]:
    now = timezone.now()
    rows = Execution.objects.bulk_create(
        Execution(automation=auto, status=status) for _ in range(count)
    )
    for index, row in enumerate(rows):
        # Two rows share each second: ties are ordered by id.
        Execution.objects.filter(pk=row.pk).update(created_at=now - timedelta(seconds=index // 2))
    return [row.pk for row in rows]


def walk(api, params) -> list[dict]:
    rows, url = [], "/api/v1/executions/"
    while url:
        page = api.get(url, params).json()
        assert "count" not in page
        rows.extend(page["results"])
        url, params = page["next"], None
    return rows


def test_it_walks_every_execution_once_newest_first(api, team):
    ids = fill(automation(team), 120)
    rows = walk(api, {})
    assert [row["id"] for row in rows] == sorted(ids, key=lambda pk: (ids.index(pk) // 2, -pk))
    assert len({row["id"] for row in rows}) == 120


def test_it_keeps_the_filters_on_the_next_page(api, team):
    wanted = automation(team, "Wanted")
    fill(automation(team, "Other"), 30, status=Status.FAILED)
    ids = fill(wanted, 60, status=Status.FAILED)
    fill(wanted, 10)
    rows = walk(api, {"automation": wanted.pk, "status": "failed"})
    assert sorted(row["id"] for row in rows) == sorted(ids)


def test_it_keeps_page_numbers_for_other_lists(api, team):
    automation(team)
    page = api.get("/api/v1/automations/").json()
    assert page["count"] == 1
