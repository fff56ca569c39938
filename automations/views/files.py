"""Files that steps make (generated images), served under their unguessable names so
that later steps and outside services can fetch them. A proxy may serve MEDIA_ROOT
instead; with a remote storage its own URLs are used and this view is not reached.

Streamed from the storage (never Django's development ``serve``) with the type guessed
from the name, ``nosniff`` so a browser does not guess another, and a sandbox policy so
that a generated SVG or HTML file cannot run script on the platform's origin."""

from __future__ import annotations

import mimetypes

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe


@require_safe
def generated_file(request: HttpRequest, path: str) -> FileResponse:
    name = f"generated/{path}"
    try:
        if ".." in path.split("/") or not default_storage.exists(name):
            raise Http404
        handle = default_storage.open(name, "rb")
    except (SuspiciousFileOperation, OSError, ValueError):
        raise Http404 from None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
