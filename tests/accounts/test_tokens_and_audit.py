"""API tokens (hashed, shown once, read-only, revocable) and the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.audit import audit_prune
from accounts.models import ApiToken, AuditEvent, AuditKind, Role
from automations import services
from automations.tasks import prune_executions
from tests.automations.factories import make_project
from tests.conftest import api_for

pytestmark = pytest.mark.django_db


def _token(user, **extra) -> str:
    response = api_for(user).post("/api/v1/tokens/", {"name": "ci", **extra}, format="json")
    assert response.status_code == 201
    return response.json()["token"]


def _with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_it_keeps_only_a_hash_of_the_token(owner):
    key = _token(owner)
    stored = ApiToken.objects.get()
    assert key not in (stored.key_hash, stored.prefix)
    assert key.startswith(stored.prefix)
    assert "token" not in api_for(owner).get("/api/v1/tokens/").json()[0]


def test_a_token_acts_as_its_user_and_notes_its_last_use(owner, team):
    key = _token(owner)
    assert _with(key).get("/api/v1/projects/").status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_a_read_only_token_cannot_write(owner, team):
    key = _token(owner, read_only=True)
    assert _with(key).get("/api/v1/projects/").status_code == 200
    response = _with(key).post("/api/v1/projects/", {"name": "P"}, format="json")
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]


def test_a_revoked_token_is_refused(owner, team):
    key = _token(owner)
    token = ApiToken.objects.get()
    assert api_for(owner).delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert _with(key).get("/api/v1/projects/").status_code == 401


def test_a_user_cannot_revoke_another_users_token(owner, outsider):
    _token(owner)
    token = ApiToken.objects.get()
    assert api_for(outsider).delete(f"/api/v1/tokens/{token.pk}/").status_code == 404


def test_a_token_acts_with_its_users_role(viewer, team):
    key = _token(viewer)
    response = _with(key).post("/api/v1/projects/", {"name": "P"}, format="json")
    assert response.status_code == 403


def test_the_profile_page_shows_a_new_token_once(owner):
    client = Client()
    client.force_login(owner)
    made = client.post("/profile/tokens/", {"name": "laptop"})
    key = made.context["new_key"]
    assert key in made.content.decode()
    assert key not in client.get("/profile/").content.decode()


def test_it_records_automation_changes_with_actor_and_address(api, owner, team):
    project = make_project(team)
    body = {
        "project": project.pk,
        "name": "Echo",
        "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
        "steps": [],
    }
    created = api.post("/api/v1/automations/", body, format="json", REMOTE_ADDR="10.1.2.3")
    pk = created.json()["id"]
    api.post(f"/api/v1/automations/{pk}/activate/")
    event = AuditEvent.objects.get(kind=AuditKind.AUTOMATION_CREATED)
    assert (event.actor, event.team, event.object_repr) == (owner, team, "Echo")
    assert event.client_address == "10.1.2.3"
    assert AuditEvent.objects.filter(kind=AuditKind.AUTOMATION_ACTIVATED, actor=owner).exists()


def test_an_account_change_names_fields_not_secrets(api, team, vault_connector):
    account = account_services.account_create(
        team=team, connector="vault", title="V", credentials={"api_key": "k" * 20, "region": "eu"}
    )
    secret = "s3cret-" + "x" * 20
    api.patch(
        f"/api/v1/accounts/{account.pk}/", {"credentials": {"api_key": secret}}, format="json"
    )
    event = AuditEvent.objects.get(kind=AuditKind.ACCOUNT_CHANGED)
    assert "api_key" in event.summary
    assert secret not in event.summary


def test_the_audit_api_filters_by_kind_and_person(api, owner, team, teammate):
    account_services.membership_set(actor=owner, team=team, user=teammate, role=Role.VIEWER)
    rows = api.get(f"/api/v1/teams/{team.slug}/audit/?kind=member.role_changed").json()["results"]
    assert [r["summary"] for r in rows] == ["editor → viewer"]
    mine = api.get(f"/api/v1/teams/{team.slug}/audit/?actor={teammate.pk}").json()["results"]
    assert mine == []


def test_the_audit_page_filters_by_date(owner, team, teammate):
    AuditEvent.objects.update(created_at=timezone.now() - timedelta(days=10))
    account_services.membership_set(actor=owner, team=team, user=teammate, role=Role.ADMIN)
    client = Client()
    client.force_login(owner)
    today = timezone.now().date().isoformat()
    page = client.get(f"/teams/{team.slug}/audit/?since={today}").content.decode()
    assert "editor → admin" in page
    assert "added as editor" not in page


def test_a_failed_sign_in_is_recorded_without_the_password(client, owner, team):
    client.post("/login/", {"username": "olivia", "password": "wrong-guess-1"})
    event = AuditEvent.objects.get(kind=AuditKind.SIGNIN_FAILED)
    assert event.actor == owner
    assert "wrong-guess-1" not in event.summary
    rows = api_for(owner).get(f"/api/v1/teams/{team.slug}/audit/?kind=signin.failed").json()
    assert rows["count"] == 1


def test_old_entries_are_pruned_by_the_hourly_task(team, owner, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    AuditEvent.objects.update(created_at=timezone.now() - timedelta(days=31))
    account_services.team_rename(actor=owner, team=team, name="Acme 2")
    prune_executions()
    assert list(AuditEvent.objects.values_list("kind", flat=True)) == [AuditKind.TEAM_RENAMED]
    assert audit_prune(days=0) == 1


def test_a_run_by_hand_is_recorded(api, team):
    project = make_project(team)
    automation = services.automation_create(
        project=project,
        data={
            "name": "E",
            "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
            "steps": [],
        },
    )
    api.post(f"/api/v1/automations/{automation.pk}/run/", {"payload": {}}, format="json")
    assert AuditEvent.objects.filter(kind=AuditKind.AUTOMATION_RUN).count() == 1
