from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts import services as account_services
from connectors import registry
from connectors.contentstack.client import base_url
from tests.conftest import api_for

pytestmark = pytest.mark.django_db


def create(team, **credentials):
    return account_services.account_create(
        team=team, connector="contentstack", title="S", credentials=credentials
    )


def _errors(team, **credentials) -> dict:
    with pytest.raises(ValidationError) as caught:
        create(team, **credentials)
    return caught.value.message_dict


def test_regions_map_to_their_hosts():
    assert base_url({"region": "na"}) == "https://api.contentstack.io"
    assert base_url({"region": "eu"}) == "https://eu-api.contentstack.com"
    assert base_url({"region": "gcp-eu"}) == "https://gcp-eu-api.contentstack.com"
    assert (
        base_url({"region": "custom", "base_url": "https://cms.example.com:8443/v3/"})
        == "https://cms.example.com:8443"
    )


def test_a_working_account_is_checked_and_saved(team, contentstack_standin, contentstack_account):
    assert contentstack_standin.received[0].path == "/v3/content_types"
    assert contentstack_standin.received[0].headers["authorization"] == contentstack_standin.token
    assert contentstack_standin.token not in contentstack_account.secrets_encrypted
    assert contentstack_account.config["api_key"] == contentstack_standin.api_key


def test_a_bad_token_is_a_field_error(team, contentstack_standin):
    errors = _errors(team, region="custom", base_url=contentstack_standin.base_url,
                     api_key=contentstack_standin.api_key, management_token="wrong-token")  # fmt: skip
    assert list(errors) == ["credentials.management_token"]
    assert (
        "You're not allowed in here unless you're logged in. (error code 105)"
        in errors["credentials.management_token"][0]
    )


def test_a_bad_api_key_is_a_field_error(team, contentstack_standin):
    errors = _errors(team, region="custom", base_url=contentstack_standin.base_url,
                     api_key="bltwrong", management_token=contentstack_standin.token)  # fmt: skip
    assert list(errors) == ["credentials.api_key"]
    assert "api_key is not valid" in errors["credentials.api_key"][0]


def test_a_custom_region_needs_its_url(team):
    errors = _errors(team, region="custom", api_key="k", management_token="t" * 10)
    assert errors == {
        "credentials.base_url": ["A custom region needs a base URL (https://host[:port])."]
    }


def test_lookups_cascade_from_branch_to_entries(contentstack_account, contentstack_standin, owner):
    contentstack_standin.add_entry("blog_post", "Spring gardening")
    contentstack_standin.add_entry("blog_post", "Winter walks")
    contentstack_standin.add_entry("blog_post", "Dev only", branch="development")
    connector, creds = registry.get("contentstack"), contentstack_account.credentials()
    assert [c["value"] for c in connector.lookup("branches", creds, {})] == ["main", "development"]
    assert {c["value"] for c in connector.lookup("content_types", creds, {"branch": "main"})} == {
        "blog_post",
        "author",
    }
    assert contentstack_standin.received[-1].headers["branch"] == "main"
    found = connector.lookup("entries", creds, {"content_type": "blog_post", "q": "spring"})
    assert [c["label"] for c in found] == ["Spring gardening"]
    dev = connector.lookup("entries", creds, {"content_type": "blog_post", "branch": "development"})
    assert [c["label"] for c in dev] == ["Dev only"]
    assert [c["value"] for c in connector.lookup("locales", creds, {})] == ["en-us", "de-de"]
    assert [c["value"] for c in connector.lookup("environments", creds, {})] == [
        "production",
        "staging",
    ]
    assert [c["label"] for c in connector.lookup("asset_folders", creds, {})] == ["Blog images"]
    response = api_for(owner).get(
        f"/api/v1/accounts/{contentstack_account.pk}/lookup/entries/", {"content_type": "blog_post"}
    )
    assert len(response.json()) == 2
    missing = api_for(owner).get(f"/api/v1/accounts/{contentstack_account.pk}/lookup/entries/")
    assert missing.json() == {"content_type": ["Choose a content type first."]}
