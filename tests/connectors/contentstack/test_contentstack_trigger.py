from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from automations import services
from automations.models import Execution
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str, **changes) -> dict:
    payload = json.loads((FIXTURES / name).read_text())
    for key, value in changes.items():
        payload[key] = value
    return payload


def entry_automation(team, account, **config):
    automation = services.automation_create(project=make_project(team), data={
        "name": "On new posts",
        "trigger": {"connector": "contentstack", "trigger": "entry", "account": account.pk,
                    "config": {"event": "created", "content_type": "blog_post", **config}},
        "steps": [],
    })  # fmt: skip
    return services.automation_activate(automation=automation)


@pytest.fixture
def automation(team, contentstack_account):
    return entry_automation(team, contentstack_account)


def deliver(client, automation, payload, *, secret=None, basic=None):
    headers = {}
    if secret is not None:
        headers["X-Switchboard-Secret"] = secret
    if basic is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    return client.post(f"/hooks/contentstack/{automation.webhook_token}/", json.dumps(payload),
                       content_type="application/json", headers=headers)  # fmt: skip


def secret_of(automation) -> str:
    automation.refresh_from_db()
    return automation.get_secrets()["header_secret"]


def test_activation_registers_a_webhook_with_a_secret_header(automation, contentstack_standin):
    (webhook,) = contentstack_standin.webhooks.values()
    destination = webhook["destinations"][0]
    assert (
        destination["target_url"]
        == f"http://testserver/hooks/contentstack/{automation.webhook_token}/"
    )
    assert destination["custom_header"] == [
        {"header_name": "X-Switchboard-Secret", "value": secret_of(automation)}
    ]
    assert webhook["channels"] == ["content_types.blog_post.entries.create"]
    assert webhook["branches"] == ["main"] and webhook["concise_payload"] is False
    assert automation.trigger_state["webhook_uid"] == webhook["uid"]
    assert secret_of(automation) not in json.dumps(automation.trigger_state)


def test_deactivation_removes_the_webhook(automation, contentstack_standin):
    services.automation_deactivate(automation=automation)
    assert contentstack_standin.webhooks == {}
    assert automation.trigger_state == {}


def test_channels_follow_the_event(team, contentstack_account, contentstack_standin):
    entry_automation(
        team, contentstack_account, event="published", environment="production", content_type=""
    )
    entry_automation_all = services.automation_create(project=make_project(team, "All"), data={
        "name": "Everything", "trigger": {"connector": "contentstack", "trigger": "asset",
                                          "account": contentstack_account.pk, "config": {"event": "all"}}})  # fmt: skip
    services.automation_activate(automation=entry_automation_all)
    channels = [w["channels"] for w in contentstack_standin.webhooks.values()]
    assert channels[0] == ["content_types.entries.environments.production.publish.success"]
    assert channels[1] == ["assets.create", "assets.update", "assets.delete",
                           "assets.environments.publish.success", "assets.environments.unpublish.success"]  # fmt: skip


def test_without_a_public_url_the_secret_is_the_users(
    team, contentstack_account, contentstack_standin, settings
):
    settings.PUBLIC_BASE_URL = ""
    automation = services.automation_create(project=make_project(team), data={
        "name": "Manual", "trigger": {"connector": "contentstack", "trigger": "entry",
                                      "account": contentstack_account.pk, "config": {"event": "created"}}})  # fmt: skip
    with pytest.raises(ValidationError, match="Set the Webhook secret"):
        services.automation_activate(automation=automation)
    services.automation_update(automation=automation, data={"trigger": {
        "connector": "contentstack", "trigger": "entry", "account": contentstack_account.pk,
        "config": {"event": "created", "header_secret": "my-own-long-secret-123"}}})  # fmt: skip
    automation.refresh_from_db()
    services.automation_activate(automation=automation)
    assert automation.trigger_state == {"manual": True, "header": "X-Switchboard-Secret"}
    assert contentstack_standin.webhooks == {}


def test_a_delivery_with_the_secret_header_starts_a_run(
    client, automation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(
            client, automation, fixture("entry_create.json"), secret=secret_of(automation)
        )
    assert response.status_code == 202, response.content
    execution = Execution.objects.get()
    output = execution.trigger_output
    assert output["event"] == "create" and output["module"] == "entry"
    assert output["entry"]["title"] == "Ten tips for spring gardening"
    assert output["content_type"]["uid"] == "blog_post" and output["branch"]["uid"] == "main"
    assert (
        output["api_key"] == "blt0000000000000001"
        and output["triggered_at"] == "2026-11-25T10:15:42.118Z"
    )


def test_basic_auth_is_accepted_too(client, automation):
    response = deliver(
        client,
        automation,
        fixture("entry_create.json"),
        basic=f"contentstack:{secret_of(automation)}",
    )
    assert response.status_code == 202


@pytest.mark.parametrize(
    "secret, basic", [(None, None), ("wrong", None), (None, "user:wrong"), (None, "garbage")]
)
def test_a_delivery_without_the_secret_is_refused(client, automation, secret, basic):
    response = deliver(client, automation, fixture("entry_create.json"), secret=secret, basic=basic)
    assert response.status_code == 401
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"api_key": "bltanotherstack00001"}, "another stack"),
        ({"event": "update"}, "waits for 'create'"),
        ({"module": "asset"}, "takes entry events"),
    ],
)
def test_events_that_do_not_match_are_ignored(client, automation, changes, reason):
    response = deliver(
        client, automation, fixture("entry_create.json", **changes), secret=secret_of(automation)
    )
    assert response.status_code == 200
    assert response.json()["status"] == "ignored" and reason in response.json()["reason"]
    assert not Execution.objects.exists()


