"""Record-by-record scoring of CSV lines for batch jobs; runs in the serving container and as a local job.

The careful path of ``ml.batch``: each line is split and checked on its own, so a bad record
gets its reason (the endpoint's, from ``ml.payload``) on its own output line while the others
are scored together. ``ml.columnar`` answers clean mini-batches faster, with the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ml.columnar import MISSING_NUMBERS
from ml.payload import Batch, Features, PayloadError, to_batch

_UNSAFE = str.maketrans({",": ";", '"': "'", "\n": " ", "\r": " "})


def error_line(reason: str) -> str:
    """The output line of a record that could not be scored: empty prediction, reason last."""
    return ",," + reason.translate(_UNSAFE)


def split_record(line: str) -> list[str] | None:
    """The fields of one CSV line, or None if its quoting is broken (a record never spans lines)."""
    if '"' not in line:
        return line.split(",")
    import csv

    try:
        rows = list(csv.reader([line], strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


# The texts ml.payload reads as missing numbers; any other text float() refuses goes to `to_batch`.
_MISSING = dict.fromkeys(MISSING_NUMBERS, math.nan)


def _numbers(column: Sequence[str], count: int) -> np.ndarray:
    try:
        return np.fromiter(map(float, column), dtype=float, count=count)
    except ValueError:
        missing = _MISSING.get
        return np.fromiter((float(v) if missing(v) is None else math.nan for v in column), dtype=float, count=count)


def fast_batch(rows: Sequence[Sequence[str]], features: Features) -> Batch:
    """Columns of well-formed text rows; any doubt goes to ``to_batch``, whose checks and reasons are the endpoint's."""
    columns = list(zip(*rows, strict=True))
    parsed: dict[str, Any] = {}
    for j, name in enumerate(features.numeric):
        try:
            values = _numbers(columns[j], len(rows))
        except (ValueError, OverflowError):
            return _checked(rows, features)
        if np.isinf(values).any():
            return _checked(rows, features)
        parsed[name] = values
    for j, name in enumerate(features.categorical, len(features.numeric)):
        parsed[name] = [value.strip() or math.nan for value in columns[j]]
    return Batch(parsed, len(rows))


def _checked(rows: Sequence[Sequence[str]], features: Features) -> Batch:
    try:
        return to_batch(rows, features)
    except (ValueError, OverflowError) as error:  # what the standard library raises on hostile values
        raise PayloadError(400, f"malformed record: {error}") from None


def score_records(records: Sequence[str], model: Any, header: bool = True) -> list[str]:
    """One output line (no newline) per record: ``probability,label,`` or ``,,reason``.

    ``header``: the first record opens a mini-batch, where a header line would be (Transform
    cuts a file between lines, so each mini-batch's first line is checked).
    """
    features: Features = model.features
    width, names = len(features.names), frozenset(features.names)
    out = [""] * len(records)
    rows: list[list[str]] = []
    positions: list[int] = []
    for i, record in enumerate(records):
        record = record.rstrip("\r\n")
        fields = record.split(",") if '"' not in record else split_record(record)
        if fields is None:
            out[i] = error_line("malformed CSV quoting")
        elif not record.strip(", \t"):
            out[i] = error_line("empty record")
        elif i == 0 and header and not names.isdisjoint(field.strip() for field in fields):
            out[i] = error_line("a header line: batch input has none, every line is a record (remove it)")
        elif len(fields) != width:
            out[i] = error_line(f"{len(fields)} columns, expected {width} ({', '.join(features.names)})")
        else:
            rows.append(fields)
            positions.append(i)
    _score(rows, positions, model, out)
    return out


def _score(rows: list[list[str]], positions: list[int], model: Any, out: list[str]) -> None:
    """Score `rows` together; on a bad value, halve until the bad records stand alone with their reasons."""
    if not rows:
        return
    try:
        batch = fast_batch(rows, model.features)
    except PayloadError as error:
        if len(rows) == 1:
            out[positions[0]] = error_line(error.reason.replace(" at row 1", ""))
            return
        middle = len(rows) // 2
        _score(rows[:middle], positions[:middle], model, out)
        _score(rows[middle:], positions[middle:], model, out)
        return
    probability = model.predict_proba(batch)[:, 1]
    label = probability >= model.threshold
    for position, p, y in zip(positions, probability.tolist(), label.tolist(), strict=True):
        out[position] = f"{round(p, 6)},{int(y)},"
