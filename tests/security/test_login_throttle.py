"""Guessing passwords: after AXES_FAILURE_LIMIT wrong ones for a user name, or from one
address, even the right password is refused (wizard and admin) with a page that says
when to try again."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT
ATTACKER = "203.0.113.7"


def _sign_in(client: Client, path: str, username: str, password: str, ip: str = ATTACKER):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _assert_locked_out(response) -> None:
    html = response.content.decode()
    assert response.status_code == 429
    assert "Try again after" in html
    assert int(response["Retry-After"]) > 0


def test_the_limit_is_five_by_default():
    assert LIMIT == 5


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_it_refuses_the_right_password_after_too_many_wrong_ones(client, admin_user, path):
    for n in range(LIMIT):
        _sign_in(client, path, admin_user.username, f"wrong-{n}")
    response = _sign_in(client, path, admin_user.username, "password")
    _assert_locked_out(response)
    assert not _is_signed_in(client)


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_the_failure_that_reaches_the_limit_says_when_to_try_again(client, owner, path):
    for n in range(LIMIT - 1):
        assert _sign_in(client, path, owner.username, f"wrong-{n}").status_code == 200
    response = _sign_in(client, path, owner.username, "wrong-last")
    _assert_locked_out(response)
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"in about {minutes} minutes" in response.content.decode()


def test_it_locks_the_user_name_from_any_address(client, owner):
    for n in range(LIMIT):
        _sign_in(client, "/login/", owner.username, f"wrong-{n}", ip=f"198.51.100.{n + 1}")
    response = _sign_in(client, "/login/", owner.username, "pw-olivia", ip="192.0.2.200")
    _assert_locked_out(response)
    assert not _is_signed_in(client)


def test_it_locks_the_address_for_every_user_name(client, owner):
    for n in range(LIMIT):
        _sign_in(client, "/login/", f"guess-{n}", "123456")
    response = _sign_in(client, "/login/", owner.username, "pw-olivia")
    _assert_locked_out(response)
    assert not _is_signed_in(client)


def test_another_address_may_still_sign_in_as_another_user(client, owner, make_user):
    make_user("nina")
    for n in range(LIMIT):
        _sign_in(client, "/login/", owner.username, f"wrong-{n}")
    response = _sign_in(client, "/login/", "nina", "pw-nina", ip="192.0.2.9")
    assert response.status_code == 302
    assert _is_signed_in(client)


def test_a_success_forgives_earlier_typos(client, owner):
    for n in range(LIMIT - 1):
        _sign_in(client, "/login/", owner.username, f"typo-{n}")
    assert _sign_in(client, "/login/", owner.username, "pw-olivia").status_code == 302
    client.logout()
    for n in range(LIMIT - 1):
        _sign_in(client, "/login/", owner.username, f"typo-again-{n}")
    assert _sign_in(client, "/login/", owner.username, "pw-olivia").status_code == 302


def test_signing_into_ones_own_account_does_not_reset_the_address(client, owner, make_user):
    """An attacker with an account of their own cannot clear the address counter by
    signing into it between guesses at someone else's password."""
    make_user("mallory")
    for n in range(LIMIT - 1):
        _sign_in(client, "/login/", owner.username, f"guess-{n}")
    assert _sign_in(client, "/login/", "mallory", "pw-mallory").status_code == 302
    client.logout()
    _sign_in(client, "/login/", owner.username, "guess-last")
    response = _sign_in(client, "/login/", owner.username, "pw-olivia")
    _assert_locked_out(response)


def test_the_pause_ends_after_the_cool_off(client, owner):
    for n in range(LIMIT):
        _sign_in(client, "/login/", owner.username, f"wrong-{n}")
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - settings.AXES_COOLOFF_TIME
    )
    assert _sign_in(client, "/login/", owner.username, "pw-olivia").status_code == 302


def test_an_admin_unlocks_a_user_name(client, owner):
    for n in range(LIMIT):
        _sign_in(client, "/login/", owner.username, f"wrong-{n}", ip=f"198.51.100.{n + 1}")
    call_command("axes_reset_username", owner.username)
    assert _sign_in(client, "/login/", owner.username, "pw-olivia").status_code == 302


def test_a_forwarded_address_is_ignored_unless_configured(client, owner):
    for n in range(LIMIT):
        client.post(
            "/login/",
            {"username": f"guess-{n}", "password": "123456"},
            REMOTE_ADDR=ATTACKER,
            HTTP_X_FORWARDED_FOR=f"10.9.8.{n}",
        )
    _assert_locked_out(_sign_in(client, "/login/", owner.username, "pw-olivia"))


def test_a_configured_proxy_header_gives_the_address(client, owner, settings):
    settings.AXES_CLIENT_IP_HEADER = "X-Forwarded-For"
    for n in range(LIMIT):
        client.post(
            "/login/",
            {"username": f"guess-{n}", "password": "123456"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}",
        )
    # The proxy is the same for everyone; the client behind it is who was paused.
    response = client.post(
        "/login/",
        {"username": owner.username, "password": "pw-olivia"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.50",
    )
    assert response.status_code == 302


@pytest.mark.parametrize("page", ["accessattempt", "accesslog", "accessfailurelog"])
def test_staff_with_the_model_permission_cannot_read_sign_in_records(client, owner, page):
    owner.is_staff = True
    owner.save()
    owner.user_permissions.add(*Permission.objects.filter(content_type__app_label="axes"))
    client.force_login(owner)
    assert client.get(f"/admin/axes/{page}/").status_code == 403


@pytest.mark.parametrize("page", ["accessattempt", "accesslog", "accessfailurelog"])
def test_a_superuser_reads_sign_in_records(admin_client, page):
    assert admin_client.get(f"/admin/axes/{page}/").status_code == 200
