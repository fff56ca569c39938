"""Issue 8, item 6: role escalation. Only an owner grants or removes the owner role, the
last owner stays, admins cannot invite owners; the same rules in the services and in
every admin page that changes members (accounts/roles.py holds them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from accounts import roles
from accounts import services as account_services
from accounts.models import Invitation, Membership, Role
from tests.security.staff import staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_admin(make_user, owner, team):
    user = make_user("adam")
    account_services.membership_set(actor=owner, team=team, user=user, role=Role.ADMIN)
    return user


def _membership(team, user) -> Membership:
    return Membership.objects.get(team=team, user=user)


def _team_form(team, rows: dict) -> dict:
    """The team's change form with its members inline; ``rows`` maps a membership to the
    role to post, or to None to tick its delete box."""
    data = {
        "name": team.name, "slug": team.slug,
        "memberships-TOTAL_FORMS": str(len(rows)), "memberships-INITIAL_FORMS": str(len(rows)),
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    for n, (membership, role) in enumerate(rows.items()):
        prefix = f"memberships-{n}-"
        data.update({
            prefix + "id": membership.pk, prefix + "team": team.pk,
            prefix + "user": membership.user_id, prefix + "role": role or membership.role,
        })  # fmt: skip
        if role is None:
            data[prefix + "DELETE"] = "on"
    return data


# -- through the admin, as a team admin (staff, not superuser) ---------------------------


def test_it_refuses_an_admin_who_makes_himself_owner(team, team_admin):
    mine = _membership(team, team_admin)
    client = staff_client(team_admin)
    response = client.post(f"/admin/accounts/membership/{mine.pk}/change/", {"role": "owner"})
    assert response.status_code == 200
    assert "Only an owner can grant or remove the owner role." in response.content.decode()
    assert _membership(team, team_admin).role == Role.ADMIN


def test_it_refuses_an_admin_who_makes_himself_owner_in_the_team_page(team, owner, team_admin):
    client = staff_client(team_admin)
    rows = {_membership(team, owner): "owner", _membership(team, team_admin): "owner"}
    response = client.post(f"/admin/accounts/team/{team.pk}/change/", _team_form(team, rows))
    assert response.status_code == 200
    assert "Only an owner can grant or remove the owner role." in response.content.decode()
    assert _membership(team, team_admin).role == Role.ADMIN


def test_it_refuses_an_admin_who_demotes_the_owner(team, owner, team_admin):
    theirs = _membership(team, owner)
    client = staff_client(team_admin)
    response = client.post(f"/admin/accounts/membership/{theirs.pk}/change/", {"role": "viewer"})
    assert response.status_code == 200
    assert "Only an owner can grant or remove the owner role." in response.content.decode()
    assert _membership(team, owner).role == Role.OWNER


def test_it_refuses_an_admin_who_deletes_the_owners_membership(team, owner, team_admin):
    theirs = _membership(team, owner)
    client = staff_client(team_admin)
    response = client.post(
        f"/admin/accounts/membership/{theirs.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert "Only an owner can grant or remove the owner role." in response.content.decode()
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_it_refuses_an_admin_who_removes_the_owner_in_the_team_page(team, owner, team_admin):
    client = staff_client(team_admin)
    rows = {_membership(team, owner): None, _membership(team, team_admin): "admin"}
    response = client.post(f"/admin/accounts/team/{team.pk}/change/", _team_form(team, rows))
    assert response.status_code == 200
    assert "Only an owner can grant or remove the owner role." in response.content.decode()
    assert _membership(team, owner).role == Role.OWNER


def test_it_refuses_an_admin_who_invites_an_owner(team, team_admin):
    client = staff_client(team_admin)
    data = {"team": team.pk, "email": "eve@example.com", "role": "owner"}
    response = client.post("/admin/accounts/invitation/add/", data)
    assert response.status_code == 200
    assert "Only an owner can grant or remove the owner role." in response.content.decode()
    assert not Invitation.objects.exists()


def test_an_admin_may_invite_and_change_roles_up_to_admin(make_user, team, team_admin):
    client = staff_client(team_admin)
    data = {"team": team.pk, "email": "eve@example.com", "role": "admin"}
    assert client.post("/admin/accounts/invitation/add/", data).status_code == 302
    assert Invitation.objects.get().invited_by == team_admin
    tom = make_user("tom")
    data = {"team": team.pk, "user": tom.pk, "role": "editor"}
    assert client.post("/admin/accounts/membership/add/", data).status_code == 302
    mine = _membership(team, tom)
    response = client.post(f"/admin/accounts/membership/{mine.pk}/change/", {"role": "admin"})
    assert response.status_code == 302
    assert _membership(team, tom).role == Role.ADMIN


def test_it_refuses_the_last_owner_who_demotes_himself(team, owner):
    client = staff_client(owner)
    mine = _membership(team, owner)
    response = client.post(f"/admin/accounts/membership/{mine.pk}/change/", {"role": "admin"})
    assert response.status_code == 200
    assert roles.NEEDS_AN_OWNER in response.content.decode()
    assert _membership(team, owner).role == Role.OWNER


def test_an_owner_may_hand_over_ownership_in_one_save(make_user, team, owner, team_admin):
    client = staff_client(owner)
    rows = {_membership(team, owner): "admin", _membership(team, team_admin): "owner"}
    response = client.post(f"/admin/accounts/team/{team.pk}/change/", _team_form(team, rows))
    assert response.status_code == 302
    assert _membership(team, team_admin).role == Role.OWNER
    assert _membership(team, owner).role == Role.ADMIN


def test_a_superuser_cannot_delete_the_last_owner(client, admin_user, team, owner):
    client.force_login(admin_user)
    theirs = _membership(team, owner)
    response = client.post(
        f"/admin/accounts/membership/{theirs.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert roles.NEEDS_AN_OWNER in response.content.decode()
    assert Membership.objects.filter(pk=theirs.pk).exists()


# -- the services, which every interface calls -------------------------------------------


def test_the_service_refuses_an_admin_granting_owner(make_user, team, team_admin):
    with pytest.raises(ValidationError, match="Only an owner"):
        account_services.membership_set(
            actor=team_admin, team=team, user=make_user("tom"), role=Role.OWNER
        )


def test_the_service_refuses_an_editor_adding_members(make_user, team, teammate):
    with pytest.raises(ValidationError, match="owners and admins"):
        account_services.membership_set(
            actor=teammate, team=team, user=make_user("eve"), role=Role.VIEWER
        )


def test_the_service_refuses_the_last_owner_leaving(team, owner):
    with pytest.raises(ValidationError, match="A team needs an owner"):
        account_services.membership_remove(actor=owner, membership=_membership(team, owner))


def test_the_service_lets_a_member_leave(team, teammate):
    account_services.membership_remove(actor=teammate, membership=_membership(team, teammate))
    assert not Membership.objects.filter(team=team, user=teammate).exists()


def test_the_service_refuses_a_superuser_demoting_the_last_owner(admin_user, team, owner):
    with pytest.raises(ValidationError, match="A team needs an owner"):
        account_services.membership_set(actor=admin_user, team=team, user=owner, role=Role.ADMIN)


def test_the_service_lets_an_owner_demote_himself_once_there_is_another(team, owner, team_admin):
    account_services.membership_set(actor=owner, team=team, user=team_admin, role=Role.OWNER)
    account_services.membership_set(actor=owner, team=team, user=owner, role=Role.EDITOR)
    assert _membership(team, owner).role == Role.EDITOR


def test_the_service_refuses_an_admin_inviting_an_owner(team, team_admin):
    with pytest.raises(ValidationError, match="Only an owner"):
        account_services.invitation_create(
            actor=team_admin, team=team, email="eve@example.com", role=Role.OWNER
        )


def test_the_service_lets_an_owner_invite_an_owner(team, owner):
    invitation = account_services.invitation_create(
        actor=owner, team=team, email="eve@example.com", role=Role.OWNER
    )
    assert invitation.invited_by == owner


@pytest.mark.parametrize(
    ("actor", "current", "new", "allowed"),
    [
        ("owner", "admin", "owner", True),
        ("owner", "owner", "viewer", True),
        ("admin", "editor", "admin", True),
        ("admin", "admin", "viewer", True),
        ("admin", None, "owner", False),
        ("admin", "owner", "admin", False),
        ("admin", "admin", "owner", False),
        ("editor", "viewer", "editor", False),
        ("viewer", None, "viewer", False),
        (None, None, "viewer", False),
    ],
)
def test_the_role_rules(actor, current, new, allowed):
    assert roles.can_assign_role(actor, current, new) is allowed


def test_docs_roles_md_shows_the_matrix_that_is_enforced():
    text = (Path(__file__).parents[2] / "docs" / "ROLES.md").read_text()
    for action in roles.Action:
        row = next(line for line in text.splitlines() if f"`{action.value}`" in line)
        cells = [cell.strip() for cell in row.strip("|").split("|")][2:]
        expected = ["yes" if roles.can(role, action) else "no" for role in reversed(Role)]
        assert cells == expected, action


def test_a_superuser_cannot_delete_the_last_owners_user(admin_client, owner, team):
    response = admin_client.post(f"/admin/auth/user/{owner.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert type(owner).objects.filter(pk=owner.pk).exists()
    page = admin_client.get(response["Location"]).content.decode()
    assert "is the last owner of &#x27;Acme Content&#x27;" in page


def test_a_superuser_cannot_bulk_delete_the_last_owners_user(admin_client, owner, team):
    admin_client.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [owner.pk], "post": "yes"},
    )
    assert type(owner).objects.filter(pk=owner.pk).exists()


def test_a_superuser_deletes_a_user_whose_team_keeps_an_owner(admin_client, owner, team, make_user):
    second = make_user("sam")
    account_services.membership_set(actor=owner, team=team, user=second, role=Role.OWNER)
    admin_client.post(f"/admin/auth/user/{owner.pk}/delete/", {"post": "yes"})
    assert not type(owner).objects.filter(pk=owner.pk).exists()
