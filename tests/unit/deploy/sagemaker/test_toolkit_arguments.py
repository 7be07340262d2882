"""The training script accepts the command line the real SageMaker training toolkit builds."""

from __future__ import annotations

import json

from sagemaker_training.mapping import to_cmd_args

from ml.train import parse_args
from tests.unit.deploy.sagemaker.test_definition import GOLDEN


def test_toolkit_command_line_from_the_definitions_hyperparameters_parses() -> None:
    steps = json.loads(GOLDEN.read_text())["Steps"]
    sent = next(s for s in steps if s["Type"] == "Training")["Arguments"]["HyperParameters"]
    user = {k: json.loads(v) for k, v in sent.items() if not k.startswith("sagemaker_")}
    args = parse_args(to_cmd_args(user))
    assert args.C == 1.0 and args.max_iter == 200 and args.algorithm == "logistic_regression"
