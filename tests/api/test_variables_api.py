"""/api/v1/variables/: every member reads names and plain values, admins manage them,
a secret's value is never returned, other teams and anonymous callers get nothing."""

from __future__ import annotations

import json

import pytest

from accounts import services as account_services
from accounts import variables as team_variables
from accounts.models import Role, TeamVariable
from tests.conftest import api_for

pytestmark = pytest.mark.django_db

SECRET = "sk-live-0123456789abcdef"


@pytest.fixture
def admin(make_user, owner, team):
    user = make_user("ada")
    account_services.membership_set(actor=owner, team=team, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def token(team, owner):
    return team_variables.variable_create(
        actor=owner, team=team, name="TOKEN", value=SECRET, secret=True
    )


def _call(user, method, url, body=None, team=None):
    headers = {"X-Team": team.slug} if team is not None else {}
    return getattr(api_for(user), method)(url, body, format="json", headers=headers)


def test_it_creates_a_secret_and_never_returns_it(admin, team):
    response = _call(
        admin, "post", "/api/v1/variables/", {"name": "KEY", "value": SECRET, "secret": True}, team
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["value"] is None and body["secret"] is True
    assert body["reference"] == "{{ vars.KEY }}"
    assert SECRET not in response.content.decode()
    listed = _call(admin, "get", "/api/v1/variables/", team=team)
    assert SECRET not in listed.content.decode()
    detail = _call(admin, "get", f"/api/v1/variables/{body['id']}/", team=team)
    assert SECRET not in detail.content.decode()


def test_it_shows_a_plain_value(admin, team):
    _call(admin, "post", "/api/v1/variables/", {"name": "REGION", "value": "eu"}, team)
    assert _call(admin, "get", "/api/v1/variables/", team=team).json()[0]["value"] == "eu"


def test_a_secret_left_blank_keeps_its_value(admin, team, token):
    response = _call(
        admin, "patch", f"/api/v1/variables/{token.pk}/", {"name": "API_TOKEN", "value": ""}, team
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.name == "API_TOKEN" and token.run_value() == SECRET


def test_it_refuses_a_name_a_reference_cannot_use(admin, team):
    response = _call(admin, "post", "/api/v1/variables/", {"name": "my-var", "value": "x"}, team)
    assert response.status_code == 400
    assert "name" in response.json()


def test_it_refuses_a_second_variable_of_one_name(admin, team, token):
    response = _call(
        admin, "post", "/api/v1/variables/", {"name": "TOKEN", "value": "xxxxxxxx"}, team
    )
    assert response.status_code == 400
    assert "already has a variable named 'TOKEN'" in json.dumps(response.json())


def test_an_editor_reads_but_cannot_change(teammate, team, token):
    assert _call(teammate, "get", "/api/v1/variables/", team=team).status_code == 200
    response = _call(teammate, "patch", f"/api/v1/variables/{token.pk}/", {"value": "x" * 8}, team)
    assert response.status_code == 403
    assert "needs the admin role" in response.json()["detail"]
    assert _call(teammate, "delete", f"/api/v1/variables/{token.pk}/", team=team).status_code == 403
    token.refresh_from_db()
    assert token.run_value() == SECRET


def test_a_viewer_cannot_create(viewer, team):
    response = _call(viewer, "post", "/api/v1/variables/", {"name": "X", "value": "1"}, team)
    assert response.status_code == 403
    assert not TeamVariable.objects.exists()


def test_another_team_gets_404(outsider, other_team, token):
    assert (
        _call(outsider, "get", f"/api/v1/variables/{token.pk}/", team=other_team).status_code == 404
    )
    response = _call(
        outsider, "patch", f"/api/v1/variables/{token.pk}/", {"value": "stolen-value"}, other_team
    )
    assert response.status_code == 404
    assert _call(outsider, "get", "/api/v1/variables/", team=other_team).json() == []


def test_another_team_cannot_name_ours(outsider, team, token):
    response = _call(outsider, "get", "/api/v1/variables/", team=team)
    assert response.status_code == 404


def test_anonymous_callers_get_401(team, token):
    assert _call(None, "get", "/api/v1/variables/", team=team).status_code == 401
    assert _call(None, "post", "/api/v1/variables/", {"name": "X", "value": "1"}).status_code == 401


def test_it_deletes(admin, team, token):
    assert _call(admin, "delete", f"/api/v1/variables/{token.pk}/", team=team).status_code == 204
    assert not TeamVariable.objects.exists()


def test_it_is_in_the_openapi_schema(api):
    schema = api.get("/api/schema/?format=json").json()
    assert "/api/v1/variables/" in schema["paths"]
    assert "/api/v1/variables/{id}/" in schema["paths"]
