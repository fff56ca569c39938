"""A ``next`` parameter is used only when it names a page of this site: never rendered
into a link or a form, nor redirected to, when it is a script or another host."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.automations.factories import make_project
from tests.support.flows import http_automation

pytestmark = pytest.mark.django_db

HOSTILE = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    " javascript:alert(1)",
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "http:evil.example",
    "data:text/html,<script>alert(1)</script>",
]
_OFF_SITE = ("javascript:", "data:", "//", "/\\", "http:", "https:")
_ATTRIBUTES = re.compile(r'(?:href|action|value|src|formaction)\s*=\s*"([^"]*)"', re.IGNORECASE)


@pytest.fixture
def member(client, owner, team):
    client.force_login(owner)
    return client


@pytest.fixture
def automation(team):
    return http_automation(make_project(team), "Echo", [
        {"key": "reply", "name": "Reply", "connector": "response", "action": "respond",
         "config": {"body": "ok"}}], active=False)  # fmt: skip


def _links(html: str) -> list[str]:
    return _ATTRIBUTES.findall(html)


def _assert_no_hostile_link(html: str) -> None:
    for link in _links(html):
        lowered = link.strip().lower()
        assert not lowered.startswith(("javascript:", "data:")), link
        assert "evil.example" not in lowered, link


@pytest.mark.parametrize("next_url", HOSTILE)
def test_it_never_renders_a_hostile_next_on_add_new_account(member, automation, next_url):
    response = member.get(
        f"/automations/{automation.pk}/accounts/chatgpt/new/?next={quote(next_url)}"
    )
    html = response.content.decode()
    assert response.status_code == 200
    _assert_no_hostile_link(html)
    assert f'href="/automations/{automation.pk}/"' in html  # Cancel goes to the editor


@pytest.mark.parametrize("next_url", HOSTILE)
def test_it_never_renders_a_hostile_next_after_a_refused_save(member, automation, next_url):
    response = member.post(
        f"/automations/{automation.pk}/accounts/chatgpt/new/?next={quote(next_url)}",
        {"title": "", "api_key": ""},
    )
    assert response.status_code in (200, 400)
    _assert_no_hostile_link(response.content.decode())


@pytest.mark.parametrize("next_url", HOSTILE)
def test_it_redirects_to_the_editor_after_saving(member, automation, openai_standin, next_url):
    response = member.post(
        f"/automations/{automation.pk}/accounts/chatgpt/new/?next={quote(next_url)}",
        {
            "title": f"GPT {HOSTILE.index(next_url)}",
            "api_key": openai_standin.api_key,
            "organization_id": "org-standin",
            "base_url": openai_standin.base_url,
        },
    )
    assert response.status_code == 302
    # This site's page, told which account was added.
    assert response["Location"].startswith(f"/automations/{automation.pk}/?account=")


@pytest.mark.parametrize("next_url", HOSTILE)
def test_the_accounts_page_never_redirects_off_site(member, openai_standin, next_url):
    response = member.post(
        f"/accounts/new/chatgpt/?next={quote(next_url)}",
        {
            "title": f"GPT {HOSTILE.index(next_url)}",
            "api_key": openai_standin.api_key,
            "organization_id": "org-standin",
            "base_url": openai_standin.base_url,
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/?account=")


def test_it_keeps_a_next_of_this_site(member, automation):
    response = member.get(
        f"/automations/{automation.pk}/accounts/chatgpt/new/?next=/automations/{automation.pk}/steps/new/"
    )
    assert f'href="/automations/{automation.pk}/steps/new/"' in response.content.decode()


def test_it_refuses_an_http_next_on_a_secure_request(member, automation):
    response = member.get(
        f"/automations/{automation.pk}/accounts/chatgpt/new/?next=http://testserver/x/",
        secure=True,
    )
    html = response.content.decode()
    assert "http://testserver/x/" not in html
    assert f'href="/automations/{automation.pk}/"' in html


@pytest.mark.parametrize("next_url", HOSTILE)
def test_the_sign_in_page_never_renders_a_hostile_next(client, next_url):
    response = client.get(f"/login/?next={quote(next_url)}")
    assert response.status_code == 200
    _assert_no_hostile_link(response.content.decode())


@pytest.mark.parametrize("next_url", HOSTILE)
def test_signing_in_never_redirects_off_site(client, owner, next_url):
    response = client.post(
        "/login/", {"username": owner.username, "password": "pw-olivia", "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("next_url", HOSTILE)
def test_signing_out_never_redirects_off_site(member, next_url):
    response = member.post(f"/logout/?next={quote(next_url)}")
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
    assert not response["Location"].lower().lstrip().startswith(("javascript:", "data:"))


@pytest.mark.parametrize("next_url", HOSTILE)
def test_the_admin_sign_in_never_renders_a_hostile_next(client, next_url):
    response = client.get(f"/admin/login/?next={quote(next_url)}")
    html = response.content.decode()
    assert response.status_code == 200
    # The form posts back to its own address, query included; every link and the next
    # it carries on stay on this site.
    for link in _links(html):
        assert not link.lower().lstrip().startswith(_OFF_SITE), link


@pytest.mark.parametrize("next_url", HOSTILE)
def test_the_admin_sign_in_never_redirects_off_site(client, admin_user, next_url):
    response = client.post(
        f"/admin/login/?next={quote(next_url)}",
        {"username": admin_user.username, "password": "password", "next": next_url},
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
