"""GET /api/v1/executions/ renders its rows from .values(), field for field as
ExecutionOut renders the same executions (which documents them)."""

from __future__ import annotations

import pytest

from automations.api import serializers as s
from automations.models import Execution, Status
from tests.automations.factories import make_automation, make_execution, make_project

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_a_row_is_what_execution_out_makes_of_it(team, settings, zone):
    settings.TIME_ZONE = zone
    automation = make_automation(make_project(team), "Named")
    parent = make_execution(automation)
    done = make_execution(automation, parent=parent, depth=1, error="boom", tokens_used=7)
    Execution.objects.filter(pk=done.pk).update(
        status=Status.FAILED, started_at="2026-03-01T10:11:12.5Z", duration_ms=40
    )
    make_execution(automation, retry_of=done, is_test=True)
    for execution in Execution.objects.select_related("automation"):
        row = Execution.objects.filter(pk=execution.pk).values(*s.EXECUTION_ROW.values()).get()
        expected = s.ExecutionOut(execution).data
        assert list(s.execution_row(row).items()) == list(expected.items())


def test_the_api_lists_them_so(api, team):
    automation = make_automation(make_project(team))
    execution = make_execution(automation, error="x")
    listed = api.get("/api/v1/executions/").json()["results"]
    execution = Execution.objects.select_related("automation").get(pk=execution.pk)
    assert listed == [dict(s.ExecutionOut(execution).data)]
