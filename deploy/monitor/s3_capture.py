"""Bringing an S3 data capture prefix to a local folder for the monitor step (control plane).

Only the hour folders (`yyyy/mm/dd/hh/`) at or after the window's start are listed for
download, so a monitor run over the last day does not fetch a year of traffic. Keys keep
their layout below the prefix, so the step reads the copy exactly as it would read S3.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from deploy.errors import DataError

_HOUR = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+\.jsonl$")


def _parse(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or not uri[5:].split("/")[0]:
        raise DataError(f"{uri}: not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key.rstrip("/") + "/" if key else ""


def _recent(key: str, floor: str | None) -> bool:
    match = _HOUR.search(key)
    if match is None:
        return False
    return floor is None or "/".join(match.groups()) >= floor


def capture_keys(s3: Any, uri: str, since: datetime | None) -> tuple[str, str, list[str]]:
    """(bucket, prefix, keys) of the capture files below `uri` in hour folders from `since` on."""
    bucket, prefix = _parse(uri)
    floor = since.strftime("%Y/%m/%d/%H") if since else None
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [o["Key"] for page in pages for o in page.get("Contents", []) if _recent(o["Key"], floor)]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "?")
        raise DataError(f"cannot read the data capture at {uri}: {code}") from None
    return bucket, prefix, keys


def download_capture(s3: Any, uri: str, since: datetime | None, into: Path) -> Path:
    """Download the capture files below `uri` from `since` on into `into`; returns `into`."""
    bucket, prefix, keys = capture_keys(s3, uri, since)
    into.mkdir(parents=True, exist_ok=True)
    try:
        for key in keys:
            target = into / key[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "?")
        raise DataError(f"cannot read the data capture at {uri}: {code}") from None
    return into
