"""Webhook tokens and keys stay out of logs, and the trigger's secret out of the stored
trigger output (issue 8, items 11 and 12)."""

from __future__ import annotations

import json
import logging

import pytest

from automations import services
from automations.models import Execution
from tests.automations.factories import make_project
from tests.security.gunicorn import gunicorn, send_raw

pytestmark = pytest.mark.django_db

KEY = "s3cret-hook-key-0123"


def guarded(team, body="ok"):
    automation = services.automation_create(project=make_project(team), data={
        "name": "Guarded", "trigger": {"connector": "http", "trigger": "request",
                                       "config": {"method": "POST", "secret": KEY}},
        "steps": [{"key": "reply", "connector": "response", "action": "respond",
                   "config": {"body": body}}],
    })  # fmt: skip
    return services.automation_activate(automation=automation)


# -- item 11: logs ---------------------------------------------------------------------


def test_a_refused_call_logs_the_token_shortened(client, team, caplog):
    automation = guarded(team)
    token = automation.webhook_token
    with caplog.at_level(logging.INFO):
        response = client.post(f"/hooks/{token}/?key=wrong-but-close", "{}",
                               content_type="application/json")  # fmt: skip
    assert response.status_code == 401
    assert f"/hooks/{token[:4]}…/" in caplog.text
    assert token not in caplog.text and token[4:] not in caplog.text


def test_a_not_found_hook_logs_the_token_shortened(client, caplog):
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    with caplog.at_level(logging.INFO):
        response = client.post(f"/hooks/contentstack/{token}/?key={KEY}")
    assert response.status_code == 404
    assert "/hooks/contentstack/AbCd…/" in caplog.text
    assert token not in caplog.text and KEY not in caplog.text


@pytest.mark.parametrize(
    "path",
    ["/hooks//{token}/", "/HOOKS/{token}/", "/hooks/./{token}/", "/hooks/contentstack//{token}/"],
)
def test_a_malformed_hook_path_logs_the_token_shortened(client, caplog, path):
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    with caplog.at_level(logging.INFO):
        response = client.post(path.format(token=token) + f"?key={KEY}")
    assert response.status_code == 404
    assert "AbCd…" in caplog.text
    assert token not in caplog.text and KEY not in caplog.text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_access_log_keeps_no_token_and_no_key(team, tmp_path):
    automation = guarded(team)
    token = automation.webhook_token
    access_log = tmp_path / "access.log"
    with gunicorn(
        tmp_path, "--logger-class", "config.log_filters.GunicornLogger",
        "--access-logfile", str(access_log),
        "--access-logformat", '%(h)s "%(r)s" %(s)s %(U)s %(q)s "%(f)s"',
    ) as address:  # fmt: skip
        status, _, _ = send_raw(address, (
            f"POST /hooks/{token}/?key={KEY}&lang=de HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Referer: https://example.com/hooks/{token}/?key={KEY}\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        ).encode())  # fmt: skip
    assert status == 200
    logged = access_log.read_text()
    assert f"/hooks/{token[:4]}…/" in logged and "lang=de" in logged
    assert token not in logged and KEY not in logged


# -- item 12: the trigger output -------------------------------------------------------------


def test_the_api_never_shows_the_trigger_secret_in_the_trigger_output(client, api, team):
    automation = guarded(team)
    response = client.post(
        f"/hooks/{automation.webhook_token}/",
        json.dumps({"note": f"my key is {KEY}", "key": KEY}),
        content_type="application/json",
        headers={"X-Switchboard-Key": KEY, "X-Copy": KEY},
    )
    assert response.status_code == 200
    execution = Execution.objects.get()
    answer = api.get(f"/api/v1/executions/{execution.pk}/")
    assert answer.status_code == 200
    text = json.dumps(answer.json())
    assert KEY not in text
    assert answer.json()["trigger_output"]["body"]["key"] == "[redacted]"


def test_the_admin_never_shows_the_trigger_secret(client, admin_user, team):
    automation = guarded(team)
    client.post(f"/hooks/{automation.webhook_token}/?key={KEY}", json.dumps({"key": KEY}),
                content_type="application/json")  # fmt: skip
    client.force_login(admin_user)
    page = client.get(f"/admin/automations/execution/{Execution.objects.get().pk}/change/")
    assert page.status_code == 200
    assert "[redacted]" in page.content.decode()
    assert KEY not in page.content.decode()


# -- gunicorn's access log atoms, redacted as the format reads them ---------------------------


class _Message:
    def __init__(self, headers, **attributes):
        self.headers = headers
        self.__dict__.update(attributes)


def access_line(tmp_path, access_log_format: str) -> str:
    from datetime import timedelta

    from gunicorn.config import Config

    from config.log_filters import GunicornLogger

    path = tmp_path / "access.log"
    cfg = Config()
    cfg.set("accesslog", str(path))
    cfg.set("access_log_format", access_log_format)
    logger = GunicornLogger(cfg)
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    hook = f"/hooks/{token}/"
    environ = {
        "REQUEST_METHOD": "POST", "RAW_URI": f"{hook}?key={KEY}", "PATH_INFO": hook,
        "QUERY_STRING": f"key={KEY}", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.9",
        "HTTP_USER_AGENT": 'agent "quoted"', "HTTP_REFERER": f"https://example.com{hook}",
    }  # fmt: skip
    request = _Message([("REFERER", f"https://example.com{hook}?key={KEY}")])
    response = _Message([("X-Frame-Options", "DENY")], status="200 OK", sent=12)
    logger.access(response, request, environ, timedelta(microseconds=1500))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = path.read_text()
    assert token not in line and KEY not in line
    return line


def test_the_access_log_reads_only_the_atoms_its_format_names(tmp_path):
    line = access_line(tmp_path, '%(h)s "%(r)s" %(s)s %(U)s %(q)s "%(a)s" %(b)s %(L)s')
    assert line.strip() == (
        '10.0.0.9 "POST /hooks/AbCd…/?key=[removed] HTTP/1.1" 200 /hooks/AbCd…/ '
        'key=[removed] "agent \\"quoted\\"" 12 0.001500'
    )


def test_headers_and_environ_named_by_the_format_are_logged_redacted(tmp_path):
    line = access_line(tmp_path, "%({referer}i)s %({x-frame-options}o)s %({raw_uri}e)s %({x}i)s")
    assert line.strip() == (
        "https://example.com/hooks/AbCd…/?key=[removed] DENY /hooks/AbCd…/?key=[removed] -"
    )
