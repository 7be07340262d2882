"""A manual run's commands: the workflow's `workflow_dispatch` inputs expanded as the runner would (test side)."""

from __future__ import annotations

import pytest

from .evidence import JOBS


def test_a_manual_run_takes_the_inputs_given_and_the_defaults_of_the_others() -> None:
    job = JOBS["batch.yml/batch"]
    (command,) = job.dispatched({"input_uri": "s3://b/batch/in/", "output_uri": "s3://b/batch/out/"})
    assert command.argv == (
        "batch", "--env", "prod", "--backend", "sagemaker", "--input", "s3://b/batch/in/", "--output", "s3://b/batch/out/"
    )  # fmt: skip


def test_an_optional_flag_appears_only_when_its_input_is_given() -> None:
    job = JOBS["batch.yml/batch"]
    given = {"input_uri": "s3://b/i/", "output_uri": "s3://b/o/", "id_column": "customer_id", "environment": "staging"}
    (command,) = job.dispatched(given)
    assert command.argv[-2:] == ("--id-column", "customer_id") and command.argv[2] == "staging"


def test_a_required_input_left_out_or_an_unknown_one_is_refused() -> None:
    job = JOBS["batch.yml/batch"]
    with pytest.raises(AssertionError, match="required input 'output_uri'"):
        job.dispatched({"input_uri": "s3://b/i/"})
    with pytest.raises(AssertionError, match="no dispatch input"):
        job.dispatched({"input_uri": "s3://b/i/", "output_uri": "s3://b/o/", "bucket": "x"})


def test_a_push_leaves_dispatch_inputs_empty() -> None:
    (command,) = JOBS["batch.yml/batch"].commands
    assert command.argv[command.argv.index("--input") + 1] == ""
