"""Request and response bodies of the serving container: parsing, checking, encoding.

Every client mistake becomes a ``PayloadError`` carrying an HTTP status (400, 406, 413, 415),
so a bad request is answered as a 4xx and never counts as a 5xx that would trip a rollback
alarm. That includes what the standard library raises on hostile input (JSON nested past the
recursion limit, integers over the int digit limit or beyond a float, CSV fields over the csv
module's field limit, undecodable text): ``parse_csv`` and ``parse_json`` let no such error
escape. Parsing works on plain Python lists: a one-row request never touches pandas.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

import numpy as np
import pandas as pd

# SageMaker real-time endpoints refuse request bodies above 6 MB.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
CSV = "text/csv"
JSON = "application/json"
_NULL_TEXT = {"", "nan", "NaN", "NA", "null", "None"}


class PayloadError(Exception):
    """A request the client must fix; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Features:
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.numeric, *self.categorical)


@dataclass(frozen=True)
class Batch:
    """Parsed rows, column by column: numeric columns as float arrays, categorical as lists."""

    columns: dict[str, Any]
    rows: int

    def __getitem__(self, name: str) -> Any:
        return self.columns[name]

    def __len__(self) -> int:
        return self.rows

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({k: np.asarray(v, dtype=None if _is_float(v) else object) for k, v in self.columns.items()})


def _is_float(values: Any) -> bool:
    return isinstance(values, np.ndarray) and values.dtype.kind == "f"


def media_type(header: str | None) -> tuple[str, str]:
    """``(type, charset)`` of a Content-Type header; ``charset=`` defaults to utf-8."""
    kind, *params = (header or "").split(";")
    charset = "utf-8"
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"') or charset
    return kind.strip().lower(), charset


def decode(body: bytes | str, charset: str) -> str:
    if isinstance(body, str):
        return body
    try:
        return body.decode(charset)
    except LookupError as error:
        raise PayloadError(415, f"unsupported charset {charset!r}") from error
    except UnicodeDecodeError as error:
        raise PayloadError(400, f"body is not valid {charset}: {error.reason} at byte {error.start}") from error
    except UnicodeError as error:  # codecs such as 'undefined' fail without a position
        raise PayloadError(400, f"body cannot be decoded as {charset}: {error}") from error


def _client_mistakes(parse: Callable[[str, Features], Batch]) -> Callable[[str, Features], Batch]:
    """Turn what the standard library raises on hostile input into a 400 with its reason.

    Without this, a body nested 100,000 lists deep (RecursionError), a 5,000-digit integer
    (ValueError: the int digit limit), a 400-digit integer (OverflowError in float()) or a
    200 KB CSV field (csv.Error) would reach the server as an unexpected exception: a 500,
    counted toward the 5XX rollback alarm of whichever variant served it.
    """

    @wraps(parse)
    def guarded(text: str, features: Features) -> Batch:
        try:
            return parse(text, features)
        except PayloadError:
            raise
        except RecursionError:
            raise PayloadError(400, "body is nested too deeply") from None
        except csv.Error as error:
            if "field limit" in str(error):
                raise PayloadError(400, f"a CSV field is longer than {csv.field_size_limit()} characters") from None
            raise PayloadError(400, f"malformed CSV: {error}") from None
        except (ValueError, OverflowError) as error:  # UnicodeError is a ValueError too
            if "integer string conversion" in str(error):
                limit = sys.get_int_max_str_digits()
                raise PayloadError(400, f"a number has more than {limit} digits") from None
            raise PayloadError(400, f"malformed body: {error}") from None

    return guarded


def _number(value: Any, name: str, row: int) -> float:
    if value is None or (isinstance(value, str) and value.strip() in _NULL_TEXT):
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PayloadError(400, f"feature '{name}' at row {row}: expected a number, got {_shown(value)}")
    try:
        number = float(value)
    except ValueError:
        raise PayloadError(400, f"feature '{name}' at row {row}: non-numeric value {_shown(value)}") from None
    except OverflowError:  # an int beyond float's range
        raise PayloadError(400, f"feature '{name}' at row {row}: number too large for a float") from None
    if math.isinf(number):
        raise PayloadError(400, f"feature '{name}' at row {row}: infinite value {_shown(value)}")
    return number


