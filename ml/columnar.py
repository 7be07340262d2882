"""Column-at-a-time scoring of clean CSV lines for ``ml.batch``; runs in the serving container and locally.

``ml.records`` reads every record with ``str.split`` and ``float``, one value at a time, so
that a bad record gets its own reason and line. Nearly every line of a nightly file is clean,
and for those pyarrow's CSV reader, a dictionary per categorical column and numpy formatting
give the same answer lines at a fraction of the cost. ``answer_clean`` takes a mini-batch (or
a block of one) only when it can guarantee that: it returns None, and the lines are scored
record by record, on anything the careful path might read or answer differently: a quote, a
carriage return, a byte order mark, an empty or blank record, a header-like first line, a
wrong column count, a number pyarrow and ``float`` might not agree on (pyarrow refuses it, or
it reads as inf or NaN from text other than the exact missing-value spellings), a model
without a compiled scorer.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from ml.scoring import Coded

# The texts ml.batch (and ml.payload) read as a missing number; pyarrow reads exactly these as null.
MISSING_NUMBERS = ("", "nan", "NaN", "NA", "null", "None")
_ID = "\x00id"  # a column name no feature can have
# repr() of k / 1e6 for the probabilities Python writes in exponent form (k < 100), and of 1.0.
_SPECIAL = pa.array([repr(k / 1e6) for k in range(100)] + ["1.0"])


def answer_clean(text: str, model: Any, with_id: bool, header: bool = True) -> tuple[bytes, int] | None:
    """(answer lines, records) for clean records, or None when they need the careful path (``ml.records``).

    ``header``: the first line opens a mini-batch, and the careful path would refuse it if it looks like a header.
    """
    scorer = getattr(model, "scorer", None)
    # pyarrow would drop a leading byte order mark that the careful path keeps in the first field.
    if scorer is None or not text or '"' in text or "\r" in text or text.startswith("\ufeff"):
        return None
    records = text.count("\n") + (not text.endswith("\n"))
    if header and _header_like(text, model.features.names, with_id):
        return None
    table = _read(text, model.features, with_id)
    if table is None or table.num_rows != records:
        return None
    columns = _columns(table, model.features)
    if columns is None:
        return None
    probability = scorer.predict_proba(columns)[:, 1]
    ids = table.column(_ID) if with_id else None
    return answer_lines(probability, probability >= model.threshold, ids), records


def _header_like(text: str, names: Sequence[str], with_id: bool) -> bool:
    """The careful path's header test on the first record (``ml.records.score_records``, record 0)."""
    first = text.partition("\n")[0]
    if with_id:
        first = first.partition(",")[2]
    return not frozenset(names).isdisjoint(field.strip() for field in first.split(","))


def _read(text: str, features: Any, with_id: bool) -> pa.Table | None:
    names = [_ID] * with_id + list(features.names)
    types = {_ID: pa.string(), **dict.fromkeys(features.numeric, pa.float64())}
    types.update(dict.fromkeys(features.categorical, pa.string()))
    try:
        data = text.encode("utf-8")
        return pv.read_csv(
            io.BytesIO(data),
            # One block for the whole text: a block must hold whole lines, and there is no header row.
            read_options=pv.ReadOptions(column_names=names, block_size=max(1 << 20, len(data) + 1)),
            # No quoting, no escapes, no empty lines skipped: the text has no quotes, so each line
            # splits at every comma, as str.split(",") does; an empty line is a column-count error.
            parse_options=pv.ParseOptions(quote_char=False, double_quote=False, ignore_empty_lines=False),
            convert_options=pv.ConvertOptions(
                column_types=types, null_values=list(MISSING_NUMBERS), strings_can_be_null=False
            ),
        )
    except (pa.ArrowException, UnicodeError):
        return None


def _columns(table: pa.Table, features: Any) -> dict[str, Any] | None:
    """Scorer columns, or None on a value the careful path might read differently or call an empty record."""
    columns: dict[str, Any] = {}
    blank = np.ones(table.num_rows, dtype=bool)
    for name in features.numeric:
        column = table.column(name)
        values = column.to_numpy(zero_copy_only=False).astype(float, copy=False)
        given = ~np.asarray(column.is_null())
        # NaN from text is "NAN", "-nan" or "nan(…)" (float() refuses the last); inf fails the record.
        if np.isinf(values).any() or (np.isnan(values) & given).any():
            return None
        blank &= ~given
        columns[name] = values
    for name in features.categorical:
        encoded = table.column(name).combine_chunks().dictionary_encode()
        categories = encoded.dictionary.to_pylist()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        blank &= np.array([not value.strip(" \t") for value in categories], dtype=bool)[codes]
        # The careful path reads a category as its text stripped, and blank as missing.
        columns[name] = Coded(codes, [value.strip() or np.nan for value in categories])
    # Every field blank or a missing-number spelling: possibly what the careful path calls an empty record.
    return None if blank.any() else columns


def probability_texts(probability: np.ndarray) -> pa.Array:
    """``repr(round(p, 6))`` of every probability, computed on whole columns."""
    scaled = probability * 1e6
    # Python rounds the exact binary value half to even; scaled carries an error far below 1e-6,
    # so only values within 1e-6 of a tie (and anything outside [0, 1]) need Python's round().
    odd = ~((probability >= 0) & (probability <= 1)) | (np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6)
    micro = np.where(odd, 0, np.rint(scaled)).astype(np.int64)
    # 100 <= k < 10**6 is "0." and k in six digits, trailing zeros dropped: k/1e6 repr'd exactly so.
    digits = pc.utf8_rtrim(pc.utf8_lpad(pa.array(micro).cast(pa.string()), 6, "0"), "0")
    texts = pc.if_else(
        pa.array((micro < 100) | (micro >= 1_000_000)),
        pc.take(_SPECIAL, pa.array(np.minimum(micro, 100))),
        pc.binary_join_element_wise("0.", digits, ""),
    )
    if odd.any():
        exact = [repr(round(p, 6)) for p in probability[odd].tolist()]
        texts = pc.replace_with_mask(texts, pa.array(odd), pa.array(exact, pa.string()))
    return texts


def answer_lines(probability: np.ndarray, label: np.ndarray, ids: pa.ChunkedArray | None = None) -> bytes:
    """``[id,]probability,label,`` lines, byte for byte what ``f"{round(p, 6)},{int(y)},"`` writes."""
    fields = [probability_texts(probability), pc.if_else(pa.array(label), "1", "0"), pa.scalar("\n")]
    if ids is not None:
        fields.insert(0, ids.combine_chunks())
    lines = pc.binary_join_element_wise(*fields, ",")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]
