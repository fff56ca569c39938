from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.db import connection

from accounts import crypto, services
from accounts.models import ConnectedAccount

pytestmark = pytest.mark.django_db

SECRET = "sk-live-0123456789abcdefSECRET"


@pytest.fixture
def account(team, vault_connector):
    return services.account_create(
        team=team,
        connector="vault",
        title="Main vault",
        credentials={"api_key": SECRET, "region": "eu"},
    )


def _raw_row(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secrets_encrypted, config, hint FROM accounts_connectedaccount WHERE id = %s",
            [pk],
        )
        return " ".join(str(value) for value in cursor.fetchone())


def test_it_stores_ciphertext_not_the_secret(account):
    raw = _raw_row(account.pk)
    assert SECRET not in raw
    assert "eu" in raw  # settings stay readable
    assert ConnectedAccount.objects.get(pk=account.pk).credentials() == {
        "api_key": SECRET,
        "region": "eu",
    }


def test_it_keeps_only_a_masked_hint(account):
    assert account.hint == "••••CRET"


def test_it_reads_rows_written_under_an_old_key_after_rotation(account, settings):
    old_keys = list(settings.ENCRYPTION_KEYS)
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_keys]
    assert ConnectedAccount.objects.get(pk=account.pk).credentials()["api_key"] == SECRET
    assert services.account_rotate_encryption() == 1
    # After rotation the row reads with the new key alone.
    settings.ENCRYPTION_KEYS = settings.ENCRYPTION_KEYS[:1]
    assert ConnectedAccount.objects.get(pk=account.pk).credentials()["api_key"] == SECRET


def test_it_says_so_when_no_key_can_decrypt(account, settings):
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DecryptionError, match="ENCRYPTION_KEYS"):
        ConnectedAccount.objects.get(pk=account.pk).credentials()


def test_repr_and_str_do_not_show_the_secret(account):
    assert SECRET not in repr(account)
    assert SECRET not in str(account)


def test_it_reports_a_rejected_key_on_its_field(team, vault_connector):
    with pytest.raises(ValidationError) as caught:
        services.account_create(
            team=team,
            connector="vault",
            title="Bad",
            credentials={"api_key": "rejected-key", "region": "eu"},
        )
    assert caught.value.message_dict == {
        "credentials.api_key": ["The service rejected this API key."]
    }
    assert not ConnectedAccount.objects.exists()


def test_it_reports_a_bad_choice_by_field(team, vault_connector):
    with pytest.raises(ValidationError) as caught:
        services.account_create(
            team=team,
            connector="vault",
            title="Bad",
            credentials={"api_key": "k" * 20, "region": "mars"},
        )
    assert caught.value.message_dict == {"credentials.region": ["must be one of: eu, us"]}


def test_updating_without_the_secret_keeps_it(account):
    services.account_update(account=account, credentials={"api_key": "", "region": "us"})
    account.refresh_from_db()
    assert account.credentials() == {"api_key": SECRET, "region": "us"}


def test_no_log_line_shows_the_secret(team, vault_connector, caplog, client, admin_user):
    caplog.set_level(logging.DEBUG)
    account = services.account_create(
        team=team,
        connector="vault",
        title="Logged",
        credentials={"api_key": SECRET, "region": "eu"},
    )
    client.force_login(admin_user)
    client.get(f"/admin/accounts/connectedaccount/{account.pk}/change/")
    client.post(
        f"/admin/accounts/connectedaccount/{account.pk}/change/",
        {
            "team": team.pk,
            "title": "Logged",
            "cred__vault__api_key": SECRET + "2",
            "cred__vault__region": "eu",
        },
    )
    assert SECRET not in caplog.text
