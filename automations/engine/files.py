"""Files that steps produce (an image answered in base64, say), kept in the platform's
media storage so that later steps can fetch them by URL like any other."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.text import get_valid_filename


def store_file(name: str, content: bytes, content_type: str) -> str:
    safe = get_valid_filename(name) or "file"
    path = default_storage.save(
        f"generated/{secrets.token_urlsafe(12)}/{safe}", ContentFile(content)
    )
    url = default_storage.url(path)
    if url.startswith("/") and settings.PUBLIC_BASE_URL:
        url = settings.PUBLIC_BASE_URL + url
    return url
