"""Schema validation: every problem named by column and 1-based data row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.schema import DEFAULT_SCHEMA, DataValidationError, Schema, SchemaError, load_schema, validate

SMALL = {
    "label": "churned",
    "numeric": [{"name": "tenure_months", "min": 0, "max": 120}, {"name": "monthly_charges"}],
    "categorical": [{"name": "contract", "values": ["month-to-month", "one-year", "two-year"]}],
    "max_null_fraction": 0.2,
}


def _frame(rows: int = 20) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tenure_months": np.arange(rows) % 100,
            "monthly_charges": np.linspace(20, 90, rows),
            "contract": ["month-to-month", "one-year"] * (rows // 2),
            "churned": [0, 1] * (rows // 2),
        }
    )


def _problems(frame: pd.DataFrame, schema: dict = SMALL) -> list[str]:
    with pytest.raises(DataValidationError) as caught:
        validate(frame, schema)
    return caught.value.problems


def test_valid_frame_passes() -> None:
    validate(_frame(), SMALL)


def test_out_of_range_names_column_and_rows() -> None:
    frame = _frame()
    frame.loc[[16, 3], "tenure_months"] = [500, -1]
    assert _problems(frame) == ["column 'tenure_months': 2 values out of range [0, 120] at rows 4, 17"]


def test_non_numeric_values_show_an_example() -> None:
    frame = _frame().astype({"monthly_charges": object})
    frame.loc[[4, 8], "monthly_charges"] = ["abc", "12,5"]
    (problem,) = _problems(frame)
    assert problem == "column 'monthly_charges': 2 non-numeric values at rows 5, 9 (e.g. 'abc')"


def test_missing_column() -> None:
    assert _problems(_frame().drop(columns="contract")) == ["missing column 'contract'"]


def test_label_not_binary_lists_values_and_rows() -> None:
    frame = _frame()
    frame.loc[[2, 7], "churned"] = 2
    (problem,) = _problems(frame)
    assert problem == "column 'churned' (label): not binary, found values [0, 1, 2] at rows 3, 8"


def test_label_must_have_no_nulls() -> None:
    frame = _frame().astype({"churned": float})
    frame.loc[5, "churned"] = np.nan
    assert _problems(frame) == ["column 'churned' (label): 1 nulls at row 6"]


def test_label_needs_both_classes() -> None:
    frame = _frame().assign(churned=0)
    assert "only one class" in _problems(frame)[0]


def test_null_fraction_limit() -> None:
    frame = _frame(100).astype({"monthly_charges": float})
    frame.loc[:40, "monthly_charges"] = np.nan
    assert _problems(frame) == ["column 'monthly_charges': 41% nulls exceeds max_null_fraction 0.2"]


def test_unknown_categories() -> None:
    frame = _frame()
    frame.loc[[0, 1], "contract"] = ["monthly", "weekly"]
    (problem,) = _problems(frame)
    assert problem.startswith("column 'contract': 2 unknown values ['monthly', 'weekly'] at rows 1, 2")


def test_many_rows_are_capped_and_counted() -> None:
    frame = _frame(40)
    frame.loc[10:39, "tenure_months"] = 999
    (problem,) = _problems(frame)
    assert problem.endswith("at rows 11, 12, 13, 14, 15 and 25 more")


def test_all_problems_are_reported_together() -> None:
    frame = _frame().drop(columns="contract")
    frame.loc[0, "tenure_months"] = 121
    frame.loc[1, "churned"] = 5
    with pytest.raises(DataValidationError) as caught:
        validate(frame, SMALL)
    assert len(caught.value.problems) == 3
    assert str(caught.value).startswith("missing column 'contract'; column 'tenure_months'")


def test_row_numbers_ignore_the_frame_index() -> None:
    frame = _frame().set_axis(range(100, 120))
    frame.loc[100, "tenure_months"] = -5
    assert _problems(frame)[0].endswith("at row 1")


def test_empty_frame() -> None:
    assert _problems(_frame().iloc[:0]) == ["no data rows"]


def test_schema_round_trips_through_json(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(DEFAULT_SCHEMA.to_dict()))
    assert load_schema(path) == DEFAULT_SCHEMA


@pytest.mark.parametrize(
    "bad",
    [{}, {"label": "y", "numeric": [{"nam": "x"}]}, {"label": "x", "numeric": [{"name": "x"}]}, {"label": "y"}],
)
def test_malformed_schema(bad: dict) -> None:
    with pytest.raises(SchemaError):
        Schema.from_dict(bad)


def test_unknown_columns_are_named_not_dropped_silently() -> None:
    frame = _frame().assign(customer_id=range(20), notes="x")
    (problem,) = _problems(frame)
    assert problem.startswith("unknown columns 'customer_id', 'notes': not a feature or the label")
    assert "features.ignore_columns" in problem


def test_ignore_columns_is_the_explicit_way_to_drop_a_column() -> None:
    validate(_frame().assign(customer_id=range(20)), {**SMALL, "ignore_columns": ["customer_id"]})
    with pytest.raises(SchemaError):
        Schema.from_dict({**SMALL, "ignore_columns": ["contract"]})  # a feature cannot also be ignored


def test_training_on_a_subset_of_the_columns_may_pass_extra_columns() -> None:
    validate(_frame().assign(customer_id=range(20)), SMALL, extra_columns=True)


def test_repeated_column_names_are_refused() -> None:
    frame = _frame()
    frame = pd.concat([frame, frame[["contract"]]], axis=1)
    assert "column 'contract' appears more than once" in _problems(frame)


@pytest.mark.parametrize("value", [np.inf, -np.inf, "inf", "-Infinity"])
def test_infinite_numbers_are_a_data_error_naming_column_and_rows(value) -> None:
    frame = _frame().astype({"monthly_charges": object})
    frame.loc[[4, 11], "monthly_charges"] = [value, value]
    assert _problems(frame) == ["column 'monthly_charges': 2 infinite values at rows 5, 12"]
