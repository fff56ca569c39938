"""Generated files in an S3-compatible bucket (MEDIA_STORAGE_URL): a step stores there, a
later step reads from there, and the platform serves them itself, with the same headers
as from the disk, at URLs that never name the bucket."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from automations.engine.files import store_file
from tests.automations.factories import make_project
from tests.standins.openai import tiny_png
from tests.support.flows import Status, http_automation, run_now

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def image_then_asset(chatgpt_account, contentstack_account) -> list[dict]:
    return [
        {
            "key": "image",
            "connector": "chatgpt",
            "action": "dalle3_image_generator",
            "account": chatgpt_account.pk,
            "config": {"prompt": "A cover for {{ trigger.body.title }}", "model": "gpt-image-1"},
        },
        {
            "key": "asset",
            "connector": "contentstack",
            "action": "create_asset",
            "account": contentstack_account.pk,
            "config": {
                "title": "{{ trigger.body.title }}",
                "file_name": "cover.png",
                "url": "{{ steps.image.url }}",
            },
        },
    ]


def test_it_stores_a_generated_image_in_the_bucket_and_a_later_step_reads_it_there(
    team, chatgpt_account, contentstack_account, contentstack_standin, media_bucket, settings
):
    automation = http_automation(
        make_project(team), "Cover", image_then_asset(chatgpt_account, contentstack_account)
    )
    execution = run_now(automation, {"body": {"title": "Spring"}})
    assert execution.status == Status.SUCCEEDED, execution.error

    (key,) = media_bucket.keys()
    assert key.startswith("switchboard/generated/") and key.endswith("/image.png")
    assert media_bucket.objects[("media", key)].body == tiny_png()
    assert media_bucket.objects[("media", key)].content_type == "image/png"
    url = execution.step_runs.get(step_key="image").output["url"]
    assert url == "http://testserver/media/" + key.removeprefix("switchboard/")
    # The asset step read the image from the bucket (http://testserver is nowhere).
    (upload,) = contentstack_standin.uploads.values()
    assert upload == tiny_png()
    assert any(r.method == "GET" and r.path == f"/media/{key}" for r in media_bucket.received)
    assert not os.path.exists(settings.MEDIA_ROOT)


def test_it_serves_a_file_from_the_bucket_with_its_type_nosniff_and_a_sandbox(client, media_bucket):
    url = store_file(
        "x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>", ""
    )
    assert "/media/generated/" in url and "switchboard" not in url
    response = client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"<svg")
    assert response["Content-Type"] == "image/svg+xml"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_it_answers_404_for_a_name_the_bucket_does_not_hold(client, media_bucket):
    store_file("cat.png", tiny_png(), "image/png")
    assert client.get("/media/generated/nothere/cat.png").status_code == 404
    assert client.get("/media/generated/a/../../switchboard/x").status_code == 404


def test_it_signs_with_the_keys_from_the_environment_when_the_url_has_none(
    client, settings, s3_standin, monkeypatch
):
    from config.media_storage import media_storage

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_standin.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_standin.secret_key)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": media_storage(
            f"s3://media?region={s3_standin.region}&endpoint_url={s3_standin.url}"
        ),
    }
    url = store_file("cat.png", tiny_png(), "image/png")
    assert s3_standin.keys() == ["generated/" + url.split("/media/generated/")[1]]
    response = client.get(url.removeprefix("http://testserver"))
    assert b"".join(response.streaming_content) == tiny_png()


def _django(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_puts_files_in_the_bucket_that_media_storage_url_names(s3_standin):
    done = _django(
        "from automations.engine.files import store_file; print(store_file('a.txt', b'hi', ''))",
        MEDIA_STORAGE_URL=f"s3://{s3_standin.access_key}:{s3_standin.secret_key}@media/p"
        f"?region={s3_standin.region}&endpoint_url={s3_standin.url}",
    )
    assert done.returncode == 0, done.stderr
    (key,) = s3_standin.keys()
    assert key.startswith("p/generated/") and key.endswith("/a.txt")
    assert done.stdout.strip().endswith(key.removeprefix("p/"))


def test_it_refuses_a_storage_url_it_cannot_read_without_repeating_its_secret():
    for url in (
        "https://SECRETKEY:SECRETVALUE@bucket/p",
        "s3://SECRETKEY:SECRETVALUE@bucket?acl=x",
    ):
        done = _django("", MEDIA_STORAGE_URL=url)
        assert done.returncode != 0
        assert "MEDIA_STORAGE_URL" in done.stderr
        assert "SECRET" not in done.stderr


def test_it_keeps_the_keys_in_the_url_off_djangos_error_page():
    done = _django(
        "from django.views.debug import SafeExceptionReporterFilter; "
        "print(SafeExceptionReporterFilter().get_safe_settings())",
        MEDIA_STORAGE_URL="s3://AKIAEXAMPLEKEYID:SECRETVALUE@media/p?region=eu-west-1",
    )
    assert done.returncode == 0, done.stderr
    assert "S3Storage" in done.stdout
    assert "SECRETVALUE" not in done.stdout and "AKIAEXAMPLEKEYID" not in done.stdout
