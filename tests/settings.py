"""Test settings: the one settings module, fed the environment a test run needs."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
# Two fixed keys so that tests can rotate between them.
os.environ.setdefault("ENCRYPTION_KEYS", "g5lp_XIvf57QnEMfLR5MAGKcLP537FKz4RXTBtcVrXA=")
os.environ.setdefault("OUTBOUND_ALLOWLIST", "127.0.0.1")
os.environ.setdefault("Q_SYNC", "true")
os.environ.setdefault("RETRY_BASE_DELAY", "0.01")
os.environ.setdefault("RETRY_MAX_DELAY", "0.05")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("PUBLIC_BASE_URL", "http://testserver")
os.environ.setdefault("DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "data", "test"))

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests render templates without running collectstatic first: no manifest to look names up in.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Static files are looked up per request: a test run has no collected STATIC_ROOT.
WHITENOISE_AUTOREFRESH = True
