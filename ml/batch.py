"""Batch scoring of CSV records, one output line per input line; runs in the serving container and as a local job.

SageMaker Batch Transform (``SplitType: Line``, ``BatchStrategy: MultiRecord``) hands the
model mini-batches of input lines and joins each answer line with its input line, so the
answer must have exactly one line per record, in order. A real-time request fails as a whole
on its first bad row; here a bad record gets its reason on its own line and the others are
scored, so one bad row cannot fail a nightly job. Every output line has three fields::

    probability,label,          a scored record (the fields the endpoint answers for text/csv)
    ,,reason                    a record the model could not score (commas in the reason become ';')

The batch job sets ``MLOPS_RECORD_ERRORS=inline`` on the transform's container, which makes
``ml.endpoint.transform_fn`` answer through ``transform_records``. Locally ``python -m ml.batch``
runs the same function over a file in mini-batches of at most ``--max-payload-mb``, splitting
off an ID column first and joining it back, as Transform's ``InputFilter``/``JoinSource``/
``OutputFilter`` do, so memory stays flat whatever the file's size; ``--workers`` processes score
mini-batches side by side, as Transform sends ``MaxConcurrentTransforms`` of them at once.
Each record is checked on its own (``ml.records``); blocks of records with nothing unusual in
them are read column by column (``ml.columnar``), with the same bytes out.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ml.columnar import answer_clean
from ml.contract import exit_process
from ml.payload import CSV, PayloadError, media_type
from ml.records import score_records

ERRORS_ENV = "MLOPS_RECORD_ERRORS"
INLINE = "inline"


def inline_errors() -> bool:
    """Whether this container serves a batch job that wants record-level errors."""
    return os.environ.get(ERRORS_ENV) == INLINE


def lines_of(text: str) -> list[str]:
    """The lines of a chunk, split at "\n" only (as Transform splits a file): a stray "\r" stays inside its record."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def transform_records(model: Any, body: bytes | str, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
    """The container's answer to one Transform mini-batch in record-error mode."""
    kind, charset = media_type(content_type or CSV)
    if kind != CSV:
        raise PayloadError(415, f"record-level batch scoring reads {CSV}, got {kind!r}")
    try:
        text = bytes(body).decode(charset, errors="replace") if isinstance(body, bytes | bytearray) else body
    except LookupError:
        raise PayloadError(415, f"unsupported charset {charset!r}") from None
    return score_chunk(text, model, with_id=False)[0], CSV


def split_id(line: str) -> tuple[str, str]:
    """(ID field as written, the rest of the line), as InputFilter ``$[1:]`` and OutputFilter ``$[0,...]`` see them."""
    if not line.startswith('"'):
        head, _, rest = line.partition(",")
        return head, rest
    i = 1
    while i < len(line):
        if line[i] == '"':
            if line[i + 1 : i + 2] == '"':  # an escaped quote inside the field
                i += 2
                continue
            return line[: i + 1], line[i + 2 :]
        i += 1
    return line, ""  # an unterminated quote: the ID swallows the line, the record fails as empty


def _mini_batches(reader: Any, size: int) -> Iterator[str]:
    """Whole lines, about `size` bytes at a time, as Transform's MultiRecord cuts a file."""
    while chunk := reader.read(size):
        yield chunk if chunk.endswith("\n") else chunk + reader.readline()


def score_chunk(text: str, model: Any, with_id: bool) -> tuple[bytes, int, int]:
    """(answer lines, records, failed) for a chunk of input lines; IDs split off and joined back when asked.

    A clean chunk is scored column by column (``ml.columnar``). Any other is cut into blocks of
    lines, each scored by column if it is clean and record by record if not, so that a few bad
    records in a nightly file do not send whole mini-batches down the slow path.
    """
    if len(text) <= BLOCK:
        return _score_block(text, model, with_id, True)
    clean = answer_clean(text, model, with_id)
    if clean is not None:
        return clean[0], clean[1], 0
    parts = [_score_block(block, model, with_id, i == 0) for i, block in enumerate(_blocks(text))]
    return b"".join(part[0] for part in parts), sum(part[1] for part in parts), sum(part[2] for part in parts)


