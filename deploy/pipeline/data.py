"""Resolving `data.source` into a file the pipeline can read (control plane).

`builtin://churn` is generated once per (rows, seed) and cached; a local path is used in
place; an `s3://` URI is handed to SageMaker as is, and downloaded (cached by ETag) for the
local backend. The sha256 of the bytes is the data digest recorded in the lineage.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from deploy.artifacts import file_sha256
from deploy.config.schema import DataConfig
from deploy.errors import AwsSetupError, ConfigError, DataError

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class ResolvedData:
    source: str  # what the config said
    local_path: Path | None  # a local file, when there is one
    s3_uri: str | None  # the S3 object, when the data lives there
    digest: str | None  # sha256 of the bytes (None until known for S3-only data)


def builtin_path(cache: Path, rows: int, seed: int) -> Path:
    return cache / f"churn-{rows}-{seed}.csv"


def generate_builtin(cache: Path, rows: int, seed: int) -> Path:
    """Generate the synthetic sample by running the container's own generator once."""
    target = builtin_path(cache, rows, seed)
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.csv")
    cmd = [sys.executable, "-m", "ml.dataset", "--rows", str(rows), "--seed", str(seed), "--output", str(partial)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DataError(f"generating builtin://churn failed: {done.stderr.strip().splitlines()[-1:]}")
    partial.replace(target)
    return target


def local_file(source: str, root: Path, origin: str = "config/pipeline.yaml:data.source") -> Path:
    """The local file or folder a source names; `origin` says where the source came from (a flag or the file)."""
    path = Path(source.removeprefix("file://"))
    path = path if path.is_absolute() else root / path
    if not path.exists():
        raise ConfigError(f"{origin}: {path} does not exist")
    if path.is_file() and path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ConfigError(f"{origin}: {path.name} is not CSV or Parquet")
    return path


def resolve(data: DataConfig, root: Path, cache: Path) -> ResolvedData:
    """Resolve without touching S3; `fetch_s3` completes S3 data for backends that need a file."""
    source = data.source
    if source.startswith("builtin://"):
        path = generate_builtin(cache, data.rows, data.seed)
        return ResolvedData(source, path, None, file_sha256(path))
    if source.startswith("s3://"):
        parsed = urlparse(source)
        if not parsed.netloc or not parsed.path.strip("/"):
            raise ConfigError(f"config/pipeline.yaml:data.source: '{source}' needs a bucket and a key")
        return ResolvedData(source, None, source, None)
    path = local_file(source, root)
    digest = file_sha256(path) if path.is_file() else None
    return ResolvedData(source, path, None, digest)


def fetch_s3(resolved: ResolvedData, cache: Path, s3_client) -> ResolvedData:
    """Download an S3 object once per ETag, for the local backend; AWS trouble is one line (exit 12 or 4)."""
    parsed = urlparse(resolved.s3_uri or "")
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    try:
        head = s3_client.head_object(Bucket=bucket, Key=key)
        etag = head["ETag"].strip('"').replace("-", "_")
        target = cache / "s3" / etag / Path(key).name
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            s3_client.download_file(bucket, key, str(partial))
            partial.replace(target)
    except (NoCredentialsError, PartialCredentialsError):
        raise AwsSetupError(
            f"{resolved.s3_uri}: no AWS credentials to download it for the local backend "
            "(set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass a local path to --data)"
        ) from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchKey", "NoSuchBucket"):
            raise DataError(f"{resolved.s3_uri}: no such object in S3") from None
        raise AwsSetupError(f"{resolved.s3_uri}: S3 refused the download ({code or exc})") from None
    except BotoCoreError as exc:
        raise AwsSetupError(f"{resolved.s3_uri}: cannot reach S3 ({exc})") from None
    return ResolvedData(resolved.source, target, resolved.s3_uri, file_sha256(target))
