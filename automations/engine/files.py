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


def read_file(url: str) -> tuple[bytes, str] | None:
    """A file ``store_file`` made, by its URL; None for any other URL."""
    import mimetypes

    prefixes = [default_storage.url("generated/")]
    if settings.PUBLIC_BASE_URL:
        prefixes.append(settings.PUBLIC_BASE_URL + prefixes[0])
    for prefix in prefixes:
        if url.startswith(prefix) and prefix.endswith("generated/"):
            name = "generated/" + url[len(prefix) :]
            if ".." in name or not default_storage.exists(name):
                return None
            with default_storage.open(name) as handle:
                return handle.read(), mimetypes.guess_type(name)[0] or "application/octet-stream"
    return None
