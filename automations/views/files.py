"""Files that steps make (generated images), served under their unguessable names so
that later steps and outside services can fetch them, from whichever storage holds
them (MEDIA_ROOT or a private bucket, see automations/engine/files.py).

Streamed from the storage (never Django's development ``serve``) with the type guessed
from the name, ``nosniff`` so a browser does not guess another, and a sandbox policy so
that a generated SVG or HTML file cannot run script on the platform's origin."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from automations.engine.files import open_generated


@require_safe
def generated_file(request: HttpRequest, path: str) -> FileResponse:
    opened = open_generated(path)
    if opened is None:
        raise Http404
    handle, content_type = opened
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
