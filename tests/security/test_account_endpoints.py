"""Moving an account's endpoint (a base URL, a region) must not send the stored secret
to the new address: the secret has to be entered again in the same change, through the
API and the admin alike."""

from __future__ import annotations

import pytest

from accounts.models import ConnectedAccount
from tests.standins.contentstack import ContentstackStandIn
from tests.standins.openai import OpenAIStandIn
from tests.standins.server import Routes

pytestmark = pytest.mark.django_db


@pytest.fixture
def attacker():
    """A server of someone who may edit the account and wants its key: it records every
    request it receives."""
    with Routes({}) as server:
        yield server


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


def _stored(account: ConnectedAccount) -> dict:
    return ConnectedAccount.objects.get(pk=account.pk).credentials()


def test_it_refuses_a_new_base_url_without_the_api_key(api, chatgpt_account, attacker):
    before = _stored(chatgpt_account)
    response = api.patch(
        f"/api/v1/accounts/{chatgpt_account.pk}/",
        {"credentials": {"base_url": attacker.url + "/v1"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "credentials.api_key": [
            "Enter the API Key again: changing Base URL sends it to a new address."
        ]
    }
    assert attacker.received == []
    assert _stored(chatgpt_account) == before


def test_it_refuses_clearing_the_base_url_without_the_api_key(api, chatgpt_account):
    response = api.patch(
        f"/api/v1/accounts/{chatgpt_account.pk}/",
        {"credentials": {"base_url": None}},
        format="json",
    )
    assert response.status_code == 400
    assert "credentials.api_key" in response.json()


def test_it_moves_the_base_url_when_the_api_key_is_entered_again(
    api, chatgpt_account, openai_standin
):
    with OpenAIStandIn(api_key="sk-new-server-key-000111") as new_server:
        response = api.patch(
            f"/api/v1/accounts/{chatgpt_account.pk}/",
            {"credentials": {"base_url": new_server.base_url, "api_key": new_server.api_key}},
            format="json",
        )
        assert response.status_code == 200, response.content
        sent = {r.headers.get("authorization") for r in new_server.received}
    assert sent == {f"Bearer {new_server.api_key}"}
    assert openai_standin.api_key not in str(sent)
    assert _stored(chatgpt_account)["base_url"] == new_server.base_url


def test_it_keeps_the_stored_key_when_the_base_url_is_unchanged(api, chatgpt_account):
    response = api.patch(
        f"/api/v1/accounts/{chatgpt_account.pk}/",
        {"credentials": {"base_url": chatgpt_account.config["base_url"], "project_id": "p1"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert _stored(chatgpt_account)["project_id"] == "p1"


def test_it_refuses_a_new_contentstack_base_url_without_the_token(
    api, contentstack_account, attacker
):
    before = _stored(contentstack_account)
    response = api.patch(
        f"/api/v1/accounts/{contentstack_account.pk}/",
        {"credentials": {"base_url": attacker.url}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "credentials.management_token": [
            "Enter the Management token again: changing Custom base URL sends it to a new address."
        ]
    }
    assert attacker.received == []
    assert _stored(contentstack_account) == before


def test_it_refuses_a_new_contentstack_region_without_the_token(api, contentstack_account):
    before = _stored(contentstack_account)
    response = api.patch(
        f"/api/v1/accounts/{contentstack_account.pk}/",
        {"credentials": {"region": "eu"}},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["credentials.management_token"]
    assert "changing Region" in response.json()["credentials.management_token"][0]
    assert _stored(contentstack_account) == before


def test_it_moves_a_contentstack_account_when_the_token_is_entered_again(
    api, contentstack_account, contentstack_standin
):
    with ContentstackStandIn(token="cs-token-of-the-new-stack") as new_server:
        response = api.patch(
            f"/api/v1/accounts/{contentstack_account.pk}/",
            {
                "credentials": {
                    "base_url": new_server.base_url,
                    "management_token": new_server.token,
                }
            },
            format="json",
        )
        assert response.status_code == 200, response.content
        sent = {r.headers.get("authorization") for r in new_server.received}
    assert sent == {new_server.token}
    assert _stored(contentstack_account)["base_url"] == new_server.base_url


def test_the_admin_refuses_a_new_base_url_without_the_api_key(
    admin_client_, chatgpt_account, attacker
):
    before = _stored(chatgpt_account)
    response = admin_client_.post(
        f"/admin/accounts/connectedaccount/{chatgpt_account.pk}/change/",
        {
            "team": chatgpt_account.team_id,
            "title": chatgpt_account.title,
            "cred__chatgpt__api_key": "",
            "cred__chatgpt__base_url": attacker.url + "/v1",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter the API Key again: changing Base URL sends it to a new address." in html
    assert attacker.received == []
    assert _stored(chatgpt_account) == before


def test_the_admin_moves_the_base_url_when_the_api_key_is_entered_again(
    admin_client_, chatgpt_account
):
    with OpenAIStandIn(api_key="sk-new-server-key-000222") as new_server:
        response = admin_client_.post(
            f"/admin/accounts/connectedaccount/{chatgpt_account.pk}/change/",
            {
                "team": chatgpt_account.team_id,
                "title": chatgpt_account.title,
                "cred__chatgpt__api_key": new_server.api_key,
                "cred__chatgpt__base_url": new_server.base_url,
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
    assert _stored(chatgpt_account)["api_key"] == new_server.api_key


def test_the_admin_refuses_a_new_contentstack_region_without_the_token(
    admin_client_, contentstack_account
):
    before = _stored(contentstack_account)
    response = admin_client_.post(
        f"/admin/accounts/connectedaccount/{contentstack_account.pk}/change/",
        {
            "team": contentstack_account.team_id,
            "title": contentstack_account.title,
            "cred__contentstack__region": "eu",
            "cred__contentstack__management_token": "",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter the Management token again: changing Region sends it" in html
    assert _stored(contentstack_account) == before
