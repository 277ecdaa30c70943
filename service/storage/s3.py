"""The S3 store: files as objects in one bucket of S3-compatible storage (AWS S3, MinIO, Ceph …) through
boto3. Credentials come from boto3's usual sources (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, a profile, an
instance role) and are never logged. The bucket is the operator's: the store does not create it."""

from __future__ import annotations

import datetime as dt

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .base import missing, relative_path, unreachable

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3Store:
    def __init__(self, *, bucket: str, endpoint: str | None, region: str, timeout: float) -> None:
        self.bucket = bucket
        config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"},
                        s3={"addressing_style": "path"})
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=region, config=config)

    def put(self, document_id: str, suffix: str, content: bytes, when: dt.datetime) -> str:
        """Uploads ``content`` and returns its key. Raises StorageUnavailable."""
        key = relative_path(document_id, suffix, when)
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=content)
        except (BotoCoreError, ClientError) as exc:
            raise unreachable() from exc
        return key

    def get(self, relative: str | None) -> bytes:
        """The whole object, checked against its length. Raises NotFound when there is no such object,
        StorageUnavailable when the store cannot be reached or the answer is cut short."""
        if not relative:
            raise missing()
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=relative)
            content = response["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise missing() from None
            raise unreachable() from exc
        except BotoCoreError as exc:  # no connection, a timeout, or a body cut short (IncompleteReadError)
            raise unreachable() from exc
        if len(content) != response.get("ContentLength", len(content)):
            raise unreachable()
        return content

    def healthy(self) -> bool:
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return True
        except (BotoCoreError, ClientError):
            return False
