"""Use case 2 of the seed, built through the API as a user would: creating an entry in
Contentstack starts the automation; DALL-E 3 makes an image from the entry's title;
Create an Asset uploads it to the stack; Update an Entry puts the asset's uid into the
entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automations.models import Execution, Status
from tests.conftest import api_for

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parents[1] / "connectors/contentstack/fixtures/entry_create.json"


def post(client, url, body):
    response = client.post(url, body, format="json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def test_a_new_entry_gets_a_generated_featured_image(
    owner, team, client, openai_standin, contentstack_standin, django_capture_on_commit_callbacks
):
    api = api_for(owner)
    gpt = post(api, "/api/v1/accounts/", {"connector": "chatgpt", "title": "ChatGPT", "credentials": {
        "api_key": openai_standin.api_key, "organization_id": "org-standin", "base_url": openai_standin.base_url}})  # fmt: skip
    stack = post(api, "/api/v1/accounts/", {"connector": "contentstack", "title": "Blog stack", "credentials": {
        "region": "custom", "base_url": contentstack_standin.base_url,
        "api_key": contentstack_standin.api_key, "management_token": contentstack_standin.token}})  # fmt: skip
    project = post(api, "/api/v1/projects/", {"name": "Blog"})["id"]
    automation = post(api, "/api/v1/automations/", {
        "project": project, "name": "Featured image for new posts",
        "trigger": {"connector": "contentstack", "trigger": "entry", "account": stack["id"],
                    "config": {"event": "created", "content_type": "blog_post", "branch": "main"}},
        "steps": [
            {"key": "image", "name": "DALL-E 3 Image Generator", "connector": "chatgpt",
             "action": "dalle3_image_generator", "account": gpt["id"],
             "config": {"prompt": "Create an image for the Blog title - {{ trigger.entry.title }}",
                        "size": "1024x1024", "style": "vivid", "quality": "standard"}},
            {"key": "asset", "name": "Create an Asset", "connector": "contentstack", "action": "create_asset",
             "account": stack["id"],
             "config": {"title": "{{ trigger.entry.title }}", "file_name": "featured.png",
                        "url": "{{ steps.image.url }}", "description": "{{ steps.image.revised_prompt }}"}},
            {"key": "update", "name": "Update an Entry", "connector": "contentstack", "action": "update_entry",
             "account": stack["id"],
             "config": {"content_type": "{{ trigger.content_type.uid }}", "entry": "{{ trigger.entry.uid }}",
                        "entry_data": {"featured_image": "{{ steps.asset.uid }}"}, "locale": "en-us"}},
        ],
    })  # fmt: skip
    post(api, f"/api/v1/automations/{automation['id']}/activate/", {})
    (webhook,) = contentstack_standin.webhooks.values()
    header = webhook["destinations"][0]["custom_header"][0]

    # Contentstack: an editor creates the entry, and the stack delivers the webhook.
    entry = contentstack_standin.add_entry("blog_post", "Ten tips for spring gardening")
    payload = json.loads(FIXTURE.read_text().replace("__ENTRY_UID__", entry["uid"]))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            webhook["destinations"][0]["target_url"].removeprefix("http://testserver"), json.dumps(payload),
            content_type="application/json", headers={header["header_name"]: header["value"]},
        )  # fmt: skip
    assert response.status_code == 202, response.content

    image_request = next(
        r for r in openai_standin.received if r.path == "/v1/images/generations"
    ).json()
    assert (
        image_request["prompt"]
        == "Create an image for the Blog title - Ten tips for spring gardening"
    )
    assert image_request["model"] == "dall-e-3" and image_request["n"] == 1
    (asset,) = contentstack_standin.assets.values()
    assert contentstack_standin.uploads[asset["uid"]] == openai_standin.image
    assert asset["title"] == "Ten tips for spring gardening" and asset["filename"] == "featured.png"
    assert contentstack_standin.entry("blog_post", entry["uid"])["featured_image"] == asset["uid"]

    execution = Execution.objects.get(automation_id=automation["id"])
    assert execution.status == Status.SUCCEEDED, execution.error
    runs = list(execution.step_runs.order_by("position"))
    assert [r.step_key for r in runs] == ["image", "asset", "update"]
    assert runs[1].output["uid"] == asset["uid"]
    assert runs[2].output["featured_image"] == asset["uid"]
    assert runs[2].input["entry_data"] == {"featured_image": asset["uid"]}
    assert contentstack_standin.token not in json.dumps(
        [r.input for r in runs] + [r.output for r in runs]
    )
