"""Switchboard settings: one module, everything from the environment.

The defaults run on a bare machine (SQLite, the django-q2 ORM broker). Production sets
DEBUG=false, SECRET_KEY, ENCRYPTION_KEYS, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.media_storage import media_storage

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data")))


def _key_from_env_or_file(variable: str, filename: str, make: callable) -> str:
    """Read a key from the environment; in debug mode only, keep a generated one on disk.

    A production process must never invent its own key: two web processes with
    different keys could not read each other's sessions or credentials.
    """
    value = env.str(variable, default="").strip()
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(
            f"{variable} is not set. Set the environment variable {variable} "
            f"(required when DEBUG is false)."
        )
    path = DATA_DIR / filename
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _key_from_env_or_file("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
# Newest first: the first key encrypts, every key decrypts (MultiFernet rotation).
ENCRYPTION_KEYS = [
    key.strip()
    for key in _key_from_env_or_file(
        "ENCRYPTION_KEYS", "encryption_keys", lambda: Fernet.generate_key().decode()
    ).split(",")
    if key.strip()
]

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")
# Webhooks on a host of their own (https://hooks.example.com): what an automation
# answers then never shares an origin with the wizard. /hooks/ on any other host is 404.
HOOKS_BASE_URL = env.str("HOOKS_BASE_URL", default="").rstrip("/")
_hooks_host = urlsplit(HOOKS_BASE_URL).hostname if HOOKS_BASE_URL else None
if HOOKS_BASE_URL and (not _hooks_host or not HOOKS_BASE_URL.startswith(("http://", "https://"))):
    raise ImproperlyConfigured(
        f"HOOKS_BASE_URL must be a URL such as https://hooks.example.com, not {HOOKS_BASE_URL!r}."
    )
if _hooks_host and _hooks_host not in ALLOWED_HOSTS and "*" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(_hooks_host)
# Hosts and CIDR networks that the guarded HTTP client may reach although private; an
# entry may name one port (host:port, cidr:port, [ipv6]:port), otherwise every port.
OUTBOUND_ALLOWLIST = env.list("OUTBOUND_ALLOWLIST", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_q",
    "accounts",
    "automations",
    "connectors",
]

MIDDLEWARE = [
    # First, so that the headers every webhook answer carries are set last.
    "automations.middleware.HooksMiddleware",
    # Probes answer before host checks, the HTTPS redirect and sessions (see config/health.py).
    "config.health.HealthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the web process itself: hashed names, compressed, cached for a year.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Audit entries name the client address of the request that made them.
    "accounts.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context.navigation",
            ],
            # ``|when``: times with seconds and the time zone on every page.
            "builtins": ["automations.templatetags.display"],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'switchboard.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # Django's backend with its placeholder conversion remembered (see the module).
    DATABASES["default"]["ENGINE"] = "config.sqlite"
    # WAL lets the worker read while the web process writes; IMMEDIATE transactions
    # take the write lock up front, so concurrent writers wait instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Kept between requests as on PostgreSQL: opening the file again (its PRAGMAs and
    # the functions Django registers on each new connection) cost a webhook about a
    # millisecond of CPU, more than its whole log write.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
else:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with a health check that needs no round trip (see the module).
        DATABASES["default"]["ENGINE"] = "config.postgresql"
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env.bool("PG_PREPARED_STATEMENTS", default=True):
        # Server-side parameters let PostgreSQL keep the plans of statements it has seen
        # several times. Leave it off behind a pooler that cannot carry prepared statements.
        DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

Q_CLUSTER = {
    "name": "switchboard",
    "workers": env.int("Q_WORKERS", default=2),
    # Runs are bounded by RUN_TIME_LIMIT; the task timeout sits above it and the
    # broker's retry above that, as django-q2 requires.
    "timeout": env.int("RUN_TIME_LIMIT", default=600) + 60,
    "retry": env.int("RUN_TIME_LIMIT", default=600) + 120,
    "max_attempts": 1,
    # Successful tasks leave no row: the execution log already records every run, and
    # saving (and pruning to a limit) cost a write and a locked delete per task.
    # Failures are still saved. -1 is django-q2's "no success storage at all".
    "save_limit": -1,
    "catch_up": False,
    "sync": env.bool("Q_SYNC", default=False),
    "poll": 0.5,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    # Generated files: MEDIA_ROOT, or an S3-compatible bucket (config/media_storage.py),
    # served by the platform itself either way (automations/views/files.py). The URL is
    # not kept as a setting of its own: it may carry a secret key, and Django's error page
    # hides only settings whose names say so (the storage's secret_key option is hidden).
    "default": media_storage(env.str("MEDIA_STORAGE_URL", default="")),
    # `collectstatic` writes hashed, compressed copies; WhiteNoise serves those with
    # far-future cache headers, since a changed file gets a new name.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGIN_URL = "wizard:login"
LOGIN_REDIRECT_URL = "/"

# E-mail (invitations, password resets): EMAIL_URL as django-environ reads it, e.g.
# smtp+tls://user:password@mail.example.com:587, filemail:///tmp/mail; the default
# prints messages to the web process's output (so `make run` shows the links).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Switchboard <switchboard@localhost>")
# Invitation links work once, for this many days.
INVITATION_DAYS = env.int("INVITATION_DAYS", default=7)
# Closed by default: people join by invitation. Open, a new user gets a personal team.
ALLOW_SIGNUP = env.bool("ALLOW_SIGNUP", default=False)
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)

# Sign-in throttling (django-axes, see accounts/throttle.py): AXES_FAILURE_LIMIT wrong
# passwords for one user name, or from one client address, pause signing in (wizard and
# admin) for AXES_COOLOFF_MINUTES after the last of them. Failures are kept in the
# database, so every web process sees them. Unlock: manage.py axes_reset_username <name>.
INSTALLED_APPS += ["axes"]
# Last, as axes requires: it turns a refused sign-in into the "try again at" page.
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one reaching the limit
AXES_RESET_ON_SUCCESS = True
# Registered by accounts/admin_signins.py instead, for superusers only.
AXES_ENABLE_ADMIN = False
# Attempts made while paused do not move the end of the pause, so the time shown holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The client address is REMOTE_ADDR unless AXES_CLIENT_IP_HEADER names a header that a
# reverse proxy in front of every request sets (X-Real-IP, or X-Forwarded-For).
AXES_CLIENT_IP_HEADER = env.str("AXES_CLIENT_IP_HEADER", default="")
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_ip"
AXES_HANDLER = "accounts.throttle.LoginThrottleHandler"
AXES_LOCKOUT_CALLABLE = "accounts.throttle.lockout_response"

# HTTPS: on by default in production, each switch can be turned off on its own
# (behind a TLS-terminating proxy, or for a local trial).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
_proxy_header = env.str("SECURE_PROXY_SSL_HEADER", default="")
if _proxy_header:
    # "HTTP_X_FORWARDED_PROTO,https"
    _name, _, _value = _proxy_header.partition(",")
    SECURE_PROXY_SSL_HEADER = (_name.strip(), _value.strip() or "https")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.api_auth.ReadOnlyTokens",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "automations.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "automations.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard API",
    "DESCRIPTION": "Automations, connected accounts and executions of a Switchboard team.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: a self-hosted install may be offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Engine limits.
SYNC_RESPONSE_TIMEOUT = env.float("SYNC_RESPONSE_TIMEOUT", default=30.0)
RUN_TIME_LIMIT = env.float("RUN_TIME_LIMIT", default=600.0)
MAX_WEBHOOK_BODY = env.int("MAX_WEBHOOK_BODY", default=3 * 1024 * 1024)
# Test Trigger's wait for a real request to the webhook URL.
TRIGGER_LISTEN_SECONDS = env.int("TRIGGER_LISTEN_SECONDS", default=300)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_WEBHOOK_BODY + 1024
STEP_OUTPUT_MAX_BYTES = env.int("STEP_OUTPUT_MAX_BYTES", default=256 * 1024)
# Each value a field's template renders, and the time one field may take to render.
MAX_RENDERED_BYTES = env.int("MAX_RENDERED_BYTES", default=1024 * 1024)
MAX_RENDER_SECONDS = env.float("MAX_RENDER_SECONDS", default=2.0)
EXECUTION_RETENTION_DAYS = env.int("EXECUTION_RETENTION_DAYS", default=30)
# Pruning (automations/services/pruning.py): top-level executions per batch, and the
# least rest in seconds after each batch (it rests at least as long as the batch took).
EXECUTION_PRUNE_BATCH = env.int("EXECUTION_PRUNE_BATCH", default=200)
EXECUTION_PRUNE_PAUSE = env.float("EXECUTION_PRUNE_PAUSE", default=0.02)
SUB_AUTOMATION_MAX_DEPTH = env.int("SUB_AUTOMATION_MAX_DEPTH", default=5)
# At most one "a run failed" e-mail per automation in this many minutes; the failures in
# between are counted in the next one.
FAILURE_ALERT_MINUTES = env.int("FAILURE_ALERT_MINUTES", default=15)
OUTBOUND_TIMEOUT = env.float("OUTBOUND_TIMEOUT", default=30.0)
OUTBOUND_MAX_BYTES = env.int("OUTBOUND_MAX_BYTES", default=25 * 1024 * 1024)
RETRY_BASE_DELAY = env.float("RETRY_BASE_DELAY", default=1.0)
RETRY_MAX_DELAY = env.float("RETRY_MAX_DELAY", default=60.0)
# A server's Retry-After is honoured up to this many seconds.
MAX_RETRY_AFTER = env.float("MAX_RETRY_AFTER", default=300.0)
# The queue (docs/ARCHITECTURE.md, Running). A running execution's lease lasts
# LEASE_SECONDS and its worker renews it every third of that; the housekeeping thread of
# every worker process dispatches and recovers every HOUSEKEEPING_INTERVAL seconds; a
# queued execution no worker took within DISPATCH_AFTER seconds is handed over again.
LEASE_SECONDS = env.float("LEASE_SECONDS", default=45.0)
HOUSEKEEPING_INTERVAL = env.float("HOUSEKEEPING_INTERVAL", default=10.0)
DISPATCH_AFTER = env.float("DISPATCH_AFTER", default=60.0)
# How much a worker process yields the CPU to the web processes on a machine running
# both (added to its nice value, 0-19; 0 keeps them equal): a burst of webhooks is
# accepted at full speed and drained in the background, which is what the queue is for.
WORKER_NICE = env.int("WORKER_NICE", default=10)
if not 0 <= WORKER_NICE <= 19:
    raise ImproperlyConfigured("WORKER_NICE must be between 0 and 19.")
# Background runs of one team at once: a burst of one team leaves room for the others.
TEAM_MAX_CONCURRENT_RUNS = env.int(
    "TEAM_MAX_CONCURRENT_RUNS", default=max(1, env.int("Q_WORKERS", default=2) // 2)
)

# /metrics: answered only to a bearer of METRICS_TOKEN or from METRICS_ALLOWED_IPS
# (addresses or CIDR networks); 404 when neither is set.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])

LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # One line per event; every line written during a run names its execution and team.
    # Webhook tokens shortened and ?key= values removed: on the handler for every line
    # it writes, and on the loggers that log request paths, so that the record itself
    # is safe for any other handler too.
    "filters": {
        "run": {"()": "config.logs.RunContextFilter"},
        "hook_secrets": {"()": "config.log_filters.HookSecretsFilter"},
    },
    "formatters": {
        "plain": {"()": "config.logs.OneLineFormatter"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["run", "hook_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"filters": ["hook_secrets"]},
        "django.server": {"filters": ["hook_secrets"]},
        "django.db.backends": {"level": "WARNING"},
        # Request lines of the SDK's HTTP client: noise at INFO.
        "httpx2": {"level": "WARNING"},
        # Its version, printed by every command and process at start.
        "axes.apps": {"level": "WARNING"},
    },
}
