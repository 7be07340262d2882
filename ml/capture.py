"""Reading SageMaker data capture files into a table of rows; runs in the processing container.

An endpoint with data capture writes JSON Lines under
``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``, one line per request::

    {"captureData": {"endpointInput":  {"observedContentType": "text/csv", "mode": "INPUT",
                                        "data": "...", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                        "data": "...", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "...", "inferenceTime": "2026-01-01T00:00:00Z", "inferenceId": "..."},
     "eventVersion": "0"}

``read_capture`` turns the requests into one row per instance: the feature columns as sent
(CSV bodies are parsed in one pass by pandas, JSON instances column by column), the model's
score, and the request's event id, inference id and time. A line that is not a capture
record is counted and skipped, never fatal: one bad line must not hide a day of traffic.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.contract import DataError

SCORE, EVENT_ID, INFERENCE_ID, TIME, ROW = "__score", "__event_id", "__inference_id", "__time", "__row"
META = (SCORE, EVENT_ID, INFERENCE_ID, TIME, ROW)  # ROW: the instance's place in its request, from 0


@dataclass
class Capture:
    """Rows of captured traffic and what could not be read."""

    frame: pd.DataFrame
    requests: int
    files: int
    skipped: dict[str, int] = field(default_factory=dict)
    extra_columns: set[str] = field(default_factory=set)
    missing_columns: set[str] = field(default_factory=set)


def capture_files(folder: Path, since: datetime | None = None) -> list[Path]:
    """``*.jsonl`` files below ``folder`` in key order, skipping hour folders older than ``since``."""
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise DataError(f"no capture data at {folder}: neither a file nor a folder")
    files = sorted(folder.rglob("*.jsonl"))
    if since is None:
        return files
    floor = since.strftime("%Y/%m/%d/%H")
    return [f for f in files if _hour_key(f) is None or _hour_key(f) >= floor]  # type: ignore[operator]


def _hour_key(path: Path) -> str | None:
    parts = path.parent.parts[-4:]
    return "/".join(parts) if len(parts) == 4 and all(p.isdigit() for p in parts) else None


def _decode(block: dict[str, Any]) -> str:
    data = block.get("data", "")
    if block.get("encoding") == "BASE64":
        return base64.b64decode(data).decode("utf-8")
    return data


_KINDS: dict[tuple[Any, Any], str] = {}


def _kind(block: dict[str, Any]) -> str:
    key = (block.get("observedContentType"), block.get("encoding"))
    kind = _KINDS.get(key)
    if kind is None:
        content_type = str(key[0] or "").split(";")[0].strip().lower()
        kind = _KINDS[key] = "csv" if content_type == "text/csv" or key[1] == "CSV" else "json"
    return kind


def _scores(block: dict[str, Any]) -> list[float]:
    text = _decode(block)
    if _kind(block) == "csv":
        # Our CSV answers are `probability,label` lines: the first field of each line is the score.
        return [float(line.split(",", 1)[0]) for line in text.splitlines() if line.strip()]
    document = json.loads(text)
    items = document.get("predictions", document) if isinstance(document, dict) else document
    return [float(item["probability"] if isinstance(item, dict) else item) for item in items]


class _Collector:
    """Accumulates instances: CSV bodies as text for one pandas pass, JSON instances as columns."""

    def __init__(self, features: Sequence[str], categorical: Sequence[str]) -> None:
        self.features = list(features)
        self.categorical = list(categorical)
        self.names = frozenset(features)
        self.csv_parts: list[str] = []
        self.csv_meta: list[tuple[Any, ...]] = []
        self.json_rows: list[dict[str, Any]] = []
        self.extra: set[str] = set()
        self.missing: set[str] = set()

    def add(self, record: dict[str, Any]) -> None:
        data = record["captureData"]
        meta = record.get("eventMetadata", {})
        if self._add_one_csv_row(data, meta):
            return
        base = (meta.get("eventId"), meta.get("inferenceId"), meta.get("inferenceTime"))
        inputs = data["endpointInput"]
        text = _decode(inputs)
        output = data.get("endpointOutput")
        scores = _scores(output) if output else []
        if _kind(inputs) == "csv" and not self._has_header(text):
            lines = [line for line in text.splitlines() if line.strip()]
            self.csv_parts.extend(lines)
            self.csv_meta.extend((*base, s, i) for i, s in enumerate(_align(scores, len(lines))))
            return
        instances = self._instances(text, _kind(inputs))
        for i, (row, score) in enumerate(zip(instances, _align(scores, len(instances)), strict=True)):
            row.update({EVENT_ID: base[0], INFERENCE_ID: base[1], TIME: base[2], SCORE: score, ROW: i})
            self.json_rows.append(row)

    def _add_one_csv_row(self, data: dict[str, Any], meta: dict[str, Any]) -> bool:
        """The commonest record, one CSV row in and one CSV answer out, without the general path's calls."""
        inputs, output = data["endpointInput"], data.get("endpointOutput")
        if inputs.get("encoding") != "CSV" or output is None or output.get("encoding") != "CSV":
            return False
        text, answer = inputs.get("data", ""), output.get("data", "")
        if "\n" in text.rstrip("\n") or "\n" in answer.rstrip("\n") or not text[:1].isdigit():
            return False  # several rows, or maybe a header: the general path
        self.csv_parts.append(text.rstrip("\n"))
        score = float(answer.split(",", 1)[0]) if answer.strip() else float("nan")
        self.csv_meta.append((meta.get("eventId"), meta.get("inferenceId"), meta.get("inferenceTime"), score, 0))
        return True

    def _has_header(self, text: str) -> bool:
        if not text or text[0].isdigit():  # the common case, decided without splitting
            return False
        first = text.lstrip().split("\n", 1)[0]
        return not self.names.isdisjoint(field.strip().strip('"') for field in first.split(","))

    def _instances(self, text: str, kind: str) -> list[dict[str, Any]]:
        if kind == "csv":
            return [dict(row) for row in csv.DictReader(io.StringIO(text.lstrip()))]
        document = json.loads(text)
        if isinstance(document, dict):
            document = document.get("instances", [document])
        if document and all(not isinstance(item, dict | list) for item in document):
            document = [document]
        return [self._named(item) for item in document]

    def _named(self, item: Any) -> dict[str, Any]:
        if isinstance(item, dict):
            self.extra |= set(item) - set(self.features)
            self.missing |= set(self.features) - set(item)
            return dict(item)
        if len(item) != len(self.features):
            self._width(len(item))
        return dict(zip(self.features, item, strict=False))

    def _width(self, width: int) -> None:
        if width < len(self.features):
            self.missing |= set(self.features[width:])
        else:
            self.extra |= {f"column_{i + 1}" for i in range(len(self.features), width)}

    def frame(self) -> pd.DataFrame:
        parts = []
        if self.csv_parts:
            parts.append(self._csv_frame())
        if self.json_rows:
            parts.append(pd.DataFrame.from_records(self.json_rows))
        if not parts:
            return pd.DataFrame(columns=[*self.features, *META])
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    def _csv_frame(self) -> pd.DataFrame:
        widths = {part.count(",") + 1 for part in self.csv_parts[:1000]}
        width = max(widths | {len(self.features)})
        for w in widths:
            if w != len(self.features):
                self._width(w)
        names = [*self.features, *(f"column_{i + 1}" for i in range(len(self.features), width))]
        # Numeric columns parse as numbers (text in one leaves it as text, for the type check);
        # categorical ones stay text, as the serving container reads them.
        text = {name: object for name in self.categorical}
        frame = pd.read_csv(io.StringIO("\n".join(self.csv_parts)), header=None, names=names, dtype=text)
        event, inference, time, score, row = zip(*self.csv_meta, strict=True) if self.csv_meta else ((),) * 5
        frame[EVENT_ID], frame[INFERENCE_ID], frame[TIME] = event, inference, time
        frame[SCORE] = np.asarray(score, dtype=float)
        frame[ROW] = np.asarray(row, dtype=np.int64)
        return frame


