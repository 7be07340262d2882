"""The artifacts bucket: content-addressed uploads, JSON reads and streamed digests (control plane).

Inputs go to `<prefix>/<kind>/<sha256>/<name>`; a key that already exists is not uploaded
again (one `head_object`), so an unchanged `ml/` or data file costs nothing on the next run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from deploy.artifacts import file_sha256

CHUNK = 1 << 20


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an s3:// URI: {uri}")
        return cls(parsed.netloc, parsed.path.lstrip("/"))

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "NoSuchBucket")


def read_json(s3: Any, uri: str) -> dict[str, Any]:
    where = S3Uri.parse(uri)
    return json.loads(s3.get_object(Bucket=where.bucket, Key=where.key)["Body"].read())


def stream_sha256(s3: Any, uri: str) -> str:
    """Digest of the object as stored now, streamed in 1 MiB chunks."""
    where = S3Uri.parse(uri)
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=where.bucket, Key=where.key)["Body"].iter_chunks(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


class ArtifactBucket:
    def __init__(self, s3_client: Any, bucket: str, prefix: str) -> None:
        self.s3 = s3_client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uploaded: list[str] = []  # keys written by this object, oldest first

    def uri(self, *parts: str) -> str:
        return "s3://" + "/".join([self.bucket, self.prefix, *parts])

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if missing(exc):
                return False
            raise
        return True

    def put_bytes(self, kind: str, name: str, data: bytes, digest: str | None = None) -> tuple[str, str]:
        """Store `data` under its sha256 (or the given digest); returns (s3 uri, sha256)."""
        digest = digest or hashlib.sha256(data).hexdigest()
        key = f"{self.prefix}/{kind}/{digest}/{name}"
        if not self.exists(key):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
            self.uploaded.append(key)
        return f"s3://{self.bucket}/{key}", digest

    def put_file(self, kind: str, path: Path, name: str | None = None, digest: str | None = None) -> tuple[str, str]:
        """Store a local file under its sha256; returns (s3 uri, sha256)."""
        digest = digest or file_sha256(path)
        key = f"{self.prefix}/{kind}/{digest}/{name or Path(path).name}"
        if not self.exists(key):
            self.s3.upload_file(str(path), self.bucket, key)
            self.uploaded.append(key)
        return f"s3://{self.bucket}/{key}", digest

    def read_json(self, uri: str) -> dict[str, Any]:
        return read_json(self.s3, uri)

    def sha256(self, uri: str) -> str:
        return stream_sha256(self.s3, uri)

    def find(self, uri_prefix: str, suffix: str) -> str | None:
        """The first object below `uri_prefix` whose key ends with `suffix`."""
        where = S3Uri.parse(uri_prefix)
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=where.bucket, Prefix=where.key)
        for page in pages:
            for item in page.get("Contents", []):
                if item["Key"].endswith(suffix):
                    return f"s3://{where.bucket}/{item['Key']}"
        return None
