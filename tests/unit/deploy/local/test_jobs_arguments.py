"""The local backend builds training arguments with the SageMaker training toolkit's rule."""

from __future__ import annotations

from deploy.local.jobs import hyperparameter_args
from ml.train import parse_args


def test_one_letter_names_get_a_single_dash() -> None:
    assert hyperparameter_args({"C": "1.0", "max_iter": "200"}) == ["-C", "1.0", "--max_iter", "200"]


def test_the_training_script_accepts_what_the_local_backend_builds() -> None:
    args = parse_args(hyperparameter_args({"C": "0.25", "max_iter": "30", "algorithm": "logistic_regression"}))
    assert (args.C, args.max_iter, args.algorithm) == (0.25, 30, "logistic_regression")
