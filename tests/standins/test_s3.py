"""The S3 stand-in answers boto3 as S3 does, and refuses what S3 refuses."""

from __future__ import annotations

import io

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.standins.s3 import S3StandIn


@pytest.fixture
def bucket_store():
    with S3StandIn() as server:
        yield server


def client_for(server: S3StandIn, **overrides):
    options = {
        "endpoint_url": server.url,
        "region_name": server.region,
        "aws_access_key_id": server.access_key,
        "aws_secret_access_key": server.secret_key,
        "config": Config(s3={"addressing_style": "path"}),
        **overrides,
    }
    return boto3.client("s3", **options)


def test_it_keeps_what_boto3_puts_and_answers_get_head_and_a_range(bucket_store):
    s3 = client_for(bucket_store)
    s3.put_object(Bucket="media", Key="a/b c.png", Body=b"0123456789", ContentType="image/png")
    assert bucket_store.keys() == ["a/b c.png"]

    got = s3.get_object(Bucket="media", Key="a/b c.png")
    assert got["Body"].read() == b"0123456789" and got["ContentType"] == "image/png"
    head = s3.head_object(Bucket="media", Key="a/b c.png")
    assert head["ContentLength"] == 10
    part = s3.get_object(Bucket="media", Key="a/b c.png", Range="bytes=2-4")
    assert part["Body"].read() == b"234"

    s3.delete_object(Bucket="media", Key="a/b c.png")
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket="media", Key="a/b c.png")
    assert missing.value.response["Error"]["Code"] == "404"


def test_it_keeps_an_upload_from_a_file_object(bucket_store):
    # How django-storages writes: s3transfer's upload_fileobj.
    s3 = client_for(bucket_store)
    s3.upload_fileobj(io.BytesIO(b"streamed body"), "media", "streamed.txt")
    assert s3.get_object(Bucket="media", Key="streamed.txt")["Body"].read() == b"streamed body"


def test_it_answers_no_such_key_and_no_such_bucket(bucket_store):
    s3 = client_for(bucket_store)
    with pytest.raises(ClientError) as no_key:
        s3.get_object(Bucket="media", Key="nothing")
    assert no_key.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as no_bucket:
        s3.put_object(Bucket="other", Key="x", Body=b"x")
    assert no_bucket.value.response["Error"]["Code"] == "NoSuchBucket"


def test_it_refuses_a_request_without_a_signature(bucket_store):
    response = requests.put(bucket_store.url + "/media/x", data=b"x", timeout=5)
    assert response.status_code == 403 and b"<Code>AccessDenied</Code>" in response.content
    assert bucket_store.keys() == []


def test_it_refuses_another_access_key_and_another_region(bucket_store):
    with pytest.raises(ClientError) as wrong_key:
        client_for(bucket_store, aws_access_key_id="AKIAOTHER").put_object(
            Bucket="media", Key="x", Body=b"x"
        )
    assert wrong_key.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    # (boto3 itself would follow the region S3 names in this answer and sign again.)
    signed_elsewhere = (
        f"AWS4-HMAC-SHA256 Credential={bucket_store.access_key}/20260101/us-east-1/s3/"
        "aws4_request, SignedHeaders=host, Signature=00"
    )
    response = requests.put(
        bucket_store.url + "/media/x",
        data=b"x",
        headers={"Authorization": signed_elsewhere},
        timeout=5,
    )
    assert response.status_code == 400
    assert b"<Code>AuthorizationHeaderMalformed</Code>" in response.content
    assert bucket_store.keys() == []