BLOCK = 128 * 1024  # characters: about 2,000 lines, where pyarrow's set-up is already small


def _blocks(text: str) -> Iterator[str]:
    """Whole lines (split at "\n" only, as ``lines_of`` splits), about BLOCK characters at a time."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + BLOCK)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _score_block(text: str, model: Any, with_id: bool, header: bool) -> tuple[bytes, int, int]:
    clean = answer_clean(text, model, with_id, header)
    return (clean[0], clean[1], 0) if clean is not None else careful_chunk(text, model, with_id, header)


def careful_chunk(text: str, model: Any, with_id: bool, header: bool = True) -> tuple[bytes, int, int]:
    """``score_chunk`` record by record: every bad record gets its own reason on its own line."""
    lines = lines_of(text)
    if with_id:
        quoted = any(line.startswith('"') for line in lines)
        pairs = [split_id(line) for line in lines] if quoted else [line.partition(",")[::2] for line in lines]
        answers = score_records([rest for _, rest in pairs], model, header)
        failed = sum(1 for answer in answers if not answer.endswith(","))
        answers = [f"{pair[0]},{answer}" for pair, answer in zip(pairs, answers, strict=True)]
    else:
        answers = score_records(lines, model, header)
        failed = sum(1 for answer in answers if not answer.endswith(","))
    return ("\n".join(answers) + "\n").encode() if answers else b"", len(answers), failed


_worker_model: list[Any] = []  # the model a forked worker inherits


def _score_in_worker(text: str, with_id: bool) -> tuple[bytes, int, int]:
    return score_chunk(text, _worker_model[0], with_id)


def score_file(
    model: Any, source: Path, target: Path, *, with_id: bool, max_payload_bytes: int, workers: int = 1
) -> dict[str, int]:
    """Stream `source` into `target`, one line out per line in, in order; mini-batches go to `workers` processes.

    At most two mini-batches per worker are in flight, so memory stays flat whatever the file's size.
    """
    _worker_model[:] = [model]
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    pending: deque[Any] = deque()
    stats = {"records": 0, "failed": 0}
    reader = open(source, encoding="utf-8", errors="replace", newline="")  # noqa: SIM115 (closed below)
    try:
        with reader, open(target, "wb") as writer:
            for chunk in _mini_batches(reader, max_payload_bytes):
                args = (chunk, with_id)
                pending.append(pool.apply_async(_score_in_worker, args) if pool else score_chunk(chunk, model, with_id))
                while len(pending) > (2 * workers if pool else 0):
                    _write(writer, pending.popleft(), stats)
            while pending:
                _write(writer, pending.popleft(), stats)
    finally:
        if pool is not None:
            pool.terminate()
    return stats


def _write(writer: Any, answer: Any, stats: dict[str, int]) -> None:
    text, records, failed = answer if isinstance(answer, tuple) else answer.get()
    stats["records"] += records
    stats["failed"] += failed
    writer.write(text)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ml.batch --model-dir D --input F --output F.out [--with-id] [--max-payload-mb N]``."""
    parser = argparse.ArgumentParser(prog="python -m ml.batch", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--with-id", action="store_true", help="the first column is an ID: passed through, not scored")
    parser.add_argument("--max-payload-mb", type=float, default=6.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="scoring processes")
    args = parser.parse_args(argv)
    from ml.inference import model_fn

    began = time.perf_counter()
    model = model_fn(args.model_dir)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    size = int(args.max_payload_mb * 1024 * 1024)
    stats = score_file(model, args.input, args.output, with_id=args.with_id, max_payload_bytes=size,
                       workers=max(1, args.workers))  # fmt: skip
    stats["seconds"] = round(time.perf_counter() - began, 3)  # type: ignore[assignment]
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    exit_process(main())
