"""The execution log's pages at any size: an automation's Execution log and the team's
Executions page read one page by cursor (newest first, 50 rows, Older and Newer links,
no count), in a number of queries that does not grow with the rows shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automations.models import Execution, Status
from automations.views.log_pages import PER_PAGE
from tests.automations.factories import make_automation, make_execution, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client, owner):
    client.force_login(owner)
    return client


def fill(automation, count: int) -> list[int]:
    """``count`` executions, two to each second (ties go by id), newest last."""
    now = timezone.now()
    rows = Execution.objects.bulk_create(
        Execution(automation=automation, status=Status.SUCCEEDED) for _ in range(count)
    )
    for index, row in enumerate(rows):
        Execution.objects.filter(pk=row.pk).update(
            created_at=now - timedelta(seconds=(count - index) // 2)
        )
    return [row.pk for row in rows]


def shown(response) -> list[int]:
    return [row.pk for row in response.context["page"]]


def walk(member, url: str, params: dict) -> tuple[list[int], list]:
    """Every row from the first page down by Older, and the pages on the way."""
    rows, pages = [], []
    response = member.get(url, params)
    while True:
        rows.extend(shown(response))
        pages.append(response.context["page"])
        if not pages[-1].older:
            return rows, pages
        response = member.get(url, {**params, "before": pages[-1].older})


def test_an_automations_log_walks_every_run_once_newest_first(member, team):
    automation = make_automation(make_project(team))
    ids = fill(automation, 2 * PER_PAGE + 7)
    make_execution(make_automation(make_project(team), "Other"))
    parent = Execution.objects.get(pk=ids[0])
    make_execution(automation, parent=parent)  # a child run is listed on its parent's page only
    rows, pages = walk(member, f"/automations/{automation.pk}/executions/", {})
    assert rows == ids[::-1]
    assert [len(page.rows) for page in pages] == [PER_PAGE, PER_PAGE, 7]
    assert pages[0].first and not pages[0].newer and pages[1].newer


def test_newer_goes_back_up_a_page(member, team):
    automation = make_automation(make_project(team))
    fill(automation, 3 * PER_PAGE)
    url = f"/automations/{automation.pk}/executions/"
    first = member.get(url)
    second = member.get(url, {"before": first.context["page"].older})
    third = member.get(url, {"before": second.context["page"].older})
    back = member.get(url, {"after": third.context["page"].newer})
    assert shown(back) == shown(second)
    top = member.get(url, {"after": back.context["page"].newer})
    assert shown(top) == shown(first) and not top.context["page"].newer
    page = third.content.decode()
    assert "« Newest" in page and "← Newer" in page and "Older →" not in page


def test_the_team_page_keeps_its_filters_on_every_page(member, team):
    wanted = make_automation(make_project(team), "Wanted")
    ids = fill(wanted, PER_PAGE + 3)
    Execution.objects.filter(pk__in=ids[:20]).update(status=Status.FAILED)
    fill(make_automation(make_project(team), "Other"), 10)
    Execution.objects.filter(automation__name="Other").update(status=Status.FAILED)
    params = {"automation": wanted.pk, "status": "failed"}
    rows, pages = walk(member, "/executions/", params)
    assert rows == ids[:20][::-1] and len(pages) == 1
    rows, pages = walk(member, "/executions/", {"automation": wanted.pk})
    assert rows == ids[::-1] and len(pages) == 2
    assert f"automation={wanted.pk}" in pages[1].query


def test_a_cursor_that_is_not_one_shows_the_newest_page(member, team):
    automation = make_automation(make_project(team))
    ids = fill(automation, 3)
    for cursor in ("x", "12", "1.a", ""):
        response = member.get(f"/automations/{automation.pk}/executions/", {"before": cursor})
        assert shown(response) == ids[::-1]


@pytest.mark.parametrize("url", ["/executions/", "/automations/{pk}/executions/"])
def test_a_page_takes_the_same_queries_for_one_row_or_fifty(
    member, team, url, django_assert_num_queries
):
    automation = make_automation(make_project(team))
    make_execution(automation)
    url = url.format(pk=automation.pk)
    member.get(url)
    with CaptureQueriesContext(connection) as one:
        member.get(url)
    fill(automation, PER_PAGE + 5)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(shown(member.get(url))) == PER_PAGE


def test_the_api_takes_the_same_queries_for_one_row_or_fifty(api, team, django_assert_num_queries):
    automation = make_automation(make_project(team))
    make_execution(automation)
    api.get("/api/v1/executions/")
    with CaptureQueriesContext(connection) as one:
        api.get("/api/v1/executions/")
    fill(automation, 60)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(api.get("/api/v1/executions/").json()["results"]) == 50
