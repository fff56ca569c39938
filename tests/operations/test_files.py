"""Generated files: streamed with their type, never sniffed, never outside generated/."""

from __future__ import annotations

import pytest

from automations.engine.files import store_file


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PUBLIC_BASE_URL = ""


def test_it_streams_a_generated_image_with_its_type_and_nosniff(client):
    url = store_file("cat.png", b"\x89PNG\r\n\x1a\nfake", "image/png")
    response = client.get(url)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_it_sandboxes_a_generated_svg(client):
    url = store_file(
        "x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>", ""
    )
    response = client.get(url)
    assert response["Content-Type"] == "image/svg+xml"
    assert "sandbox" in response["Content-Security-Policy"]


def test_it_refuses_a_path_that_climbs_out_of_generated(client, settings, tmp_path):
    (tmp_path / "secret.txt").write_text("no")
    response = client.get("/media/generated/..%2Fsecret.txt")
    assert response.status_code == 404
    response = client.get("/media/generated/a/../../secret.txt")
    assert response.status_code == 404