def _align(scores: list[float], rows: int) -> list[float]:
    return scores if len(scores) == rows else [float("nan")] * rows


def _records(files: Sequence[Path], skipped: dict[str, int]) -> Iterator[dict[str, Any]]:
    for path in files:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    if not isinstance(record["captureData"]["endpointInput"], dict):
                        raise TypeError("endpointInput")
                except (ValueError, KeyError, TypeError):
                    skipped["not a capture record"] = skipped.get("not a capture record", 0) + 1
                    continue
                yield record


def read_capture(
    folder: Path, features: Sequence[str], since: datetime | None = None, categorical: Sequence[str] = ()
) -> Capture:
    """Every captured instance below ``folder`` (or in one ``.jsonl`` file) since ``since``."""
    files = capture_files(folder, since)
    skipped: dict[str, int] = {}
    collector = _Collector(features, categorical)
    requests = 0
    for record in _records(files, skipped):
        if since is not None and not _after(record, since):
            continue
        try:
            collector.add(record)
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            skipped["unreadable payload"] = skipped.get("unreadable payload", 0) + 1
            continue
        requests += 1
    return Capture(collector.frame(), requests, len(files), skipped, collector.extra, collector.missing)


def _after(record: dict[str, Any], since: datetime) -> bool:
    stamp = record.get("eventMetadata", {}).get("inferenceTime")
    if not stamp:
        return True
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")) >= since
    except ValueError:
        return True
