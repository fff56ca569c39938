"""Values a user or an event supplies reach Contentstack as one encoded path segment or
a clean header value: never another endpoint, never an extra header."""

from __future__ import annotations

import json

import pytest

from tests.automations.factories import make_project
from tests.support.flows import Status, http_automation, run_now

pytestmark = pytest.mark.django_db

TRAVERSAL = "../../webhooks%23"
CRLF_BRANCH = "main\r\nX-Injected: 1"


@pytest.fixture
def standin(contentstack_account, contentstack_standin):
    """The stand-in, having forgotten the account check made when the account was saved."""
    contentstack_standin.received.clear()
    return contentstack_standin


def lookup(api, account, name, **params):
    return api.get(f"/api/v1/accounts/{account.pk}/lookup/{name}/", params)


def step(account, action="get_entry", **config):
    return {"key": "cs", "connector": "contentstack", "action": action,
            "account": account.pk, "config": config}  # fmt: skip


def paths(standin) -> list[str]:
    return [request.path for request in standin.received]


def test_it_sends_a_traversing_content_type_of_a_lookup_as_one_segment(
    api, contentstack_account, standin
):
    response = lookup(api, contentstack_account, "entries", content_type="../../webhooks#")
    assert response.status_code == 400
    assert paths(standin) == ["/v3/content_types/..%2F..%2Fwebhooks%23/entries"]


def test_it_refuses_a_dot_dot_content_type(api, contentstack_account, standin):
    # requests decodes %2E, so no encoding keeps ".." from climbing a level.
    response = lookup(api, contentstack_account, "entries", content_type="..")
    assert response.status_code == 400
    assert response.json() == {"content_type": ["content_type '..' is not a Contentstack uid."]}
    assert standin.received == []


def test_it_answers_400_naming_the_branch_for_a_crlf_in_a_lookup(
    api, contentstack_account, standin
):
    response = lookup(api, contentstack_account, "content_types", branch=CRLF_BRANCH)
    assert response.status_code == 400
    assert response.json() == {
        "branch": ["branch may not contain control characters (line breaks, tabs, NUL)."]
    }
    assert standin.received == []


def test_it_sends_a_traversing_content_type_of_an_action_as_one_segment(
    team, contentstack_account, standin
):
    flow = http_automation(
        make_project(team), "Flow", [step(contentstack_account, content_type=TRAVERSAL,
                                          entry="blt0000000000001000")]
    )  # fmt: skip
    execution = run_now(flow)
    assert execution.status == Status.FAILED
    assert paths(standin) == [
        "/v3/content_types/..%2F..%2Fwebhooks%2523/entries/blt0000000000001000"
    ]


def test_it_encodes_an_entry_uid_from_the_caller(team, contentstack_account, standin):
    config = {"content_type": "blog_post", "entry": "{{ trigger.uid }}",
              "entry_data": {"title": "x"}}  # fmt: skip
    flow = http_automation(
        make_project(team), "Flow", [step(contentstack_account, "update_entry", **config)]
    )
    execution = run_now(flow, {"uid": "x/../../../../webhooks?"})
    assert execution.status == Status.FAILED
    assert paths(standin) == [
        "/v3/content_types/blog_post/entries/x%2F..%2F..%2F..%2F..%2Fwebhooks%3F"
    ]


def test_it_refuses_to_save_a_step_with_a_crlf_in_the_branch(
    api, contentstack_account, standin, team
):
    data = {"project": make_project(team).pk, "name": "Flow",
            "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
            "steps": [step(contentstack_account, branch=CRLF_BRANCH, content_type="blog_post",
                           entry="blt0000000000001000")]}  # fmt: skip
    response = api.post("/api/v1/automations/", data, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "steps[0].config.branch": ["may not contain control characters (line breaks, tabs, NUL)"]
    }


def test_it_fails_a_step_whose_branch_reference_resolves_to_a_crlf(
    team, contentstack_account, standin
):
    flow = http_automation(
        make_project(team), "Flow", [step(contentstack_account, branch="{{ trigger.branch }}",
                                          content_type="blog_post", entry="blt0000000000001000")]
    )  # fmt: skip
    execution = run_now(flow, {"branch": CRLF_BRANCH})
    assert execution.status == Status.FAILED
    assert "field 'branch' may not contain control characters" in execution.error
    assert standin.received == []


def test_it_refuses_an_account_whose_api_key_holds_a_line_break(api, contentstack_standin):
    response = api.post(
        "/api/v1/accounts/",
        {"connector": "contentstack", "title": "Stack",
         "credentials": {"region": "custom", "base_url": contentstack_standin.base_url,
                         "api_key": "blt1\r\nX-Injected: 1", "management_token": "t"}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "control characters" in json.dumps(response.json())
    assert contentstack_standin.received == []
