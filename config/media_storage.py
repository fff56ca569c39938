"""Where generated files go: MEDIA_ROOT on a local (or shared) disk by default, or an
S3-compatible bucket named by MEDIA_STORAGE_URL, through django-storages.

    s3://<bucket>[/<prefix>]?region=eu-west-1&endpoint_url=https://minio.example.com

Credentials: boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a shared
credentials file, an instance or pod role), or ``s3://KEY:SECRET@bucket/...`` in the URL,
which then wins. Either way the platform serves the files itself (see
automations/views/files.py), so the bucket stays private and no bucket URL is handed out.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.config import Config
from django.core.exceptions import ImproperlyConfigured

LOCAL = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
QUERY_OPTIONS = ("region", "endpoint_url", "addressing_style")
ADDRESSING_STYLES = ("auto", "path", "virtual")
EXAMPLE = "s3://bucket/prefix?region=eu-west-1&endpoint_url=https://minio.example.com"


def media_storage(url: str) -> dict[str, Any]:
    """STORAGES["default"] for MEDIA_STORAGE_URL (empty: the local disk).

    Errors never repeat the URL: it may carry a secret key."""
    if not url:
        return dict(LOCAL)
    parts = urlsplit(url)
    userinfo, _, bucket = parts.netloc.rpartition("@")
    if parts.scheme != "s3" or not bucket or ":" in bucket or parts.fragment:
        raise ImproperlyConfigured(f"MEDIA_STORAGE_URL must look like {EXAMPLE}.")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(QUERY_OPTIONS))
    if unknown:
        raise ImproperlyConfigured(
            f"MEDIA_STORAGE_URL: unknown option {', '.join(unknown)} "
            f"(known: {', '.join(QUERY_OPTIONS)})."
        )
    option = {name: values[-1] for name, values in query.items()}
    endpoint_url = option.get("endpoint_url") or None
    if endpoint_url and urlsplit(endpoint_url).scheme not in ("http", "https"):
        raise ImproperlyConfigured("MEDIA_STORAGE_URL: endpoint_url must be an http(s) URL.")
    # MinIO, Ceph, Garage and most other stores answer on one host name, not one per
    # bucket; AWS itself prefers a host per bucket, which "auto" picks.
    style = option.get("addressing_style") or ("path" if endpoint_url else "auto")
    if style not in ADDRESSING_STYLES:
        raise ImproperlyConfigured(
            f"MEDIA_STORAGE_URL: addressing_style must be one of {', '.join(ADDRESSING_STYLES)}."
        )
    client = {
        "s3": {"addressing_style": style},
        "signature_version": "s3v4",
        # A run waits on these calls: fail in seconds, not in boto3's minutes.
        "connect_timeout": 5,
        "read_timeout": 30,
        "retries": {"mode": "standard", "max_attempts": 3},
    }
    if endpoint_url:
        # Other stores often reject the checksums boto3 adds by default since 1.36.
        client["request_checksum_calculation"] = "when_required"
        client["response_checksum_validation"] = "when_required"
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": unquote(parts.path).strip("/"),
        "region_name": option.get("region") or None,
        "endpoint_url": endpoint_url,
        "client_config": Config(**client),
        # Objects stay private (the bucket's default); we never hand out bucket URLs.
        "default_acl": None,
        # Should anything ask the storage for a URL: a presigned one, expiring in an hour.
        "querystring_auth": True,
        # Names carry a random part, so no existence check (one request) before a write.
        "file_overwrite": True,
        # A file read back (to serve it, or for a later step) spills to disk past 5 MB.
        "max_memory_size": 5 * 1024 * 1024,
    }
    if userinfo:
        key, _, secret = userinfo.partition(":")
        if not key or not secret:
            raise ImproperlyConfigured(
                "MEDIA_STORAGE_URL: credentials in the URL need both parts, KEY:SECRET@."
            )
        options["access_key"], options["secret_key"] = unquote(key), unquote(secret)
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
