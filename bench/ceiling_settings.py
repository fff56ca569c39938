"""The ceiling: a minimal Django app that parses a JSON body and inserts one row.

No middleware, no other app, its own URL module; the same database settings as the
platform (persistent connections, health checks, server-side prepared statements on
PostgreSQL; WAL and IMMEDIATE transactions on SQLite), so that what separates a
webhook from it is the platform's own work. Served by the same gunicorn, with
DJANGO_SETTINGS_MODULE=bench.ceiling_settings.
"""

from config.settings import (  # noqa: F401 (read by Django)
    ALLOWED_HOSTS,
    DATABASES,
    DEBUG,
    DEFAULT_AUTO_FIELD,
    SECRET_KEY,
    TIME_ZONE,
    USE_TZ,
)

INSTALLED_APPS = ["bench"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.ceiling_urls"
