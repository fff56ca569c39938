"""Team settings, the team switcher and what each role is shown in the wizard."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services as account_services
from accounts.models import Membership, Role, Team
from automations import services
from tests.automations.factories import make_project
from tests.security.staff import staff_client

pytestmark = pytest.mark.django_db

HTTP = {
    "name": "E",
    "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
    "steps": [],
}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def automation(team):
    return services.automation_create(project=make_project(team), data=HTTP)


def test_a_viewer_sees_a_read_only_trigger_form(viewer, automation):
    page = _client(viewer).get(f"/automations/{automation.pk}/trigger/").content.decode()
    assert '<fieldset class="readonly" disabled>' in page
    assert "Proceed" not in page
    assert "Test Trigger" not in page
    assert "Activate" not in _client(viewer).get(f"/automations/{automation.pk}/").content.decode()


def test_an_editor_is_not_offered_to_add_accounts(teammate, automation):
    url = f"/automations/{automation.pk}/steps/new/?connector=chatgpt&action=chat"
    page = _client(teammate).get(url).content.decode()
    assert "+ Add New Account" not in page
    assert "An admin of the team adds accounts" in page


def test_an_admin_is_offered_to_add_accounts(make_user, owner, team, automation):
    adam = make_user("adam")
    account_services.membership_set(actor=owner, team=team, user=adam, role=Role.ADMIN)
    url = f"/automations/{automation.pk}/steps/new/?connector=chatgpt&action=chat"
    assert "+ Add New Account" in _client(adam).get(url).content.decode()


def test_an_editor_has_no_invite_form(teammate, team):
    page = _client(teammate).get(f"/teams/{team.slug}/").content.decode()
    assert "Invite someone" not in page
    assert "Audit log" not in page


def test_the_chosen_team_is_remembered_across_sessions(owner, team):
    other = account_services.team_create(name="Zeta", owner=owner)
    _client(owner).post("/teams/switch/", {"team": other.slug})
    page = _client(owner).get("/").content.decode()
    assert "Automations of Zeta" in page


def test_the_last_owner_cannot_leave(owner, team):
    response = _client(owner).post(f"/teams/{team.slug}/leave/", follow=True)
    assert "A team needs an owner" in response.content.decode()
    assert Membership.objects.filter(team=team, user=owner).exists()


def test_deleting_a_team_needs_its_name_typed(owner, team):
    _client(owner).post(f"/teams/{team.slug}/delete/", {"confirm": "acme"})
    assert Team.objects.filter(pk=team.pk).exists()
    _client(owner).post(f"/teams/{team.slug}/delete/", {"confirm": team.name})
    assert not Team.objects.filter(pk=team.pk).exists()


def test_transferring_ownership_makes_the_owner_an_admin(owner, team, teammate):
    _client(owner).post(f"/teams/{team.slug}/transfer/", {"user": teammate.pk})
    assert Membership.objects.get(team=team, user=teammate).role == Role.OWNER
    assert Membership.objects.get(team=team, user=owner).role == Role.ADMIN


def test_a_team_admin_cannot_rename_the_team_in_the_admin(make_user, owner, team):
    adam = make_user("adam")
    account_services.membership_set(actor=owner, team=team, user=adam, role=Role.ADMIN)
    client = staff_client(adam)
    page = client.get(f"/admin/accounts/team/{team.pk}/change/").content.decode()
    assert 'name="name"' not in page
    assert (
        client.post(f"/admin/accounts/team/{team.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert Team.objects.filter(pk=team.pk, name="Acme Content").exists()
