"""The production settings plus the benchmark's app: its tables (the ceiling's row, the
bare task's row), the bare django-q2 task and the fill_execution_log command. Never
installed otherwise; the ceiling itself is served with bench/ceiling_settings.py."""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
