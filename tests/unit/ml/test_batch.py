"""Record-level batch scoring: a line per record, the endpoint's answers for good rows, reasons for bad ones."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import ml.endpoint
import ml.inference as handlers
from ml.batch import ERRORS_ENV, main, score_file, score_records, split_id, transform_records
from ml.dataset import make_churn


@pytest.fixture(scope="module")
def model(model_dir: Path) -> handlers.ServingModel:
    return handlers.model_fn(model_dir)


def csv_lines(model: handlers.ServingModel, rows: int, seed: int = 11) -> list[str]:
    frame = make_churn(rows, seed)[list(model.features.names)]
    return frame.to_csv(index=False, header=False).splitlines()


def endpoint_answer(model: handlers.ServingModel, line: str) -> str:
    """What the real-time handlers answer for this one row with Accept: text/csv."""
    body, _ = handlers.output_fn(handlers.predict_fn(handlers.input_fn(line, "text/csv", model), model), "text/csv")
    return body.decode().strip()


def test_good_records_get_exactly_the_endpoints_answer(model: handlers.ServingModel) -> None:
    lines = csv_lines(model, 300)
    lines[5] = lines[5].replace(",month-to-month,", ", month-to-month ,")  # whitespace around a category
    lines[9] = ",".join(["", *lines[9].split(",")[1:]])  # a missing number: NaN, as the endpoint reads it
    for i, text in ((10, "NA"), (11, "None"), (12, "null"), (13, "nan"), (14, " 7 ")):
        lines[i] = ",".join([*lines[i].split(",")[:2], text, *lines[i].split(",")[3:]])
    answers = score_records(lines, model)
    assert len(answers) == len(lines)
    assert [a.removesuffix(",") for a in answers] == [endpoint_answer(model, line) for line in lines]


def test_bad_records_fail_alone_with_the_endpoints_reason(model: handlers.ServingModel) -> None:
    lines = csv_lines(model, 40)
    bad = {3: lines[3].replace(lines[3].split(",")[1], "abc", 1), 17: "1,2,3", 22: "", 30: lines[30].replace(
        lines[30].split(",")[0], "inf", 1), 35: '"unterminated,1,2'}  # fmt: skip
    lines = [bad.get(i, line) for i, line in enumerate(lines)]
    answers = score_records(lines, model)
    assert len(answers) == 40
    failed = {i: a for i, a in enumerate(answers) if not a.endswith(",")}
    assert sorted(failed) == sorted(bad)
    assert failed[3] == ",,feature 'monthly_charges': non-numeric value 'abc'"
    assert failed[17].startswith(",,3 columns; expected 10 (tenure_months; ")
    assert failed[22] == ",,empty record"
    assert "infinite value 'inf'" in failed[30]
    assert failed[35] == ",,malformed CSV quoting"
    good = [i for i in range(40) if i not in bad]
    assert [answers[i].removesuffix(",") for i in good] == [endpoint_answer(model, lines[i]) for i in good]


def test_a_header_line_is_named_as_such(model: handlers.ServingModel) -> None:
    lines = [",".join(model.features.names), *csv_lines(model, 3)]
    answers = score_records(lines, model)
    assert answers[0] == ",,a header line: batch input has none; every line is a record (remove it)"
    assert all(a.endswith(",") for a in answers[1:])


def test_container_answers_a_mini_batch_record_by_record_in_batch_mode(
    model: handlers.ServingModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = csv_lines(model, 5)
    body = ("\n".join([*lines[:2], "x,y", *lines[2:]]) + "\n").encode()
    with pytest.raises(handlers.PayloadError):  # the real-time path refuses the whole request
        ml.endpoint.transform_fn(model, body, "text/csv", "text/csv")
    monkeypatch.setenv(ERRORS_ENV, "inline")
    answer, kind = ml.endpoint.transform_fn(model, body, "text/csv", "text/csv")
    assert kind == "text/csv"
    out = answer.decode().splitlines()
    assert len(out) == 6 and out[2].startswith(",,2 columns")
    assert all(o.endswith(",") for i, o in enumerate(out) if i != 2)
    with pytest.raises(handlers.PayloadError) as refused:
        transform_records(model, b"{}", "application/json", "text/csv")
    assert refused.value.status == 415
    with pytest.raises(handlers.PayloadError) as refused:
        transform_records(model, b"1,2", "text/csv; charset=no-such-codec", "text/csv")
    assert refused.value.status == 415


def test_lines_split_at_newlines_only_so_a_stray_carriage_return_stays_one_record(
    model: handlers.ServingModel,
) -> None:
    lines = csv_lines(model, 3)
    body = f"{lines[0]}\r\n{lines[1][:5]}\r{lines[1][5:]}\n{lines[2]}".encode()
    answer, _ = transform_records(model, body, "text/csv", "text/csv")
    out = answer.decode().split("\n")[:-1]
    assert len(out) == 3 and out[0].endswith(",") and out[2].endswith(",")
    assert out[1].startswith(",,")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("c1,1,2", ("c1", "1,2")),
        ('"c,1",1,2', ('"c,1"', "1,2")),
        ('"say ""hi""",1', ('"say ""hi"""', "1")),
        ("c9", ("c9", "")),
    ],
)
def test_split_id_keeps_the_id_as_written(line: str, expected: tuple[str, str]) -> None:
    assert split_id(line) == expected


def test_score_file_streams_in_mini_batches_keeping_order_and_ids(model: handlers.ServingModel, tmp_path: Path) -> None:
    lines = csv_lines(model, 2000)
    source = tmp_path / "in.csv"
    source.write_text("".join(f"id-{i},{line}\n" for i, line in enumerate(lines)))
    target = tmp_path / "in.csv.out"
    stats = score_file(model, source, target, with_id=True, max_payload_bytes=4096)  # ~50 lines a mini-batch
    out = target.read_text().splitlines()
    assert stats == {"records": 2000, "failed": 0}
    parallel = tmp_path / "parallel.out"
    assert score_file(model, source, parallel, with_id=True, max_payload_bytes=4096, workers=2) == stats
    assert parallel.read_text() == target.read_text()
    assert [o.split(",")[0] for o in out] == [f"id-{i}" for i in range(2000)]
    assert out[1234] == f"id-1234,{endpoint_answer(model, lines[1234])},"


def test_main_prints_its_figures(model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = make_churn(20, 2)
    pd.DataFrame(frame.drop(columns="churned")).to_csv(tmp_path / "x.csv", index=False, header=False)
    assert main(["--model-dir", str(model_dir), "--input", str(tmp_path / "x.csv"),
                 "--output", str(tmp_path / "o" / "x.csv.out")]) == 0  # fmt: skip
    assert '"records": 20, "failed": 0' in capsys.readouterr().out
    assert len((tmp_path / "o" / "x.csv.out").read_text().splitlines()) == 20
