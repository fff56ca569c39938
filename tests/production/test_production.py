"""The README's production set-up, run for real: collectstatic, gunicorn with
gunicorn.conf.py and DEBUG=false on PostgreSQL, a qcluster on a Redis of its own. It
fetches the static files of the wizard, the admin and the API docs, the probes and the
metrics, drives the wizard in Chromium, then stops Redis and expects /readyz to say so."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from accounts.services import team_create
from tests.support.required import require

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
METRICS_TOKEN = "metrics-token-for-the-production-test"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args[:3]} exited early")
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered at {url}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def platform(tmp_path):
    """gunicorn and a qcluster as the README runs them, on this test's database."""
    if connection.vendor != "postgresql":
        pytest.skip("runs on PostgreSQL (CI's first pass)")
    require(shutil.which("redis-server") is not None, "redis-server")
    require(os.path.exists(CHROMIUM), "Chromium")
    redis_port, web_port = _free_port(), _free_port()
    redis_server = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"], stdout=subprocess.DEVNULL,
    )  # fmt: skip
    db = connection.settings_dict
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="production-test-secret-key-0123456789abcdefghijklmnop",
        ENCRYPTION_KEYS="g5lp_XIvf57QnEMfLR5MAGKcLP537FKz4RXTBtcVrXA=",
        ALLOWED_HOSTS="127.0.0.1",
        # Plain HTTP on the loopback: the HTTPS switches are off for this trial only.
        SECURE_SSL_REDIRECT="false", SESSION_COOKIE_SECURE="false", CSRF_COOKIE_SECURE="false",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        DATA_DIR=str(tmp_path),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        METRICS_TOKEN=METRICS_TOKEN,
        PORT=str(web_port),
        WEB_WORKERS="2",
        Q_WORKERS="1",
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True, timeout=120,
    )  # fmt: skip
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{web_port}"
    try:
        _wait_for(base + "/healthz", web)
        yield {"base": base, "redis": redis_server, "static_root": tmp_path / "static", "env": env}
    finally:
        for process in (worker, web, redis_server):
            _stop(process)


def _static_url(static_root: Path, name: str) -> str:
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    return "/static/" + manifest["paths"][name]


@pytest.mark.django_db(transaction=True)
def test_the_production_setup_serves_probes_static_files_metrics_and_the_wizard(
    platform, django_user_model
):
    base = platform["base"]
    # Static files of the wizard, the admin and the API docs, hashed and cached for long.
    status, _, login_page = _get(base + "/login/")
    assert status == 200
    htmx = _static_url(platform["static_root"], "django_htmx/htmx-2.min.js")
    assert htmx.encode() in login_page
    status, _, docs_page = _get(base + "/api/docs/")
    assert status == 200
    docs_assets = re.findall(rb'src="(/static/drf_spectacular_sidecar/[^"]+)"', docs_page)
    assert docs_assets
    admin_css = _static_url(platform["static_root"], "admin/css/base.css")
    for path in [htmx, admin_css, *(a.decode() for a in docs_assets)]:
        status, headers, _ = _get(base + path, **{"Accept-Encoding": "gzip"})
        assert status == 200, path
        assert "max-age=315360000" in headers["Cache-Control"], path
        assert "immutable" in headers["Cache-Control"], path

    # Probes, and metrics to the holder of the token.
    assert _get(base + "/healthz")[0] == 200
    status, _, body = _get(base + "/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert _get(base + "/metrics")[0] == 403
    status, _, body = _get(base + "/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
    assert status == 200
    assert b"switchboard_queue_length 0.0" in body

    # The wizard in Chromium against gunicorn: htmx loaded and swapping panels.
    # Made by the platform's own settings: the test settings hash passwords another way.
    subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", "ada",
         "--email", "ada@example.com"],
        cwd=ROOT, env={**platform["env"], "DJANGO_SUPERUSER_PASSWORD": "pw-ada-123456"},
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    user = django_user_model.objects.get(username="ada")
    team_create(name="Acme", owner=user)
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.goto(base + "/")
        page.fill("#id_username", "ada")
        page.fill("#id_password", "pw-ada-123456")
        page.click("button[type=submit]")
        assert page.evaluate("typeof window.htmx") == "object"
        page.select_option("#template", "translate_with_function_calling")
        page.click("button:text-is('Create')")
        page.wait_for_selector("text=Configure Trigger")
        page.click("nav.steps a:nth-child(2)")
        page.wait_for_selector("text=Configure Action: ChatGPT · Function Calling")
        page.click("text=Show Optional Fields")
        page.fill("#id_max_tokens", "many")
        page.click("text=Proceed")
        page.wait_for_selector("text=must be a number")
        # Swapped in place by htmx: what was typed and the rest of the page are still there.
        assert page.input_value("#id_max_tokens") == "many"
        assert page.is_visible("text=Configure Trigger")
        browser.close()

    # Redis stopped: not ready, and the answer names the broker.
    _stop(platform["redis"])
    status, _, body = _get(base + "/readyz")
    assert status == 503
    assert json.loads(body) == {"status": "unavailable", "failing": ["broker"]}
    assert _get(base + "/healthz")[0] == 200
