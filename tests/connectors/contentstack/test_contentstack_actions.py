from __future__ import annotations

import pytest

from tests.automations.factories import make_project
from tests.standins.openai import tiny_png
from tests.standins.server import Reply, Routes
from tests.support.flows import Status, http_automation, run_now

pytestmark = pytest.mark.django_db


def step(key, action, account, **config):
    return {
        "key": key,
        "connector": "contentstack",
        "action": action,
        "account": account.pk,
        "config": config,
    }


def run(team, steps, payload=None):
    execution = run_now(http_automation(make_project(team), "Flow", steps), payload or {})
    return execution, list(execution.step_runs.order_by("position"))


@pytest.fixture
def image_server():
    with Routes({("GET", "/cat.png"): Reply(200, tiny_png(), headers={"Content-Type": "image/png"}),
                 ("GET", "/cat.jpg"): Reply(200, b"\xff\xd8jpeg", headers={"Content-Type": "image/jpeg"}),
                 ("GET", "/big.png"): Reply(200, b"x" * 2000, headers={"Content-Type": "image/png"})}) as server:  # fmt: skip
        yield server


def test_create_asset_downloads_and_uploads_the_same_bytes(
    team, contentstack_account, contentstack_standin, image_server
):
    execution, (asset_run,) = run(team, [step(
        "asset", "create_asset", contentstack_account, title="Cat", file_name="cat.png",
        url=image_server.url + "/cat.png", description="A cat", folder="bltfolder00000000001", tags="pets,cats")])  # fmt: skip
    assert execution.status == Status.SUCCEEDED, execution.error
    asset = asset_run.output
    assert contentstack_standin.uploads[asset["uid"]] == tiny_png()
    assert (
        asset["title"] == "Cat"
        and asset["filename"] == "cat.png"
        and asset["content_type"] == "image/png"
    )
    assert asset["description"] == "A cat" and asset["parent_uid"] == "bltfolder00000000001"
    assert asset["tags"] == ["pets", "cats"]
    upload = contentstack_standin.received[-1]
    assert upload.headers["content-type"].startswith("multipart/form-data")


def test_create_asset_checks_the_type_against_the_file_name(
    team, contentstack_account, contentstack_standin, image_server
):
    execution, _ = run(team, [step("asset", "create_asset", contentstack_account, title="Cat",
                                   file_name="cat.png", url=image_server.url + "/cat.jpg")])  # fmt: skip
    assert execution.status == Status.FAILED
    assert (
        "The URL serves image/jpeg, but the file name 'cat.png' says image/png." in execution.error
    )
    assert contentstack_standin.uploads == {}


def test_create_asset_caps_the_download(team, contentstack_account, image_server, monkeypatch):
    import connectors.contentstack.actions as actions

    monkeypatch.setattr(actions, "MAX_ASSET_BYTES", 1000)
    execution, _ = run(team, [step("asset", "create_asset", contentstack_account, title="Big",
                                   file_name="big.png", url=image_server.url + "/big.png")])  # fmt: skip
    assert "larger than 1000 bytes" in execution.error


@pytest.mark.parametrize("url, reason", [
    ("http://169.254.169.254/latest/meta-data/iam", "link-local address (used for cloud metadata)"),
    ("http://10.0.0.1/image.png", "private address"),
    ("http://127.0.0.2:9/image.png", "loopback address"),
    ("http://[::1]:9/image.png", "loopback address"),
])  # fmt: skip
def test_create_asset_refuses_private_and_metadata_addresses(
    team, contentstack_account, contentstack_standin, url, reason
):
    execution, (asset_run,) = run(team, [step("asset", "create_asset", contentstack_account,
                                              title="x", file_name="x.png", url=url)])  # fmt: skip
    assert execution.status == Status.FAILED
    assert "Refused to connect to" in asset_run.error and reason in asset_run.error
    assert asset_run.attempts == 1
    assert contentstack_standin.uploads == {}


def test_update_entry_sends_the_entry_envelope(team, contentstack_account, contentstack_standin):
    entry = contentstack_standin.add_entry("blog_post", "Post")
    execution, (update,) = run(team, [step(
        "update", "update_entry", contentstack_account, content_type="blog_post", entry=entry["uid"],
        entry_data={"body": "New body"}, locale="en-us", include_branch=True)])  # fmt: skip
    assert execution.status == Status.SUCCEEDED, execution.error
    sent = contentstack_standin.received[-1]
    assert sent.method == "PUT" and sent.json() == {"entry": {"body": "New body"}}
    assert sent.query == {"locale": ["en-us"], "include_branch": ["true"]}
    assert update.output["body"] == "New body" and update.output["_version"] == 2
    assert update.output["_branch"] == "main"


