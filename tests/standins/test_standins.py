"""The stand-ins refuse what the real services refuse, so that tests passing against them
mean something."""

from __future__ import annotations

import requests

from tests.standins.contentstack import ContentstackStandIn
from tests.standins.openai import OpenAIStandIn


def test_contentstack_refuses_requests_without_its_headers():
    with ContentstackStandIn() as stack:
        url = stack.url + "/v3/content_types"
        no_key = requests.get(url, headers={"authorization": stack.token}, timeout=5)
        assert no_key.status_code == 412 and no_key.json()["error_code"] == 109
        no_token = requests.get(url, headers={"api_key": stack.api_key}, timeout=5)
        assert no_token.status_code == 401 and no_token.json()["error_code"] == 105


def test_contentstack_refuses_a_non_multipart_upload_and_an_update_without_entry():
    with ContentstackStandIn() as stack:
        headers = {"api_key": stack.api_key, "authorization": stack.token}
        upload = requests.post(
            stack.url + "/v3/assets", json={"asset": {}}, headers=headers, timeout=5
        )
        assert upload.status_code == 422 and "multipart" in upload.json()["error_message"]
        entry = stack.add_entry("blog_post", "x")
        update = requests.put(
            f"{stack.url}/v3/content_types/blog_post/entries/{entry['uid']}",
            json={"title": "no envelope"},
            headers=headers,
            timeout=5,
        )
        assert update.status_code == 422 and update.json()["errors"] == {"entry": ["is required."]}


def test_openai_refuses_bodies_outside_the_reference_shapes():
    with OpenAIStandIn() as openai:
        headers = {"Authorization": f"Bearer {openai.api_key}"}
        cases = [
            {"model": "gpt-4o", "messages": []},
            {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temprature": 1},
            {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": 3},
            {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}],
             "tools": [{"type": "function", "function": {"name": "has space"}}]},
            {"model": "gpt-4o", "messages": [{"role": "tool", "content": "x", "tool_call_id": "call_9"}]},
        ]  # fmt: skip
        for body in cases:
            response = requests.post(
                openai.base_url + "/chat/completions", json=body, headers=headers, timeout=5
            )
            assert response.status_code == 400, body
            assert response.json()["error"]["type"] == "invalid_request_error"
        images = [{"model": "dall-e-3", "prompt": "x", "n": 2}, {"model": "dall-e-3", "prompt": "x", "size": "512x512"},
                  {"model": "dall-e-3", "prompt": "x", "style": "ugly"}]  # fmt: skip
        for body in images:
            response = requests.post(
                openai.base_url + "/images/generations", json=body, headers=headers, timeout=5
            )
            assert response.status_code == 400, body
        assert requests.get(openai.base_url + "/models", timeout=5).status_code == 401
