"""The pipeline as data: preprocess → train → evaluate → baseline (control plane).

Both backends run this one list. The local backend maps each container path below
`/opt/ml/` into a job folder and starts `python -m <module>`; the SageMaker backend turns
the same list into processing and training steps of a pipeline definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from deploy.config.schema import PipelineConfig

PROCESSING_IN = "/opt/ml/processing/input"
PROCESSING_OUT = "/opt/ml/processing/output"


@dataclass(frozen=True)
class StepInput:
    name: str
    source: str  # "data.raw", "data.schema", or "<step>.<output>"
    container_path: str  # processing: mount path; training: the channel name's folder


@dataclass(frozen=True)
class StepOutput:
    name: str
    container_path: str


@dataclass(frozen=True)
class Step:
    name: str
    kind: Literal["processing", "training"]
    module: str
    inputs: tuple[StepInput, ...]
    outputs: tuple[StepOutput, ...]
    arguments: tuple[str, ...] = ()
    hyperparameters: dict[str, str] = field(default_factory=dict)

    @property
    def entry_point(self) -> str:
        """The script SageMaker runs: `ml/<name>.py` inside the uploaded source."""
        return self.module.replace(".", "/") + ".py"


def hyperparameters(cfg: PipelineConfig, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Training hyperparameters as SageMaker passes them: every value a string."""
    values: dict[str, object] = dict(cfg.training.hyperparameters)
    values.update(overrides or {})
    values["numeric_features"] = ",".join(f.name for f in cfg.features.numeric)
    values["categorical_features"] = ",".join(f.name for f in cfg.features.categorical)
    values["label"] = cfg.features.label
    return {k: _as_text(v) for k, v in sorted(values.items())}


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_steps(cfg: PipelineConfig, overrides: dict[str, str] | None = None) -> list[Step]:
    data = cfg.data
    preprocess = Step(
        name="preprocess",
        kind="processing",
        module="ml.preprocess",
        inputs=(
            StepInput("raw", "data.raw", f"{PROCESSING_IN}/raw"),
            StepInput("schema", "data.schema", f"{PROCESSING_IN}/schema"),
        ),
        outputs=tuple(
            StepOutput(name, f"{PROCESSING_OUT}/{name}") for name in ("train", "validation", "test", "report")
        ),
        arguments=(
            "--input-dir",
            f"{PROCESSING_IN}/raw",
            "--schema",
            f"{PROCESSING_IN}/schema/schema.json",
            "--output-dir",
            PROCESSING_OUT,
            "--validation-fraction",
            str(data.validation_fraction),
            "--test-fraction",
            str(data.test_fraction),
            "--seed",
            str(data.split_seed),
        ),
    )
    train = Step(
        name="train",
        kind="training",
        module="ml.train",
        inputs=(
            StepInput("train", "preprocess.train", "/opt/ml/input/data/train"),
            StepInput("validation", "preprocess.validation", "/opt/ml/input/data/validation"),
        ),
        outputs=(StepOutput("model", "/opt/ml/model"),),
        hyperparameters=hyperparameters(cfg, overrides),
    )
    evaluate = Step(
        name="evaluate",
        kind="processing",
        module="ml.evaluate",
        inputs=(
            StepInput("model", "train.model", f"{PROCESSING_IN}/model"),
            StepInput("test", "preprocess.test", f"{PROCESSING_IN}/test"),
        ),
        outputs=(StepOutput("evaluation", f"{PROCESSING_OUT}/evaluation"),),
        arguments=(
            "--model-dir",
            f"{PROCESSING_IN}/model",
            "--test-dir",
            f"{PROCESSING_IN}/test",
            "--output-dir",
            f"{PROCESSING_OUT}/evaluation",
        ),
    )
    baseline = Step(
        name="baseline",
        kind="processing",
        module="ml.baseline",
        inputs=(
            StepInput("train", "preprocess.train", f"{PROCESSING_IN}/train"),
            StepInput("test", "preprocess.test", f"{PROCESSING_IN}/test"),
            StepInput("model", "train.model", f"{PROCESSING_IN}/model"),
            StepInput("schema", "data.schema", f"{PROCESSING_IN}/schema"),
        ),
        outputs=(StepOutput("baseline", f"{PROCESSING_OUT}/baseline"),),
        arguments=(
            "--train-dir",
            f"{PROCESSING_IN}/train",
            "--test-dir",
            f"{PROCESSING_IN}/test",
            "--model-dir",
            f"{PROCESSING_IN}/model",
            "--schema",
            f"{PROCESSING_IN}/schema/schema.json",
            "--output-dir",
            f"{PROCESSING_OUT}/baseline",
        ),
    )
    return [preprocess, train, evaluate, baseline]
