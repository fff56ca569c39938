"""Invitations: a single-use, expiring link bound to the invited e-mail, sent by e-mail."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from accounts.models import AuditEvent, AuditKind, Invitation, Membership, Role

pytestmark = pytest.mark.django_db


def _invite(client: Client, team, email: str = "ivy@example.com", role: str = "editor"):
    return client.post(f"/teams/{team.slug}/invite/", {"email": email, "role": role})


def _link() -> str:
    return re.search(r"http://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)


@pytest.fixture
def owner_client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def test_it_emails_a_link_whose_token_is_not_stored(owner_client, team):
    assert _invite(owner_client, team).status_code == 302
    assert mail.outbox[-1].to == ["ivy@example.com"]
    token = _link().rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    assert token not in invitation.token_hash
    assert invitation.state == "pending"


def test_a_new_person_sets_a_password_and_joins_with_the_role(owner_client, team):
    _invite(owner_client, team)
    path = _link().split("testserver", 1)[1]
    response = Client().post(
        path, {"username": "ivy", "password1": "a-long-pass-1234", "password2": "a-long-pass-1234"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(team=team, user__username="ivy")
    assert membership.role == Role.EDITOR
    assert membership.user.email == "ivy@example.com"
    assert AuditEvent.objects.filter(kind=AuditKind.MEMBER_JOINED, team=team).exists()


def test_it_works_once(owner_client, team, make_user):
    _invite(owner_client, team)
    path = _link().split("testserver", 1)[1]
    data = {"username": "ivy", "password1": "a-long-pass-1234", "password2": "a-long-pass-1234"}
    Client().post(path, data)
    again = Client().post(path, {**data, "username": "ivy2"})
    assert again.status_code == 410
    assert "was used already" in again.content.decode()


def test_a_signed_in_user_with_the_invited_email_joins(owner_client, team, make_user):
    ivy = make_user("ivy")  # ivy@example.com
    _invite(owner_client, team)
    client = Client()
    client.force_login(ivy)
    assert client.post(_link().split("testserver", 1)[1]).status_code == 302
    assert Membership.objects.get(team=team, user=ivy).role == Role.EDITOR


def test_it_refuses_a_signed_in_user_with_another_email(owner_client, team, make_user):
    _invite(owner_client, team)
    mallory = make_user("mallory")
    client = Client()
    client.force_login(mallory)
    response = client.post(_link().split("testserver", 1)[1])
    assert response.status_code == 410
    assert "another e-mail address" in response.content.decode()
    assert not Membership.objects.filter(team=team, user=mallory).exists()


def test_it_says_so_when_the_link_was_revoked(owner_client, team):
    _invite(owner_client, team)
    path = _link().split("testserver", 1)[1]
    owner_client.post(f"/teams/{team.slug}/invitations/{Invitation.objects.get().pk}/revoke/")
    response = Client().get(path)
    assert response.status_code == 410
    assert "revoked" in response.content.decode()


def test_it_says_so_when_the_link_expired(owner_client, team):
    _invite(owner_client, team)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().get(_link().split("testserver", 1)[1])
    assert "has expired" in response.content.decode()


def test_an_unknown_link_is_refused(client):
    response = client.get("/invitations/not-a-token/")
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_resending_makes_the_earlier_link_stop_working(owner_client, team):
    _invite(owner_client, team)
    first = _link().split("testserver", 1)[1]
    owner_client.post(f"/teams/{team.slug}/invitations/{Invitation.objects.get().pk}/resend/")
    assert Client().get(first).status_code == 404
    assert Client().get(_link().split("testserver", 1)[1]).status_code == 200


def test_it_refuses_to_invite_a_member(owner_client, team, teammate):
    response = _invite(owner_client, team, email="tom@example.com")
    assert response.status_code == 302
    assert not Invitation.objects.exists()
    assert not mail.outbox


def test_an_invitation_expires_after_invitation_days(team, owner, settings):
    settings.INVITATION_DAYS = 2
    invitation = account_services.invitation_create(
        actor=owner, team=team, email="ivy@example.com", role="viewer"
    )
    assert timedelta(days=1) < invitation.expires_at - timezone.now() <= timedelta(days=2)


def test_signup_is_closed_by_default(client):
    assert client.get("/signup/").status_code == 404


def test_open_signup_gives_a_personal_team(client, settings):
    settings.ALLOW_SIGNUP = True
    data = {
        "username": "sam",
        "email": "sam@example.com",
        "password1": "a-long-pass-1234",
        "password2": "a-long-pass-1234",
    }
    assert client.post("/signup/", data).status_code == 302
    assert Membership.objects.get(user__username="sam").team.is_personal


def test_password_reset_sends_a_working_link(client, owner):
    client.post("/password-reset/", {"email": "olivia@example.com"})
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[-1].body).group(1)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    data = {"new_password1": "brand-new-pass-987", "new_password2": "brand-new-pass-987"}
    client.post(form.redirect_chain[-1][0], data)
    owner.refresh_from_db()
    assert owner.check_password("brand-new-pass-987")


def test_changing_the_password_signs_out_other_devices(owner):
    here, there = Client(), Client()
    here.force_login(owner)
    there.force_login(owner)
    data = {
        "old_password": "pw-olivia",
        "new_password1": "brand-new-pass-987",
        "new_password2": "brand-new-pass-987",
    }
    assert here.post("/profile/password/", data).status_code == 302
    assert here.get("/profile/").status_code == 200
    assert there.get("/profile/").status_code == 302
