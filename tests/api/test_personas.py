"""Every API endpoint that touches team data, called by a member, a member of another
team, and an anonymous caller."""

from __future__ import annotations

import pytest

from automations import services
from automations.models import Execution, Status
from tests.automations.factories import make_project
from tests.conftest import api_for

pytestmark = pytest.mark.django_db

ECHO = {
    "name": "Echo",
    "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
    "steps": [{"key": "reply", "connector": "response", "action": "respond",
               "config": {"body": "{{ trigger.body }}"}}],
}  # fmt: skip


@pytest.fixture
def world(team, vault_connector):
    from accounts import services as account_services

    project = make_project(team)
    automation = services.automation_create(project=project, data=ECHO)
    automation.trigger_sample = {"body": "sample"}
    automation.save()
    failed = Execution.objects.create(automation=automation, status=Status.FAILED, error="boom")
    account = account_services.account_create(
        team=team, connector="vault", title="V", credentials={"api_key": "k" * 20, "region": "eu"}
    )
    return {"project": project, "automation": automation, "execution": failed, "account": account}


# (method, url template, body, status for the team member)
DETAIL_ENDPOINTS = [
    ("get", "/api/v1/accounts/{account}/", None, 200),
    ("patch", "/api/v1/accounts/{account}/", {"title": "V2"}, 200),
    ("delete", "/api/v1/accounts/{account}/", None, 204),
    ("get", "/api/v1/projects/{project}/", None, 200),
    ("get", "/api/v1/automations/{automation}/", None, 200),
    ("patch", "/api/v1/automations/{automation}/", {"description": "new"}, 200),
    ("put", "/api/v1/automations/{automation}/", {"name": "Echo 2"}, 200),
    ("delete", "/api/v1/automations/{automation}/", None, 204),
    ("get", "/api/v1/automations/{automation}/export/", None, 200),
    ("post", "/api/v1/automations/{automation}/activate/", None, 200),
    ("post", "/api/v1/automations/{automation}/deactivate/", None, 200),
    ("post", "/api/v1/automations/{automation}/run/", {"payload": {"body": 1}, "wait": True}, 200),
    ("post", "/api/v1/automations/{automation}/test-trigger/", None, 200),
    ("post", "/api/v1/automations/{automation}/steps/reply/test/", None, 200),
    ("get", "/api/v1/automations/{automation}/data-elements/", None, 200),
    ("get", "/api/v1/accounts/{account}/lookup/anything/", None, 400),
    ("get", "/api/v1/executions/{execution}/", None, 200),
    ("post", "/api/v1/executions/{execution}/retry/", None, 202),
]
LIST_ENDPOINTS = [
    "/api/v1/accounts/",
    "/api/v1/projects/",
    "/api/v1/automations/",
    "/api/v1/executions/",
]


def _url(template: str, world: dict) -> str:
    return template.format(**{key: obj.pk for key, obj in world.items()})


def _call(client, method, url, body):
    return (
        getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)
    )


@pytest.mark.parametrize("method, template, body, expected", DETAIL_ENDPOINTS)
def test_a_member_can_use_it(world, owner, method, template, body, expected):
    response = _call(api_for(owner), method, _url(template, world), body)
    assert response.status_code == expected, response.content


@pytest.mark.parametrize("method, template, body, expected", DETAIL_ENDPOINTS)
def test_a_member_of_another_team_gets_404(world, outsider, method, template, body, expected):
    response = _call(api_for(outsider), method, _url(template, world), body)
    assert response.status_code == 404, response.content


@pytest.mark.parametrize("method, template, body, expected", DETAIL_ENDPOINTS)
def test_an_anonymous_caller_is_refused(world, method, template, body, expected):
    response = _call(api_for(None), method, _url(template, world), body)
    assert response.status_code == 401


@pytest.mark.parametrize("url", LIST_ENDPOINTS)
def test_lists_show_only_the_callers_team(world, owner, outsider, url):
    mine = api_for(owner).get(url).json()
    theirs = api_for(outsider).get(url).json()
    rows = lambda page: page["results"] if isinstance(page, dict) else page  # noqa: E731
    assert len(rows(mine)) >= 1
    assert rows(theirs) == []


@pytest.mark.parametrize("url", [*LIST_ENDPOINTS, "/api/v1/teams/", "/api/v1/connectors/"])
def test_lists_refuse_anonymous_callers(url):
    assert api_for(None).get(url).status_code == 401


def test_creating_refuses_another_teams_project(world, outsider):
    response = api_for(outsider).post(
        "/api/v1/automations/", {"project": world["project"].pk, **ECHO}, format="json"
    )
    assert response.status_code == 404


def test_importing_refuses_another_teams_project(world, outsider):
    document = services.automation_export(automation=world["automation"])
    response = api_for(outsider).post(
        "/api/v1/automations/import/",
        {"project": world["project"].pk, "document": document},
        format="json",
    )
    assert response.status_code == 404


def test_a_viewer_can_read_but_not_write(world, viewer):
    client = api_for(viewer)
    assert client.get(_url("/api/v1/automations/{automation}/", world)).status_code == 200
    response = client.post(_url("/api/v1/automations/{automation}/activate/", world))
    assert response.status_code == 403
    assert "viewer" in response.json()["detail"]


def test_the_team_header_picks_among_several_teams(world, owner, outsider, other_team):
    from accounts import services as account_services

    account_services.membership_set(actor=outsider, team=other_team, user=owner, role="viewer")
    client = api_for(owner)
    assert client.get("/api/v1/automations/").status_code == 400
    response = client.get("/api/v1/automations/", headers={"X-Team": world["project"].team.slug})
    assert response.json()["count"] == 1
    response = client.get("/api/v1/automations/", headers={"X-Team": other_team.slug})
    assert response.json()["count"] == 0
    assert client.get("/api/v1/automations/", headers={"X-Team": "nope"}).status_code == 404
