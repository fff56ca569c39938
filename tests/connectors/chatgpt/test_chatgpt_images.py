from __future__ import annotations

import pytest

from tests.automations.factories import make_project
from tests.standins.openai import tiny_png
from tests.support.flows import Status, http_automation, run_now

pytestmark = pytest.mark.django_db


def image_step(account, **config):
    return {"key": "image", "connector": "chatgpt", "action": "dalle3_image_generator", "account": account.pk,
            "config": {"prompt": "Create an image for the Blog title - {{ trigger.body.title }}", **config}}  # fmt: skip


def test_dalle3_uses_the_defaults_and_returns_the_url(team, chatgpt_account, openai_standin):
    execution = run_now(http_automation(make_project(team), "Img", [image_step(chatgpt_account)]),
                        {"body": {"title": "Spring"}})  # fmt: skip
    assert execution.status == Status.SUCCEEDED, execution.error
    sent = openai_standin.received[-1].json()
    assert sent == {"model": "dall-e-3", "prompt": "Create an image for the Blog title - Spring", "n": 1,
                    "size": "1024x1024", "style": "vivid", "quality": "standard", "response_format": "url"}  # fmt: skip
    output = execution.step_runs.get().output
    assert output["url"].startswith(openai_standin.url + "/files/")
    assert output["revised_prompt"] == "A picture: Create an image for the Blog title - Spring"
    assert output["size"] == "1024x1024"


def test_dalle3_takes_the_other_sizes_styles_and_quality(team, chatgpt_account, openai_standin):
    step = image_step(chatgpt_account, size="1792x1024", style="natural", quality="hd")
    execution = run_now(
        http_automation(make_project(team), "Wide", [step]), {"body": {"title": "x"}}
    )
    assert execution.status == Status.SUCCEEDED, execution.error
    sent = openai_standin.received[-1].json()
    assert (sent["size"], sent["style"], sent["quality"]) == ("1792x1024", "natural", "hd")


def test_a_size_outside_the_three_is_refused_before_any_call(team, chatgpt_account, openai_standin):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        http_automation(make_project(team), "Odd", [image_step(chatgpt_account, size="512x512")])
    assert "steps[0].config.size" in caught.value.message_dict
    assert openai_standin.received[1:] == []


def test_the_base64_model_stores_the_image_and_outputs_a_url(
    team, chatgpt_account, openai_standin, client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    step = image_step(chatgpt_account, model="gpt-image-1", size="1024x1792", quality="hd")
    execution = run_now(
        http_automation(make_project(team), "B64", [step]), {"body": {"title": "x"}}
    )
    assert execution.status == Status.SUCCEEDED, execution.error
    sent = openai_standin.received[-1].json()
    assert sent == {"model": "gpt-image-1", "prompt": "Create an image for the Blog title - x", "n": 1,
                    "size": "1024x1536", "quality": "high"}  # fmt: skip
    url = execution.step_runs.get().output["url"]
    assert url.startswith("http://testserver/media/generated/") and url.endswith("/image.png")
    response = client.get(url.removeprefix("http://testserver"))
    assert b"".join(response.streaming_content) == tiny_png()
