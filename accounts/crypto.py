"""Encryption at rest for credentials, with key rotation.

ENCRYPTION_KEYS lists Fernet keys newest first: the first encrypts, all decrypt, so a new
key can be put in front and old rows re-encrypted later (``manage.py rotate_credentials``).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """Stored ciphertext cannot be read with any configured key."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS must be comma-separated Fernet keys "
            "(generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt_json(data: dict[str, Any]) -> str:
    return fernet().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise DecryptionError(
            "Stored secrets cannot be decrypted with the configured ENCRYPTION_KEYS."
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the newest key."""
    if not token:
        return token
    return fernet().rotate(token.encode()).decode()


def mask(value: str) -> str:
    """A hint that identifies a secret without revealing it: its last four characters."""
    value = str(value)
    if len(value) <= 8:
        return "••••"
    return "••••" + value[-4:]
