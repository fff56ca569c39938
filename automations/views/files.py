"""Files that steps make (generated images), served under their unguessable names so
that later steps and outside services can fetch them. A proxy may serve MEDIA_ROOT
instead; with a remote storage its own URLs are used and this view is not reached."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.static import serve


def generated_file(request: HttpRequest, path: str) -> HttpResponse:
    return serve(request, f"generated/{path}", document_root=settings.MEDIA_ROOT)
