"""Files that steps produce (an image answered in base64, say), kept in the platform's
media storage (MEDIA_ROOT, or a bucket: config/media_storage.py) so that later steps and
outside services can fetch them by URL like any other.

Their URL is always the platform's own ``/media/generated/...``, whatever the storage,
and the platform serves it (automations/views/files.py): with ``nosniff`` and a sandbox
policy, from a bucket that stays private, at a URL that does not expire as a presigned
bucket URL would (a Contentstack entry may point at it for years)."""

from __future__ import annotations

import mimetypes
import secrets
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils.text import get_valid_filename

FOLDER = "generated/"


def store_file(name: str, content: bytes, content_type: str) -> str:
    """Keep ``content`` under an unguessable name; its absolute URL (with PUBLIC_BASE_URL)."""
    safe = get_valid_filename(name) or "file"
    stored = default_storage.save(
        f"{FOLDER}{secrets.token_urlsafe(12)}/{safe}", ContentFile(content)
    )
    url = reverse("generated-file", kwargs={"path": stored.removeprefix(FOLDER)})
    return settings.PUBLIC_BASE_URL + url


def open_generated(path: str) -> tuple[File, str] | None:
    """The file at ``path`` below generated/, open for reading, and its type guessed from
    its name; None when there is none, or when the path would climb out of generated/."""
    if not path or path.startswith("/") or ".." in path.split("/"):
        return None
    name = FOLDER + path
    try:
        handle = default_storage.open(name, "rb")
    except (SuspiciousFileOperation, OSError, ValueError):
        # Missing (FileNotFoundError, also from a bucket's 404), a folder, a NUL byte.
        return None
    return handle, mimetypes.guess_type(name)[0] or "application/octet-stream"


def read_file(url: str) -> tuple[bytes, str] | None:
    """A file ``store_file`` made, by its URL, read from the storage; None for any other
    URL (the caller fetches those through the guarded client)."""
    prefix = reverse("generated-file", kwargs={"path": "-"}).removesuffix("-")
    for own in {prefix, settings.PUBLIC_BASE_URL + prefix}:
        if url.startswith(own):
            opened = open_generated(unquote(urlsplit(url[len(own) :]).path))
            if opened is None:
                return None
            handle, content_type = opened
            with handle:
                return handle.read(), content_type
    return None
