"""gunicorn's own log lines (its error log: worker starts, refused requests, request
errors) in the platform's format: one line per event, JSON with LOG_FORMAT=json, webhook
tokens and keys shortened as everywhere else."""

from __future__ import annotations

import json

import pytest

from tests.security.gunicorn import gunicorn, send_raw

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TOKEN = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
KEY = "s3cret-hook-key-0123"


def _serve_one_malformed_request(tmp_path, log_format: str) -> tuple[list[str], list[str]]:
    """gunicorn as the README runs it, logging to files; its error and access lines
    after a request line that gunicorn refuses (a DEL byte in the path) and a probe."""
    errors, access = tmp_path / "error.log", tmp_path / "access.log"
    with gunicorn(
        tmp_path,
        "-c",
        "gunicorn.conf.py",
        "--error-logfile",
        str(errors),
        "--access-logfile",
        str(access),
        LOG_FORMAT=log_format,
    ) as address:
        status, _, _ = send_raw(
            address, f"GET /hooks/{TOKEN}/?key={KEY}\x7f HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        )
        assert status == 400
        probe = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        assert send_raw(address, probe)[0] == 200
    return errors.read_text().splitlines(), access.read_text().splitlines()


def test_it_writes_gunicorns_own_lines_as_json_with_log_format_json(tmp_path):
    errors, access = _serve_one_malformed_request(tmp_path, "json")
    lines = [json.loads(line) for line in errors + access]
    assert {line["logger"] for line in lines} == {"gunicorn.error", "gunicorn.access"}
    assert any(line["message"].startswith("Booting worker") for line in lines)
    refused = next(line for line in lines if "Invalid request" in line["message"])
    assert refused["level"] == "WARNING" and refused["time"]


def test_it_shortens_the_webhook_token_in_gunicorns_own_lines(tmp_path):
    errors, access = _serve_one_malformed_request(tmp_path, "plain")
    text = "\n".join(errors + access)
    assert "Invalid request" in text and "gunicorn.error" in text
    assert f"/hooks/{TOKEN[:4]}…/" in text
    assert TOKEN not in text and KEY not in text