def test_other_branches_and_content_types_are_ignored(client, automation):
    payload = fixture("entry_create.json")
    payload["data"]["branch"]["uid"] = "development"
    assert (
        "branch 'development'"
        in deliver(client, automation, payload, secret=secret_of(automation)).json()["reason"]
    )
    payload = fixture("entry_create.json")
    payload["data"]["content_type"]["uid"] = "author"
    assert (
        "content type 'author'"
        in deliver(client, automation, payload, secret=secret_of(automation)).json()["reason"]
    )
    assert not Execution.objects.exists()


def test_a_repeated_delivery_starts_no_second_execution(client, automation):
    payload = fixture("entry_create.json")
    assert deliver(client, automation, payload, secret=secret_of(automation)).status_code == 202
    again = deliver(client, automation, payload, secret=secret_of(automation))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert Execution.objects.count() == 1
    payload["data"]["entry"]["_version"] = 2
    assert deliver(client, automation, payload, secret=secret_of(automation)).status_code == 202
    assert Execution.objects.count() == 2


def test_trigger_conditions_apply(client, team, contentstack_account):
    automation = entry_automation(team, contentstack_account)
    services.automation_update(automation=automation, data={"trigger": {
        "connector": "contentstack", "trigger": "entry", "account": contentstack_account.pk,
        "config": {"event": "created", "content_type": "blog_post"},
        "conditions": [{"path": "entry.title", "operator": "contains", "value": "autumn"}]}})  # fmt: skip
    response = deliver(
        client, automation, fixture("entry_create.json"), secret=secret_of(automation)
    )
    assert response.json()["status"] == "skipped"
    assert not Execution.objects.exists()


def test_publish_events_filter_by_environment(client, team, contentstack_account):
    automation = entry_automation(
        team, contentstack_account, event="published", environment="staging"
    )
    response = deliver(
        client, automation, fixture("entry_publish.json"), secret=secret_of(automation)
    )
    assert "environment 'production'" in response.json()["reason"]


def test_asset_events(client, team, contentstack_account):
    automation = services.automation_activate(automation=services.automation_create(
        project=make_project(team), data={"name": "Assets", "trigger": {
            "connector": "contentstack", "trigger": "asset", "account": contentstack_account.pk,
            "config": {"event": "created"}}}))  # fmt: skip
    response = deliver(
        client, automation, fixture("asset_create.json"), secret=secret_of(automation)
    )
    assert response.status_code == 202
    assert Execution.objects.get().trigger_output["asset"]["filename"] == "hero.png"


def test_the_http_hook_does_not_take_contentstack_automations(client, automation):
    response = client.post(
        f"/hooks/{automation.webhook_token}/", "{}", content_type="application/json"
    )
    assert response.status_code == 404


def test_test_trigger_fetches_the_newest_matching_entry(api, automation, contentstack_standin):
    contentstack_standin.add_entry("blog_post", "Older post")
    newest = contentstack_standin.add_entry("blog_post", "Newest post")
    sample = api.post(f"/api/v1/automations/{automation.pk}/test-trigger/").json()["sample"]
    assert sample["entry"]["uid"] == newest["uid"]
    assert sample["content_type"] == {"uid": "blog_post", "title": "Blog post"}
    assert sample["event"] == "create"


def test_test_trigger_says_when_there_is_nothing_yet(api, automation):
    response = api.post(f"/api/v1/automations/{automation.pk}/test-trigger/")
    assert response.status_code == 400
    assert "There are no entries of 'blog_post' yet" in response.json()["trigger"][0]


def test_changing_an_active_trigger_registers_it_again(
    automation, contentstack_account, contentstack_standin
):
    (old,) = contentstack_standin.webhooks
    services.automation_update(automation=automation, data={"trigger": {
        "connector": "contentstack", "trigger": "entry", "account": contentstack_account.pk,
        "config": {"event": "updated", "content_type": "blog_post"}}})  # fmt: skip
    (webhook,) = contentstack_standin.webhooks.values()
    assert webhook["uid"] != old and webhook["channels"] == [
        "content_types.blog_post.entries.update"
    ]
    automation.refresh_from_db()
    assert automation.trigger_state["webhook_uid"] == webhook["uid"]
