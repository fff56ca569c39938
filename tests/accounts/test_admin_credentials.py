from __future__ import annotations

import pytest

from accounts import services
from accounts.models import ConnectedAccount

pytestmark = pytest.mark.django_db

SECRET = "sk-admin-visible-nowhere-9876"


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_change_page_never_shows_the_secret(admin_client_, team, vault_connector):
    account = services.account_create(
        team=team, connector="vault", title="Vault", credentials={"api_key": SECRET, "region": "eu"}
    )
    html = admin_client_.get(
        f"/admin/accounts/connectedaccount/{account.pk}/change/"
    ).content.decode()
    assert "cred__vault__api_key" in html
    assert SECRET not in html
    assert SECRET[-4:] in html  # the masked hint
    listing = admin_client_.get("/admin/accounts/connectedaccount/").content.decode()
    assert SECRET not in listing


def test_the_add_form_creates_an_encrypted_account(admin_client_, team, vault_connector):
    response = admin_client_.post(
        "/admin/accounts/connectedaccount/add/",
        {
            "team": team.pk,
            "connector": "vault",
            "title": "From admin",
            "cred__vault__api_key": SECRET,
            "cred__vault__region": "us",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    account = ConnectedAccount.objects.get(title="From admin")
    assert account.credentials() == {"api_key": SECRET, "region": "us"}
    assert SECRET not in account.secrets_encrypted


def test_the_add_form_keeps_what_was_typed_and_names_the_field(
    admin_client_, team, vault_connector
):
    response = admin_client_.post(
        "/admin/accounts/connectedaccount/add/",
        {
            "team": team.pk,
            "connector": "vault",
            "title": "Typed title",
            "cred__vault__api_key": "rejected-key",
            "cred__vault__region": "eu",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "The service rejected this API key." in html
    assert 'value="Typed title"' in html
    assert "rejected-key" not in html  # a secret input is never echoed back
    assert not ConnectedAccount.objects.exists()
