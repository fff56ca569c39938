from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts import services as account_services
from tests.conftest import api_for

pytestmark = pytest.mark.django_db


def create(team, **credentials):
    return account_services.account_create(
        team=team, connector="chatgpt", title="GPT", credentials=credentials
    )


def test_a_working_key_is_saved_encrypted(team, openai_standin):
    account = create(team, api_key=openai_standin.api_key, organization_id="org-standin",
                     base_url=openai_standin.base_url)  # fmt: skip
    assert openai_standin.received[0].path == "/v1/models"
    assert openai_standin.api_key not in account.secrets_encrypted
    assert account.config == {"organization_id": "org-standin", "base_url": openai_standin.base_url}


def _field_error(team, **credentials) -> dict:
    with pytest.raises(ValidationError) as caught:
        create(team, **credentials)
    return caught.value.message_dict


def test_a_rejected_key_is_a_field_error(team, openai_standin):
    errors = _field_error(team, api_key="sk-wrong-key-000000", organization_id="org-standin",
                          base_url=openai_standin.base_url)  # fmt: skip
    assert list(errors) == ["credentials.api_key"]
    assert "Incorrect API key" in errors["credentials.api_key"][0]


def test_a_wrong_organization_is_a_field_error(team, openai_standin):
    errors = _field_error(team, api_key=openai_standin.api_key, organization_id="org-other",
                          base_url=openai_standin.base_url)  # fmt: skip
    assert list(errors) == ["credentials.organization_id"]
    assert "org-other" in errors["credentials.organization_id"][0]


def test_an_unreachable_base_url_is_a_field_error(team):
    errors = _field_error(team, api_key="sk-x-000000000", base_url="http://127.0.0.1:9/v1")
    assert list(errors) == ["credentials.base_url"]
    assert "Could not use http://127.0.0.1:9/v1" in errors["credentials.base_url"][0]


def test_a_private_base_url_is_refused_by_the_guard(team):
    errors = _field_error(team, api_key="sk-x-000000000", base_url="http://10.0.0.1/v1")
    assert "10.0.0.1 is a private address" in errors["credentials.base_url"][0]


def test_the_api_never_returns_the_key(team, owner, openai_standin):
    response = api_for(owner).post("/api/v1/accounts/", {
        "connector": "chatgpt", "title": "GPT",
        "credentials": {"api_key": openai_standin.api_key, "organization_id": "org-standin",
                        "base_url": openai_standin.base_url},
    }, format="json")  # fmt: skip
    assert response.status_code == 201
    assert openai_standin.api_key not in response.content.decode()
    assert response.json()["hint"] == "••••" + openai_standin.api_key[-4:]


def test_the_model_lookup_lists_chat_models(chatgpt_account):
    from connectors import registry

    choices = registry.get("chatgpt").lookup("chat_models", chatgpt_account.credentials(), {})
    assert [c["value"] for c in choices] == ["gpt-4.1", "gpt-4o", "gpt-4o-mini"]


def test_the_lookup_endpoint_answers_members_only(chatgpt_account, owner, outsider):
    url = f"/api/v1/accounts/{chatgpt_account.pk}/lookup/chat_models/"
    assert [c["value"] for c in api_for(owner).get(url).json()] == [
        "gpt-4.1",
        "gpt-4o",
        "gpt-4o-mini",
    ]
    assert api_for(outsider).get(url).status_code == 404
    assert api_for(None).get(url).status_code == 401
    bad = api_for(owner).get(f"/api/v1/accounts/{chatgpt_account.pk}/lookup/colours/")
    assert bad.status_code == 400 and bad.json() == {"lookup": ["Unknown lookup 'colours'."]}