def _shown(value: Any) -> str:
    """A value for a reason line, cut short: a client's 100 KB field must not come back whole."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _category(value: Any, name: str, row: int) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if isinstance(value, dict | list):
        raise PayloadError(400, f"feature '{name}' at row {row}: expected a category, got {_shown(value)}")
    text = str(value).strip()
    return math.nan if text == "" else text


def to_batch(rows: Sequence[Sequence[Any]], features: Features) -> Batch:
    """Columns from rows already in feature order, with every value checked."""
    columns: dict[str, Any] = {}
    width = len(features.numeric)
    for j, name in enumerate(features.numeric):
        columns[name] = np.array([_number(row[j], name, i) for i, row in enumerate(rows, 1)], dtype=float)
    for j, name in enumerate(features.categorical, width):
        columns[name] = [_category(row[j], name, i) for i, row in enumerate(rows, 1)]
    return Batch(columns, len(rows))


def _expected(features: Features) -> str:
    return f"expected {len(features.names)} columns ({', '.join(features.names)})"


@_client_mistakes
def parse_csv(text: str, features: Features) -> Batch:
    """CSV rows, with a header row (any column order, extra columns ignored) or without one."""
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(field.strip() for field in row)]
    if not rows:
        raise PayloadError(400, "empty CSV body")
    names = features.names
    header = [field.strip() for field in rows[0]]
    if any(field in names for field in header):
        twice = sorted({name for name in names if header.count(name) > 1})
        if twice:
            raise PayloadError(400, f"CSV header names {', '.join(twice)} more than once")
        lacking = [name for name in names if name not in header]
        if lacking:
            raise PayloadError(400, f"CSV header lacks features {', '.join(lacking)}")
        order = [header.index(name) for name in names]
        rows = rows[1:]
        if not rows:
            raise PayloadError(400, "CSV body has a header but no data rows")
    else:
        order, header = list(range(len(names))), list(names)
    for number, row in enumerate(rows, 1):
        if len(row) != len(header):
            raise PayloadError(400, f"CSV row {number} has {len(row)} columns, {_expected(features)}")
    return to_batch([[row[j] for j in order] for row in rows], features)


def _instance(item: Any, features: Features, number: int) -> Sequence[Any]:
    if isinstance(item, dict):
        lacking = [name for name in features.names if name not in item]
        if lacking:
            raise PayloadError(400, f"instance {number} lacks features {', '.join(lacking)}")
        return [item[name] for name in features.names]
    if isinstance(item, list):
        if len(item) != len(features.names):
            raise PayloadError(400, f"instance {number} has {len(item)} values, {_expected(features)}")
        return item
    raise PayloadError(400, f"instance {number} must be an object or a list, got {type(item).__name__}")


@_client_mistakes
def parse_json(text: str, features: Features) -> Batch:
    """``{"instances": [...]}``, a list of instances, or one instance; each an object or a list."""
    if not text.strip():
        raise PayloadError(400, "empty JSON body")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PayloadError(400, f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    if isinstance(document, dict):
        document = document.get("instances", [document])
    if not isinstance(document, list):
        raise PayloadError(400, 'JSON body must be an object, a list, or {"instances": [...]}')
    if not document:
        raise PayloadError(400, "no instances in JSON body")
    if all(not isinstance(item, dict | list) for item in document):
        # A bare list of values is one instance in feature order.
        document = [document]
    return to_batch([_instance(item, features, i) for i, item in enumerate(document, 1)], features)


def encode_json(probability: np.ndarray, label: np.ndarray) -> bytes:
    items = [{"label": int(y), "probability": round(float(p), 6)} for p, y in zip(probability, label, strict=True)]
    return json.dumps({"predictions": items}).encode()


def encode_csv(probability: np.ndarray, label: np.ndarray) -> bytes:
    return "".join(f"{round(float(p), 6)},{int(y)}\n" for p, y in zip(probability, label, strict=True)).encode()


def choose_accept(accept: str | None) -> str:
    """The response type for an Accept header; JSON when the client takes anything."""
    for part in (accept or "*/*").split(","):
        kind = media_type(part)[0]
        if kind in {JSON, "application/*", "*/*", ""}:
            return JSON
        if kind in {CSV, "text/*"}:
            return CSV
    raise PayloadError(406, f"cannot answer in {accept!r}; supported: {JSON}, {CSV}")
