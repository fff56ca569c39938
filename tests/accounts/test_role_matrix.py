"""The role matrix (accounts/roles.py, docs/ROLES.md) walked over every team view and
endpoint, by six personas: owner, admin, editor, viewer, a member of another team, and
an anonymous caller. Each row names the action of the matrix it needs; a member whose
role may do it gets the success status, any other member a 403 (in the web pages, the
site's page naming the role needed), the outsider a 404 and the anonymous caller 401
(API) or the sign-in page (web)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver

from accounts import roles
from accounts import services as account_services
from accounts import variables as team_variables
from accounts.models import Role
from accounts.roles import Action
from automations import services
from automations.models import Execution, Status
from tests.automations.factories import make_project
from tests.conftest import api_for

pytestmark = pytest.mark.django_db

ECHO = {
    "name": "Echo",
    "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
    "steps": [
        {
            "key": "reply",
            "connector": "response",
            "action": "respond",
            "config": {"body": "{{ trigger.body }}"},
        }
    ],
}
VAULT = {"api_key": "k" * 20, "region": "eu"}
PERSONAS = ["owner", "admin", "editor", "viewer", "outsider", "anonymous"]


@pytest.fixture
def world(make_user, team, owner, outsider, vault_connector, settings) -> dict[str, Any]:
    people = {"owner": owner, "outsider": outsider, "anonymous": None}
    for name, role in [("admin", Role.ADMIN), ("editor", Role.EDITOR), ("viewer", Role.VIEWER)]:
        people[name] = make_user(f"{name}-persona")
        account_services.membership_set(actor=owner, team=team, user=people[name], role=role)
    # The member that the member endpoints act on: no persona acts on itself.
    wes = make_user("wes")
    account_services.membership_set(actor=owner, team=team, user=wes, role=Role.VIEWER)
    project = make_project(team)
    automation = services.automation_create(project=project, data=ECHO)
    automation.trigger_sample = {"body": "sample"}
    automation.save()
    execution = Execution.objects.create(automation=automation, status=Status.FAILED, error="x")
    account = account_services.account_create(
        team=team, connector="vault", title="V", credentials=VAULT
    )
    variable = team_variables.variable_create(
        actor=owner, team=team, name="REGION", value="eu-west"
    )
    invitation = account_services.invitation_create(
        actor=owner, team=team, email="ivy@example.com", role=Role.EDITOR
    )
    ids = {
        "slug": team.slug,
        "team_name": team.name,
        "project": project.pk,
        "automation": automation.pk,
        "execution": execution.pk,
        "account": account.pk,
        "invitation": invitation.pk,
        "variable": variable.pk,
        "wes": wes.pk,
        "document": services.automation_export(automation=automation),
    }
    return {"people": people, "ids": ids, "team": team}


# (method, url, body, action, status on success). Bodies may name ids: {"project": "{project}"}.
API = [
    ("get", "/api/v1/accounts/", None, Action.VIEW, 200),
    (
        "post",
        "/api/v1/accounts/",
        {"connector": "vault", "title": "V3", "credentials": VAULT},
        Action.MANAGE_ACCOUNTS,
        201,
    ),
    ("get", "/api/v1/accounts/{account}/", None, Action.VIEW, 200),
    ("patch", "/api/v1/accounts/{account}/", {"title": "V2"}, Action.MANAGE_ACCOUNTS, 200),
    ("delete", "/api/v1/accounts/{account}/", None, Action.MANAGE_ACCOUNTS, 204),
    ("get", "/api/v1/accounts/{account}/lookup/anything/", None, Action.USE_ACCOUNTS, 400),
    ("get", "/api/v1/variables/", None, Action.VIEW, 200),
    (
        "post",
        "/api/v1/variables/",
        {"name": "TOKEN", "value": "s3cr3t-value", "secret": True},
        Action.MANAGE_VARIABLES,
        201,
    ),
    ("get", "/api/v1/variables/{variable}/", None, Action.VIEW, 200),
    ("patch", "/api/v1/variables/{variable}/", {"value": "us-east"}, Action.MANAGE_VARIABLES, 200),
    ("delete", "/api/v1/variables/{variable}/", None, Action.MANAGE_VARIABLES, 204),
    ("get", "/api/v1/projects/", None, Action.VIEW, 200),
    ("post", "/api/v1/projects/", {"name": "P2"}, Action.EDIT_AUTOMATIONS, 201),
    ("get", "/api/v1/projects/{project}/", None, Action.VIEW, 200),
    ("get", "/api/v1/automations/", None, Action.VIEW, 200),
    (
        "post",
        "/api/v1/automations/",
        {**ECHO, "name": "Echo 3", "project": "{project}"},
        Action.EDIT_AUTOMATIONS,
        201,
    ),
    ("get", "/api/v1/automations/{automation}/", None, Action.VIEW, 200),
    (
        "patch",
        "/api/v1/automations/{automation}/",
        {"description": "new"},
        Action.EDIT_AUTOMATIONS,
        200,
    ),
    ("put", "/api/v1/automations/{automation}/", {"name": "Echo 2"}, Action.EDIT_AUTOMATIONS, 200),
    ("delete", "/api/v1/automations/{automation}/", None, Action.EDIT_AUTOMATIONS, 204),
    ("get", "/api/v1/automations/{automation}/export/", None, Action.VIEW, 200),
    (
        "post",
        "/api/v1/automations/import/",
        {"project": "{project}", "document": "{document}", "name": "Imported"},
        Action.EDIT_AUTOMATIONS,
        201,
    ),
    ("post", "/api/v1/automations/{automation}/activate/", None, Action.EDIT_AUTOMATIONS, 200),
    ("post", "/api/v1/automations/{automation}/deactivate/", None, Action.EDIT_AUTOMATIONS, 200),
    (
        "post",
        "/api/v1/automations/{automation}/run/",
        {"payload": {"body": 1}, "wait": True},
        Action.RUN,
        200,
    ),
    ("post", "/api/v1/automations/{automation}/test-trigger/", None, Action.EDIT_AUTOMATIONS, 200),
    (
        "post",
        "/api/v1/automations/{automation}/steps/reply/test/",
        None,
        Action.EDIT_AUTOMATIONS,
        200,
    ),
    ("get", "/api/v1/automations/{automation}/data-elements/", None, Action.VIEW, 200),
    (
        "post",
        "/api/v1/templates/translate_with_function_calling/use/",
        {"project": "{project}"},
        Action.EDIT_AUTOMATIONS,
        201,
    ),
    ("get", "/api/v1/executions/", None, Action.VIEW, 200),
    ("get", "/api/v1/executions/{execution}/", None, Action.VIEW, 200),
    ("post", "/api/v1/executions/{execution}/retry/", None, Action.RUN, 202),
    ("patch", "/api/v1/teams/{slug}/", {"name": "Renamed"}, Action.MANAGE_TEAM, 200),
    ("delete", "/api/v1/teams/{slug}/", None, Action.MANAGE_TEAM, 204),
    ("get", "/api/v1/teams/{slug}/members/", None, Action.VIEW, 200),
    (
        "patch",
        "/api/v1/teams/{slug}/members/{wes}/",
        {"role": "editor"},
        Action.MANAGE_MEMBERS,
        200,
    ),
    ("delete", "/api/v1/teams/{slug}/members/{wes}/", None, Action.MANAGE_MEMBERS, 204),
    ("get", "/api/v1/teams/{slug}/invitations/", None, Action.MANAGE_MEMBERS, 200),
    (
        "post",
        "/api/v1/teams/{slug}/invitations/",
        {"email": "new@example.com", "role": "editor"},
        Action.MANAGE_MEMBERS,
        201,
    ),
    ("delete", "/api/v1/teams/{slug}/invitations/{invitation}/", None, Action.MANAGE_MEMBERS, 204),
    ("get", "/api/v1/teams/{slug}/audit/", None, Action.MANAGE_MEMBERS, 200),
]

WEB = [
    (
        "post",
        "/automations/new/",
        {"team": "{slug}", "name": "Fresh"},
        Action.EDIT_AUTOMATIONS,
        302,
    ),
    ("get", "/automations/{automation}/", None, Action.VIEW, 200),
    ("get", "/automations/{automation}/trigger/", None, Action.VIEW, 200),
    (
        "post",
        "/automations/{automation}/trigger/",
        {"connector": "http", "trigger": "request"},
        Action.EDIT_AUTOMATIONS,
        302,
    ),
    ("post", "/automations/{automation}/trigger/test/", None, Action.EDIT_AUTOMATIONS, 200),
    ("get", "/automations/{automation}/steps/new/", None, Action.VIEW, 200),
    ("get", "/automations/{automation}/steps/reply/", None, Action.VIEW, 200),
    (
        "post",
        "/automations/{automation}/steps/reply/",
        {"connector": "response", "action": "respond", "body": "hi"},
        Action.EDIT_AUTOMATIONS,
        302,
    ),
    ("get", "/automations/{automation}/steps/reply/delete/", None, Action.EDIT_AUTOMATIONS, 200),
    (
        "post",
        "/automations/{automation}/steps/reorder/",
        {"order": "reply"},
        Action.EDIT_AUTOMATIONS,
        302,
    ),
    ("get", "/automations/{automation}/delete/", None, Action.EDIT_AUTOMATIONS, 200),
    ("post", "/automations/{automation}/steps/reply/test/", None, Action.EDIT_AUTOMATIONS, 200),
    ("post", "/automations/{automation}/steps/reply/delete/", None, Action.EDIT_AUTOMATIONS, 302),
    ("post", "/automations/{automation}/activate/", None, Action.EDIT_AUTOMATIONS, 302),
    ("post", "/automations/{automation}/deactivate/", None, Action.EDIT_AUTOMATIONS, 302),
    ("get", "/automations/{automation}/accounts/vault/new/", None, Action.MANAGE_ACCOUNTS, 200),
    (
        "post",
        "/automations/{automation}/accounts/vault/new/",
        {"title": "V9", **VAULT},
        Action.MANAGE_ACCOUNTS,
        302,
    ),
    (
        "get",
        "/automations/{automation}/lookup/vault/anything/?account={account}",
        None,
        Action.USE_ACCOUNTS,
        200,
    ),
    ("get", "/automations/{automation}/executions/", None, Action.VIEW, 200),
    ("get", "/executions/{execution}/", None, Action.VIEW, 200),
    ("post", "/executions/{execution}/retry/", None, Action.RUN, 302),
    ("get", "/teams/{slug}/", None, Action.VIEW, 200),
    ("get", "/teams/{slug}/audit/", None, Action.MANAGE_MEMBERS, 200),
    (
        "post",
        "/teams/{slug}/variables/",
        {"name": "KEY", "value": "s3cr3t-value", "secret": "on"},
        Action.MANAGE_VARIABLES,
        302,
    ),
    ("post", "/teams/{slug}/variables/{variable}/", {"value": "x"}, Action.MANAGE_VARIABLES, 302),
    ("post", "/teams/{slug}/variables/{variable}/delete/", None, Action.MANAGE_VARIABLES, 302),
    (
        "post",
        "/automations/{automation}/on-failure/",
        {"email": "on"},
        Action.EDIT_AUTOMATIONS,
        302,
    ),
    (
        "post",
        "/teams/{slug}/invite/",
        {"email": "new@example.com", "role": "editor"},
        Action.MANAGE_MEMBERS,
        302,
    ),
    ("post", "/teams/{slug}/invitations/{invitation}/resend/", None, Action.MANAGE_MEMBERS, 302),
    ("post", "/teams/{slug}/invitations/{invitation}/revoke/", None, Action.MANAGE_MEMBERS, 302),
    ("post", "/teams/{slug}/members/{wes}/role/", {"role": "editor"}, Action.MANAGE_MEMBERS, 302),
    ("post", "/teams/{slug}/members/{wes}/remove/", None, Action.MANAGE_MEMBERS, 302),
    ("post", "/teams/{slug}/rename/", {"name": "Renamed"}, Action.MANAGE_TEAM, 302),
    ("post", "/teams/{slug}/delete/", {"confirm": "{team_name}"}, Action.MANAGE_TEAM, 302),
    ("post", "/teams/{slug}/transfer/", {"user": "{wes}"}, Action.MANAGE_OWNERS, 302),
    ("post", "/teams/{slug}/leave/", None, Action.VIEW, 302),
]


def _fill(value: Any, ids: dict) -> Any:
    if value == "{document}":
        return ids["document"]
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    return value


def _role(world, persona: str) -> str | None:
    return persona if persona in ("owner", "admin", "editor", "viewer") else None


def _row_id(row) -> str:
    return f"{row[0]} {row[1]}"


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("row", API, ids=_row_id)
def test_it_enforces_the_matrix_in_the_api(world, persona, row):
    method, url, body, action, ok = row
    ids = world["ids"]
    client = api_for(world["people"][persona])
    kwargs = {"format": "json", "headers": {"X-Team": ids["slug"]}}
    response = getattr(client, method)(_fill(url, ids), _fill(body, ids), **kwargs)
    if persona == "anonymous":
        expected = 401
    elif persona == "outsider":
        expected = 404
    else:
        expected = ok if roles.can(_role(world, persona), action) else 403
    assert response.status_code == expected, response.content[:400]
    if expected == 403:
        least = roles.LEAST_ROLE[action].label.lower()
        assert f"needs the {least} role" in response.json()["detail"]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("row", WEB, ids=_row_id)
def test_it_enforces_the_matrix_in_the_pages(world, persona, row):
    method, url, data, action, ok = row
    ids = world["ids"]
    client = Client()
    if world["people"][persona] is not None:
        client.force_login(world["people"][persona])
    response = getattr(client, method)(_fill(url, ids), _fill(data, ids) or {})
    if persona == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
        return
    if persona == "outsider":
        assert response.status_code == 404
        return
    allowed = roles.can(_role(world, persona), action)
    assert response.status_code == (ok if allowed else 403), response.content[:400]
    if not allowed:
        page = response.content.decode()
        assert "Your role does not allow this" in page
        assert f"needs the {roles.LEAST_ROLE[action].label.lower()} role" in page


def test_the_matrix_covers_every_api_url(world):
    """A new endpoint under /api/v1/ must join the table above (or be listed here as one
    that is not a team's)."""
    not_team = {"connectors/", "teams/", "templates/", "tokens/", "tokens/<int:pk>/"}
    v1 = next(
        p for p in get_resolver("automations.api.urls").url_patterns if "v1" in str(p.pattern)
    )
    covered = {row[1] for row in API}
    for pattern in v1.url_patterns:
        route = str(pattern.pattern)
        if route in not_team:
            continue
        sample = "/api/v1/" + route
        for name in ["pk", "slug", "user_id", "key", "name"]:
            sample = sample.replace(f"<int:{name}>", "X").replace(f"<slug:{name}>", "X")
        assert any(_shape(url) == sample for url in covered), f"{route} is not in the matrix"


def _shape(url: str) -> str:
    return re.sub(r"\{[a-z_]+\}|reply|anything|translate_with_function_calling", "X", url)
