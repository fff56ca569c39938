"""Turn service-layer ValidationErrors into DRF 400 answers with field paths."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {
                key: [m for e in errors for m in e.messages]
                for key, errors in exc.error_dict.items()
            }
        else:
            detail = {"detail": exc.messages}
        exc = ValidationError(detail)
    return drf_exception_handler(exc, context)
