"""The ceiling: a minimal Django app that parses a JSON body and inserts one row.

No middleware, no other app, its own URL module; the same database settings as the
platform (persistent connections, health checks, server-side prepared statements on
PostgreSQL; WAL and IMMEDIATE transactions on SQLite) on Django's own database backend,
so that what separates a webhook from it is the platform's own work (the platform's
health check without a round trip, config/postgresql, and its remembered placeholder
conversion, config/sqlite, are part of that work). Served by the same gunicorn, with
DJANGO_SETTINGS_MODULE=bench.ceiling_settings.
"""

from config.settings import (  # noqa: F401 (read by Django)
    ALLOWED_HOSTS,
    DEBUG,
    DEFAULT_AUTO_FIELD,
    SECRET_KEY,
    TIME_ZONE,
    USE_TZ,
)
from config.settings import DATABASES as PLATFORM_DATABASES

DATABASES = {"default": dict(PLATFORM_DATABASES["default"])}
DATABASES["default"]["ENGINE"] = {
    "config.postgresql": "django.db.backends.postgresql",
    "config.sqlite": "django.db.backends.sqlite3",
}.get(DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"])
INSTALLED_APPS = ["bench"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.ceiling_urls"
