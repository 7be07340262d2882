"""Column-at-a-time batch scoring: byte for byte the careful path's answers, and taken whenever a chunk is clean."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ml.batch
import ml.inference as handlers
from ml.batch import careful_chunk, score_chunk, score_file, transform_records
from ml.columnar import answer_clean, answer_lines, probability_texts
from ml.dataset import make_churn
from ml.scoring import Coded


@pytest.fixture(scope="module")
def model(model_dir: Path) -> handlers.ServingModel:
    return handlers.model_fn(model_dir)


def clean_lines(model: handlers.ServingModel, rows: int, seed: int = 3) -> list[str]:
    frame = make_churn(rows, seed)[list(model.features.names)]
    return [f"c{i},{line}" for i, line in enumerate(frame.to_csv(index=False, header=False).splitlines())]


def python_lines(probability: np.ndarray, label: np.ndarray) -> bytes:
    pairs = zip(probability.tolist(), label.tolist(), strict=True)
    return "".join(f"{round(p, 6)},{int(y)},\n" for p, y in pairs).encode()


def test_every_six_decimal_probability_is_written_as_python_writes_it() -> None:
    micro = np.arange(1_000_001) / 1e6  # every value round(p, 6) can take in [0, 1]
    assert probability_texts(micro).to_pylist() == [repr(round(p, 6)) for p in micro.tolist()]


def test_rounding_matches_python_on_ties_edges_and_random_values() -> None:
    rng = np.random.default_rng(5)
    ties = (rng.integers(0, 1_000_000, 50_000) + 0.5) / 1e6  # as close to a half as a double gets
    probability = np.concatenate([
        rng.random(100_000), rng.random(20_000) ** 12, 1 - rng.random(20_000) ** 12, ties,
        np.nextafter(ties, 0), np.nextafter(ties, 1), [0.0, 1.0, 5e-7, 4.999999e-7, 1e-5, 9.95e-5, 9.9995e-5,
        1e-4, 0.5, 1 - 5e-7, 1 - 4.9e-7, 5e-324, 0.1 + 0.2, np.nan],
    ])  # fmt: skip
    label = probability >= 0.5
    assert answer_lines(probability, label) == python_lines(probability, label)


def test_a_clean_chunk_takes_the_columnar_path_with_the_careful_answer(model: handlers.ServingModel) -> None:
    text = "\n".join(clean_lines(model, 3000)) + "\n"
    fast = answer_clean(text, model, with_id=True)
    assert fast is not None, "a clean chunk must not fall back to the record-by-record path"
    assert fast == (careful_chunk(text, model, with_id=True)[0], 3000)
    bare = "".join(line.partition(",")[2] + "\n" for line in text.splitlines())
    assert answer_clean(bare, model, with_id=False) == (careful_chunk(bare, model, with_id=False)[0], 3000)


def test_score_file_scores_a_clean_file_without_the_careful_path(
    model: handlers.ServingModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = clean_lines(model, 2000)
    source = tmp_path / "in.csv"
    source.write_text("\n".join(lines))  # no newline after the last record
    expected = careful_chunk(source.read_text(), model, with_id=True)[0]

    def refuse(*_: object) -> None:
        raise AssertionError("the careful path scored a clean chunk")

    monkeypatch.setattr(ml.batch, "careful_chunk", refuse)
    stats = score_file(model, source, tmp_path / "out", with_id=True, max_payload_bytes=16_384)
    assert stats == {"records": 2000, "failed": 0}
    assert (tmp_path / "out").read_bytes() == expected


# (how a line is changed, whether the columnar path may still take the chunk)
DIRTY = {
    "quoted id with a comma": (lambda f: ['"c,9"', *f[1:]], False),
    "quoted field": (lambda f: [*f[:7], '"one-year"', *f[8:]], False),
    "non-numeric": (lambda f: [f[0], "abc", *f[2:]], False),
    "inf": (lambda f: [*f[:2], "inf", *f[3:]], False),
    "huge number": (lambda f: [*f[:2], "1e400", *f[3:]], False),
    "nan with a payload": (lambda f: [*f[:2], "nan(1)", *f[3:]], False),
    "NAN": (lambda f: [*f[:2], "NAN", *f[3:]], False),
    "underscore digits": (lambda f: [*f[:2], "1_000", *f[3:]], False),
    "arabic digit": (lambda f: [*f[:2], "\u0663", *f[3:]], False),
    "padded missing": (lambda f: [*f[:2], " NA ", *f[3:]], False),
    "too few columns": (lambda f: f[:-1], False),
    "too many columns": (lambda f: [*f, "x"], False),
    "blank record": (lambda f: [f[0], *[""] * 10], False),
    "blank spaced record": (lambda f: [f[0], *[""] * 6, " ", "\t", "", ""], False),
    "all missing": (lambda f: [f[0], *["NA"] * 6, *[""] * 4], False),
    "header-like category": (lambda f: [*f[:7], "age", *f[8:]], True),  # a header only on a chunk's first line
    "missing numbers": (lambda f: [f[0], "", "NA", "None", "null", "nan", "NaN", *f[7:]], True),
    "padded numbers": (lambda f: [f[0], " 7", "7 ", "+3", "-0", ".5", "5.", *f[7:]], True),
    "exponent": (lambda f: [*f[:2], "1e3", "1e-400", *f[4:]], True),
    "unknown and padded categories": (lambda f: [*f[:7], " one-year ", "cash", "", " "], True),
    "the missing category spelled out": (lambda f: [*f[:7], "missing", "NA", *f[9:]], True),
    "non-ascii": (lambda f: ["c\u00e9", *f[1:7], "caf\u00e9", *f[8:]], True),
}


@pytest.mark.parametrize("name", sorted(DIRTY))
@pytest.mark.parametrize("where", [0, 17, 49])
def test_a_changed_line_gives_the_careful_answer_byte_for_byte(
    model: handlers.ServingModel, name: str, where: int
) -> None:
    change, columnar = DIRTY[name]
    lines = clean_lines(model, 50)
    lines[where] = ",".join(change(lines[where].split(",")))
    text = "\n".join(lines) + "\n"
    expected = careful_chunk(text, model, with_id=True)
    assert score_chunk(text, model, with_id=True) == expected
    header = name == "header-like category" and where == 0
    assert (answer_clean(text, model, with_id=True) is not None) == (columnar and not header)


@pytest.mark.parametrize(
    "text",
    [
        "{0}\r\n{1}\r\n",  # CRLF
        "{0}\n\n{1}\n",  # an empty line
        "\n{0}\n{1}\n",  # an empty first line
        "{0}\n{1}\r{1}\n",  # a stray carriage return inside a line
        "{h}\n{0}\n{1}\n",  # a header line
        "{0}\n{1}",  # no newline at the end
        "\ufeff{0}\n{1}\n",  # a byte order mark, which pyarrow's reader would drop
    ],
)
def test_line_structure_gives_the_careful_answer_byte_for_byte(model: handlers.ServingModel, text: str) -> None:
    first, second = clean_lines(model, 2)
    text = text.format(first, second, h="customer_id," + ",".join(model.features.names))
    assert score_chunk(text, model, with_id=True) == careful_chunk(text, model, with_id=True)
    bare = "\n".join(line.partition(",")[2] for line in text.split("\n"))
    assert score_chunk(bare, model, with_id=False) == careful_chunk(bare, model, with_id=False)


def test_a_few_bad_records_leave_the_other_blocks_of_a_mini_batch_columnar(
    model: handlers.ServingModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ml.batch, "BLOCK", 4096)  # about 55 lines a block
    lines = clean_lines(model, 3000)
    for i in (10, 1500, 2999):
        lines[i] = ",".join([*lines[i].split(",")[:2], "abc", *lines[i].split(",")[3:]])
    text = "\n".join(lines) + "\n"
    starts = list(np.cumsum([block.count("\n") for block in ml.batch._blocks(text)])[:-1])
    for i in starts:  # a category spelled like a feature opening a block, not the mini-batch: scored
        lines[i] = ",".join([*lines[i].split(",")[:7], "age", *lines[i].split(",")[8:]])
    text = "\n".join(lines) + "\n"
    careful_lines = []

    def counted(chunk: str, *args: object) -> tuple[bytes, int, int]:
        careful_lines.append(chunk.count("\n"))
        return careful_chunk(chunk, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ml.batch, "careful_chunk", counted)
    answer, records, failed = score_chunk(text, model, with_id=True)
    assert (answer, records, failed) == careful_chunk(text, model, with_id=True)
    assert failed == 3 and len(careful_lines) == 3 and sum(careful_lines) < 200


NUMBERS = ["12", "0.5", " 7 ", "+3", "-0", "1e2", "", "NA", "nan", "NaN", "NAN", "-nan", "nan(2)", "inf", "-1e999",
           "abc", "1_0", "0x1f", "\u0663", "\t4", "None", "null", " NA "]  # fmt: skip
CATEGORIES = ["month-to-month", " yes ", "no", "", " ", "unknown", "missing", "NA", "age", "\u00e9", "fiber_optic"]


def test_random_mixed_chunks_agree_with_the_careful_path(model: handlers.ServingModel) -> None:
    rng = np.random.default_rng(13)
    lines = clean_lines(model, 4000)
    taken = 0
    for chunk in range(80):
        picked = lines[chunk * 50 : chunk * 50 + 50]
        for _ in range(rng.choice([0, 0, 1, 3])):
            fields = picked[rng.integers(50)].split(",")
            column = int(rng.integers(1, 11))
            fields[column] = str(rng.choice(NUMBERS if column <= 6 else CATEGORIES))
            picked[rng.integers(50)] = ",".join(fields)
        text = "\n".join(picked) + "\n"
        assert score_chunk(text, model, with_id=True) == careful_chunk(text, model, with_id=True), text
        taken += answer_clean(text, model, with_id=True) is not None
    assert 20 < taken < 80  # both paths were exercised


def test_container_mini_batches_take_the_columnar_path_too(model: handlers.ServingModel) -> None:
    lines = [line.partition(",")[2] for line in clean_lines(model, 500)]
    body = ("\n".join(lines) + "\n").encode()
    assert answer_clean(body.decode(), model, with_id=False) is not None
    answer, kind = transform_records(model, body, "text/csv", "text/csv")
    assert kind == "text/csv"
    assert answer == careful_chunk(body.decode(), model, with_id=False)[0]


def test_coded_and_listed_categories_encode_alike(model: handlers.ServingModel) -> None:
    assert model.scorer is not None
    values = ["month-to-month", "two-year", np.nan, "unknown", "missing", "one-year"] * 50
    distinct = list(dict.fromkeys(values, None))
    codes = np.array([next(i for i, d in enumerate(distinct) if d is v or d == v) for v in values])
    frame = make_churn(len(values), 4)
    listed = {name: frame[name].to_numpy(dtype=float) for name in model.features.numeric}
    listed.update({name: list(frame[name]) for name in model.features.categorical})
    coded = {**listed, "contract": Coded(codes, distinct)}
    listed["contract"] = values
    assert np.array_equal(model.scorer.transform(coded), model.scorer.transform(listed))
    expected = model.estimator.named_steps["preprocess"].transform(frame.assign(contract=values))
    assert np.allclose(model.scorer.transform(listed), expected, rtol=1e-12, atol=1e-12)