def test_update_entry_takes_entry_data_from_a_reference(
    team, contentstack_account, contentstack_standin
):
    entry = contentstack_standin.add_entry("blog_post", "Post")
    execution, _ = run(team, [step("update", "update_entry", contentstack_account, content_type="blog_post",
                                   entry=entry["uid"], entry_data="{{ trigger.body.data }}")],
                       {"body": {"data": {"entry": {"title": "Renamed"}}}})  # fmt: skip
    assert execution.status == Status.SUCCEEDED, execution.error
    assert contentstack_standin.entry("blog_post", entry["uid"])["title"] == "Renamed"


@pytest.mark.parametrize("data, message", [
    ('{"title": ', "is not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
])  # fmt: skip
def test_bad_entry_data_fails_before_any_call(
    team, contentstack_account, contentstack_standin, data, message
):
    calls = len(contentstack_standin.received)
    execution, (update,) = run(team, [step("update", "update_entry", contentstack_account, content_type="blog_post",
                                           entry="blt1", entry_data="{{ trigger.body.data }}")],
                               {"body": {"data": data}})  # fmt: skip
    assert execution.status == Status.FAILED
    assert "field 'entry_data'" in update.error and message in update.error
    assert len(contentstack_standin.received) == calls


def test_a_missing_entry_or_content_type_names_the_uid(team, contentstack_account):
    execution, (update,) = run(team, [step("update", "update_entry", contentstack_account,
                                           content_type="blog_post", entry="bltmissing", entry_data={"a": 1})])  # fmt: skip
    assert "Entry 'bltmissing' was not found in content type 'blog_post'." in update.error
    assert "The requested entry doesn't exist. (error code 141)" in update.error
    execution, (get,) = run(
        team, [step("get", "get_entry", contentstack_account, content_type="recipes", entry="x")]
    )
    assert "Content type 'recipes' was not found." in get.error


def test_rate_limits_and_server_errors_are_retried(
    team, contentstack_account, contentstack_standin
):
    from tests.standins.contentstack import cs_error

    entry = contentstack_standin.add_entry("blog_post", "Post")
    contentstack_standin.forced = [
        Reply(
            429,
            {"error_message": "Too many requests.", "error_code": 429},
            headers={"Retry-After": "0"},
        ),
        cs_error(503, "Service unavailable.", 503),
    ]
    execution, (get,) = run(
        team,
        [
            step(
                "get",
                "get_entry",
                contentstack_account,
                content_type="blog_post",
                entry=entry["uid"],
            )
        ],
    )
    assert execution.status == Status.SUCCEEDED, execution.error
    assert get.attempts == 3 and get.output["title"] == "Post"


def test_create_get_and_publish_entries(team, contentstack_account, contentstack_standin):
    execution, runs = run(team, [
        step("create", "create_entry", contentstack_account, content_type="blog_post", entry_data={"title": "Fresh"}),
        step("get", "get_entry", contentstack_account, content_type="blog_post", entry="{{ steps.create.uid }}"),
        step("publish", "publish_entry", contentstack_account, content_type="blog_post",
             entry="{{ steps.create.uid }}", environments=["production"], locales=["en-us"]),
    ])  # fmt: skip
    assert execution.status == Status.SUCCEEDED, execution.error
    assert runs[1].output["title"] == "Fresh"
    assert contentstack_standin.published == [{"uid": runs[0].output["uid"], "environments": ["production"],
                                               "locales": ["en-us"], "locale": "en-us"}]  # fmt: skip


def test_the_branch_header_is_sent(team, contentstack_account, contentstack_standin):
    entry = contentstack_standin.add_entry("blog_post", "Dev", branch="development")
    execution, (get,) = run(team, [step("get", "get_entry", contentstack_account, content_type="blog_post",
                                        entry=entry["uid"], branch="development")])  # fmt: skip
    assert execution.status == Status.SUCCEEDED, execution.error
    assert contentstack_standin.received[-1].headers["branch"] == "development"
