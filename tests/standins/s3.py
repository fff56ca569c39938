"""A stand-in for an S3-compatible object store (AWS S3, MinIO, ...) on 127.0.0.1.

It speaks enough of the S3 REST API for django-storages through boto3: PUT, GET (with a
byte range), HEAD and DELETE of an object, HEAD of a bucket, path-style addressing
(``/<bucket>/<key>``), XML error bodies. Signatures are not verified, but every request
must carry a SigV4 ``Authorization`` header naming the stand-in's access key and region,
as S3 refuses one without. Over plain HTTP boto3 signs the payload and sends it whole
(never ``aws-chunked``), so that is all this reads.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import unquote
from xml.sax.saxutils import escape

from tests.standins.server import Received, Reply, StandIn

CREDENTIAL = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/\d{8}/([^/]+)/s3/aws4_request,")
RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass
class StoredObject:
    body: bytes
    content_type: str
    etag: str
    modified: str


def s3_error(status: int, code: str, message: str, **extra: str) -> Reply:
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in extra.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{fields}"
        "<RequestId>STANDIN</RequestId></Error>"
    )
    return Reply(status, body.encode(), headers={"Content-Type": "application/xml"})


class S3StandIn(StandIn):
    def __init__(
        self,
        *,
        buckets: tuple[str, ...] = ("media",),
        access_key: str = "AKIASTANDIN000000001",
        secret_key: str = "standin-secret-key-0123456789abcdefghij",
        region: str = "eu-west-1",
    ) -> None:
        super().__init__()
        self.buckets = set(buckets)
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.objects: dict[tuple[str, str], StoredObject] = {}

    def keys(self, bucket: str = "media") -> list[str]:
        return sorted(key for b, key in self.objects if b == bucket)

    def handle(self, request: Received) -> Reply:
        refusal = self._refuse_unauthenticated(request)
        if refusal is not None:
            return refusal
        bucket, _, key = unquote(request.path).lstrip("/").partition("/")
        if bucket not in self.buckets:
            return s3_error(
                404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket
            )
        if not key:
            if request.method == "HEAD":
                return Reply(200, b"")
            return s3_error(501, "NotImplemented", "Only object requests are implemented.")
        if request.method == "PUT":
            return self._put(request, bucket, key)
        stored = self.objects.get((bucket, key))
        if request.method == "DELETE":
            self.objects.pop((bucket, key), None)
            return Reply(204, b"")
        if request.method not in ("GET", "HEAD"):
            return s3_error(405, "MethodNotAllowed", "The method is not allowed.")
        if stored is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        return self._get(request, stored)

    def _refuse_unauthenticated(self, request: Received) -> Reply | None:
        authorization = request.headers.get("authorization", "")
        match = CREDENTIAL.match(authorization)
        if match is None:
            return s3_error(403, "AccessDenied", "Access Denied")
        if match.group(1) != self.access_key:
            return s3_error(
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            )
        if match.group(2) != self.region:
            return s3_error(
                400,
                "AuthorizationHeaderMalformed",
                f"The authorization header is malformed; the region "
                f"'{match.group(2)}' is wrong; expecting '{self.region}'",
                Region=self.region,
            )
        return None

    def _put(self, request: Received, bucket: str, key: str) -> Reply:
        body = request.body
        etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
        self.objects[(bucket, key)] = StoredObject(
            body=body,
            content_type=request.headers.get("content-type") or "binary/octet-stream",
            etag=etag,
            modified=formatdate(usegmt=True),
        )
        return Reply(200, b"", headers={"ETag": etag})

    def _get(self, request: Received, stored: StoredObject) -> Reply:
        headers = {
            "Content-Type": stored.content_type,
            "ETag": stored.etag,
            "Last-Modified": stored.modified,
            "Accept-Ranges": "bytes",
        }
        wanted = RANGE.match(request.headers.get("range", ""))
        if wanted is None:
            return Reply(200, stored.body, headers=headers)
        total = len(stored.body)
        first = int(wanted.group(1))
        last = min(int(wanted.group(2) or total - 1), total - 1)
        if first >= total:
            return s3_error(416, "InvalidRange", "The requested range is not satisfiable")
        headers["Content-Range"] = f"bytes {first}-{last}/{total}"
        return Reply(206, stored.body[first : last + 1], headers=headers)
