from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Role
from automations.engine.plans import plans_clear
from connectors import registry


@pytest.fixture(autouse=True)
def _fresh_plans():
    """Each test starts with no cached plans (ids of rolled-back rows come back)."""
    plans_clear()


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, **extra):
        return django_user_model.objects.create_user(
            username, f"{username}@example.com", "pw-" + username, **extra
        )

    return make


@pytest.fixture
def owner(make_user):
    return make_user("olivia")


@pytest.fixture
def team(owner):
    return account_services.team_create(name="Acme Content", owner=owner)


@pytest.fixture
def teammate(make_user, owner, team):
    user = make_user("tom")
    account_services.membership_set(actor=owner, team=team, user=user, role=Role.EDITOR)
    return user


@pytest.fixture
def viewer(make_user, owner, team):
    user = make_user("vera")
    account_services.membership_set(actor=owner, team=team, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def outsider(make_user):
    user = make_user("oscar")
    account_services.team_create(name="Other Co", owner=user)
    return user


@pytest.fixture
def other_team(outsider):
    return outsider.teams.get()


@pytest.fixture
def api(owner):
    client = APIClient()
    client.force_authenticate(owner)
    return client


def api_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def vault_connector():
    """Registers the test-only Vault connector for the duration of a test."""
    registry.CONNECTORS["vault"] = "tests.support.vault.VaultConnector"
    registry.get.cache_clear()
    yield registry.get("vault")
    del registry.CONNECTORS["vault"]
    registry.get.cache_clear()


@pytest.fixture
def faulty_connector():
    """Registers the test-only Faulty connector (steps that crash or stop the process)."""
    registry.CONNECTORS["faulty"] = "tests.support.faulty.FaultyConnector"
    registry.get.cache_clear()
    yield registry.get("faulty")
    del registry.CONNECTORS["faulty"]
    registry.get.cache_clear()


@pytest.fixture
def openai_standin():
    from tests.standins.openai import OpenAIStandIn

    with OpenAIStandIn(organization="org-standin") as server:
        yield server


@pytest.fixture
def chatgpt_account(team, openai_standin):
    return account_services.account_create(
        team=team, connector="chatgpt", title="ChatGPT",
        credentials={"api_key": openai_standin.api_key, "organization_id": "org-standin",
                     "base_url": openai_standin.base_url},
    )  # fmt: skip


@pytest.fixture
def contentstack_standin():
    from tests.standins.contentstack import ContentstackStandIn

    with ContentstackStandIn() as server:
        yield server


@pytest.fixture
def contentstack_account(team, contentstack_standin):
    return account_services.account_create(
        team=team, connector="contentstack", title="Blog stack",
        credentials={"region": "custom", "base_url": contentstack_standin.base_url,
                     "api_key": contentstack_standin.api_key,
                     "management_token": contentstack_standin.token},
    )  # fmt: skip


@pytest.fixture
def s3_standin(monkeypatch):
    from tests.standins.s3 import S3StandIn

    # Nothing from this machine's own AWS set-up may leak into a test.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with S3StandIn() as server:
        yield server


@pytest.fixture
def media_bucket(settings, s3_standin, tmp_path):
    """Generated files in the stand-in's bucket, as MEDIA_STORAGE_URL would put them;
    MEDIA_ROOT an empty folder, which must stay empty."""
    from config.media_storage import media_storage

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": media_storage(
            f"s3://{s3_standin.access_key}:{s3_standin.secret_key}@media/switchboard"
            f"?region={s3_standin.region}&endpoint_url={s3_standin.url}"
        ),
    }
    yield s3_standin
