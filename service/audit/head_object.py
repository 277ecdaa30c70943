"""The audit head as one object in an S3-compatible bucket (``CHENGNUO_AUDIT_HEAD=s3``), for nodes on several
machines: each of them reads and writes the one head, as each appends to the one chain.

The object holds exactly what the head file holds (``head.py``: the committed mark, a pending one, a recorded
mismatch) and is written whole with one PUT: S3 replaces an object atomically, so a reader sees the old head or
the new one, never part of either; and it reads its own writes (AWS S3 since December 2020, MinIO and Ceph RGW
alike), so the next writer, on any node, builds on the last head written. Writers take turns under the audit
log's lock (``locks.py``: a PostgreSQL advisory lock when the nodes share PostgreSQL).
"""

from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import StorageUnavailable
from .head import HeadState, parse

KEY = "audit/head"  # beside the files' dated keys (2026/11/<id>.pdf), never one of them
_MISSING = {"NoSuchKey", "404", "NotFound"}


def _unreachable() -> StorageUnavailable:
    return StorageUnavailable("审计链头对象暂时无法访问，请稍后重试", "the audit head in the object store cannot be reached; retry later")


class HeadObject:
    def __init__(self, *, bucket: str, endpoint: str | None, region: str, timeout: float, key: str = KEY) -> None:
        self.bucket, self.key = bucket, key
        config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"},
                        s3={"addressing_style": "path"})
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=region, config=config)

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def read(self) -> HeadState | None:
        """None when there is no head object yet; raises MalformedHead, and StorageUnavailable when the store cannot
        be reached or answers only in part."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key)
            content = response["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise _unreachable() from exc
        except BotoCoreError as exc:
            raise _unreachable() from exc
        if len(content) != response.get("ContentLength", len(content)):
            raise _unreachable()
        return parse(content.decode("utf-8", errors="replace"))

    def write(self, state: HeadState) -> None:
        """Replaces the head object. Raises StorageUnavailable; the head is then the one before or this one (a PUT
        whose answer was lost), and the two-phase protocol explains either."""
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=state.render().encode("utf-8"),
                                   ContentType="text/plain; charset=utf-8")
        except (BotoCoreError, ClientError) as exc:
            raise _unreachable() from exc
