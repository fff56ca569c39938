"""What a webhook answers: sandboxed whatever a Response step says, no cookies, policies
or hop-by-hop headers from a step, Location only with a redirect, valid statuses and
headers only, and webhooks on their own host when HOOKS_BASE_URL is set (issue 8,
items 1 and 9)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from automations import services
from automations.models import Execution, Status
from tests.automations.factories import make_project

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = {
    "Content-Security-Policy": "sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def definition(status=200, body="ok", headers=(), secret=None):
    config = {"method": "POST", **({"secret": secret} if secret else {})}
    return {
        "name": "Answer", "trigger": {"connector": "http", "trigger": "request", "config": config},
        "steps": [{"key": "reply", "connector": "response", "action": "respond",
                   "config": {"status": status, "body": body,
                              "headers": [{"key": k, "value": v} for k, v in headers]}}],
    }  # fmt: skip


def hook(team, **kwargs):
    automation = services.automation_create(project=make_project(team), data=definition(**kwargs))
    return services.automation_activate(automation=automation)


def call(client, automation, body=None, query="", **extra):
    return client.post(
        f"/hooks/{automation.webhook_token}/{query}", json.dumps(body or {}),
        content_type="application/json", **extra,
    )  # fmt: skip


def assert_sandboxed(response):
    for name, value in SANDBOX.items():
        assert response[name] == value, name


def save_via_api(api, team, **kwargs):
    return api.post(
        "/api/v1/automations/",
        {"project": make_project(team).pk, **definition(**kwargs)},
        format="json",
    )


# -- item 1: every answer is sandboxed -------------------------------------------------


def test_it_sandboxes_an_html_answer_with_a_script(client, team):
    automation = hook(
        team, body="<script>fetch('/api/v1/accounts/')</script>",
        headers=[("Content-Type", "text/html")],
    )  # fmt: skip
    response = call(client, automation)
    assert response.status_code == 200
    assert_sandboxed(response)


def test_step_headers_cannot_loosen_the_sandbox(client, team):
    automation = hook(
        team, headers=[("Cross-Origin-Resource-Policy", "cross-origin"),
                       ("X-Content-Type-Options", "sniff")],
    )  # fmt: skip
    assert_sandboxed(call(client, automation))


@pytest.mark.parametrize(
    "path, status",
    [("/hooks/not-a-token/", 404), ("/hooks/a/b/c/", 404)],
)
def test_refusals_are_sandboxed_too(client, path, status):
    response = client.post(path, "{}", content_type="application/json")
    assert response.status_code == status
    assert_sandboxed(response)


def test_a_wrong_key_answer_is_sandboxed(client, team):
    automation = hook(team, secret="s3cret-hook-key")
    response = call(client, automation)
    assert response.status_code == 401
    assert_sandboxed(response)


def test_a_queued_answer_is_sandboxed(client, team):
    automation = services.automation_create(
        project=make_project(team), data={**definition(), "steps": []}
    )
    services.automation_activate(automation=automation)
    response = call(client, automation)
    assert response.status_code == 202
    assert_sandboxed(response)


def test_a_failed_run_answer_is_sandboxed(client, team):
    automation = hook(team, body="{{ trigger.body.missing }}")
    response = call(client, automation)
    assert response.status_code == 502
    assert_sandboxed(response)


@pytest.mark.parametrize(
    "name",
    ["Set-Cookie", "set-cookie2", "Content-Security-Policy",
     "Content-Security-Policy-Report-Only", "Access-Control-Allow-Origin",
     "Access-Control-Allow-Credentials", "Strict-Transport-Security", "X-Frame-Options",
     "Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
     "Proxy-Authenticate", "Proxy-Authorization", "Content-Length"],
)  # fmt: skip
def test_the_api_refuses_a_forbidden_header_at_save(api, team, name):
    response = save_via_api(api, team, headers=[(name, "sessionid=attacker")])
    assert response.status_code == 400
    errors = json.dumps(response.json())
    assert "steps[0].config.headers" in errors and "cannot be set by a Response step" in errors


def test_the_wizard_refuses_set_cookie_at_save(client, owner, team):
    automation = hook(team)
    client.force_login(owner)
    response = client.post(f"/automations/{automation.pk}/steps/reply/", {
        "connector": "response", "action": "respond", "name": "Reply", "status": "200",
        "body": "ok", "headers__0__key": "Set-Cookie", "headers__0__value": "sessionid=x",
    })  # fmt: skip
    assert "Set-Cookie cannot be set by a Response step" in response.content.decode()
    assert not automation.steps.get().config.get("headers")


def test_the_import_refuses_set_cookie(team):
    document = {"format": "switchboard/automation@1", **definition(headers=[("Set-Cookie", "a=b")])}
    with pytest.raises(Exception, match="cannot be set by a Response step"):
        services.automation_import(project=make_project(team), document=document)


def test_a_reference_producing_set_cookie_fails_the_run(client, team):
    automation = hook(team, headers=[("{{ trigger.body.name }}", "sessionid=attacker")])
    response = call(client, automation, {"name": "Set-Cookie"})
    assert response.status_code == 502
    assert "Set-Cookie" not in response.headers
    execution = Execution.objects.get()
    assert response.json()["execution_id"] == execution.pk
    assert execution.status == Status.FAILED
    assert "Set-Cookie cannot be set by a Response step" in execution.error
    assert execution.step_runs.get().status == Status.FAILED


def test_location_needs_a_redirect_status_at_save(api, team):
    response = save_via_api(api, team, status=200, headers=[("Location", "https://evil.test/")])
    assert response.status_code == 400
    assert "Location needs a 3xx status" in json.dumps(response.json())


def test_location_with_a_redirect_status_is_answered(client, team):
    automation = hook(team, status=302, headers=[("Location", "https://example.com/done")])
    response = call(client, automation)
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/done"


def test_a_reference_giving_location_without_a_redirect_fails_the_run(client, team):
    automation = hook(team, status=200, headers=[("{{ trigger.body.name }}", "https://evil.test/")])
    response = call(client, automation, {"name": "Location"})
    assert response.status_code == 502
    assert "Location" not in response.headers


# -- item 9: statuses and header syntax -------------------------------------------------


def test_it_refuses_a_1xx_status_at_save(api, team):
    response = save_via_api(api, team, status=101)
    assert response.status_code == 400
    assert "must be a number between 200 and 599" in json.dumps(response.json())


def test_a_1xx_status_from_a_reference_fails_the_run(client, team):
    automation = hook(team, status="{{ trigger.body.status }}")
    response = call(client, automation, {"status": 101})
    assert response.status_code == 502
    assert Execution.objects.get().step_runs.get().status == Status.FAILED


@pytest.mark.parametrize(
    "name, value",
    [("X-Ok", "a\r\nSet-Cookie: sessionid=x"), ("X-Ok", "caf\u00e9"), ("X Bad", "v"),
     ("X-\u00e9", "v"), ("X:Y", "v")],
)  # fmt: skip
def test_it_refuses_an_invalid_literal_header_at_save(api, team, name, value):
    response = save_via_api(api, team, headers=[(name, value)])
    assert response.status_code == 400
    assert "steps[0].config.headers" in json.dumps(response.json())


@pytest.mark.parametrize("value", ["a\r\nSet-Cookie: sessionid=x", "caf\u00e9", "a\x07b"])
def test_an_invalid_header_value_from_a_reference_fails_before_the_step_succeeds(
    client, team, value
):
    automation = hook(team, headers=[("X-Echo", "{{ trigger.body.v }}")])
    response = call(client, automation, {"v": value})
    assert response.status_code == 502
    assert "Set-Cookie" not in response.headers
    run = Execution.objects.get().step_runs.get()
    assert run.status == Status.FAILED
    assert "X-Echo" in run.error


# -- item 1: HOOKS_BASE_URL -----------------------------------------------------------------


@pytest.fixture
def hooks_host(settings):
    settings.HOOKS_BASE_URL = "http://hooks.testserver"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "hooks.testserver"]


def test_hooks_on_the_main_host_answer_404(client, team, hooks_host):
    automation = hook(team)
    response = call(client, automation)
    assert response.status_code == 404
    assert_sandboxed(response)
    assert not Execution.objects.exists()


def test_hooks_on_the_hooks_host_are_answered(client, team, hooks_host):
    automation = hook(team)
    response = call(client, automation, HTTP_HOST="hooks.testserver")
    assert response.status_code == 200
    assert_sandboxed(response)


def test_the_api_shows_the_webhook_url_on_the_hooks_host(api, team, hooks_host):
    response = save_via_api(api, team)
    assert response.json()["webhook_url"].startswith("http://hooks.testserver/hooks/")


def test_the_wizard_shows_the_webhook_url_on_the_hooks_host(client, owner, team, hooks_host):
    automation = hook(team)
    client.force_login(owner)
    html = client.get(f"/automations/{automation.pk}/").content.decode()
    assert f"http://hooks.testserver/hooks/{automation.webhook_token}/" in html


def test_contentstack_registers_the_hooks_host(
    team, contentstack_account, contentstack_standin, hooks_host
):
    automation = services.automation_create(project=make_project(team), data={
        "name": "Entries", "trigger": {"connector": "contentstack", "trigger": "entry",
                                       "account": contentstack_account.pk,
                                       "config": {"event": "created"}}})  # fmt: skip
    services.automation_activate(automation=automation)
    (webhook,) = contentstack_standin.webhooks.values()
    target = webhook["destinations"][0]["target_url"]
    assert target == f"http://hooks.testserver/hooks/contentstack/{automation.webhook_token}/"


def test_the_hooks_host_is_added_to_allowed_hosts():
    code = "from django.conf import settings; print(settings.ALLOWED_HOSTS)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, capture_output=True,
        text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "tests.settings",
             "HOOKS_BASE_URL": "https://hooks.example.com", "ALLOWED_HOSTS": "app.example.com"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "'hooks.example.com'" in result.stdout and "'app.example.com'" in result.stdout


@pytest.mark.parametrize("path", ["/login/", "/admin/login/", "/api/v1/teams/", "/"])
def test_the_hooks_host_serves_no_other_page(client, owner, hooks_host, path):
    client.force_login(owner)
    response = client.get(path, HTTP_HOST="hooks.testserver")
    assert response.status_code == 404
    assert_sandboxed(response)


def test_the_hooks_host_still_answers_probes(client, hooks_host):
    assert client.get("/healthz", HTTP_HOST="hooks.testserver").status_code == 200


def test_the_main_host_still_serves_the_site(client, hooks_host):
    assert client.get("/login/").status_code == 200
