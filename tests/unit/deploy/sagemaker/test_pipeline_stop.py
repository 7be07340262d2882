"""A cancelled or timed-out train job stops the pipeline executions its run started (Stubber).

moto has no StopPipelineExecution, so the calls go through `botocore.stub.Stubber` on a real
client: every request is validated against the full SageMaker service model.
"""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber

from deploy.cli.app import main
from deploy.sagemaker.stop import run_marker, stop_executions

from .conftest import REGION

PIPELINE = "churn-training"
ARN = f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/execution/"


def summary(execution: str, status: str, description: str) -> dict:
    return {
        "PipelineExecutionArn": ARN + execution,
        "StartTime": datetime(2026, 12, 1, tzinfo=UTC),
        "PipelineExecutionStatus": status,
        "PipelineExecutionDescription": description,
    }


LISTING = {
    "PipelineExecutionSummaries": [
        summary("ours1234", "Executing", "commit abc run 42"),
        summary("other123", "Executing", "commit abc run 420"),
        summary("done1234", "Succeeded", "commit abc run 42"),
        summary("manual12", "Executing", "commit abc"),
    ]
}
LIST_PARAMS = {"PipelineName": PIPELINE, "SortBy": "CreationTime", "SortOrder": "Descending"}


@pytest.fixture
def client(aws_env):
    return boto3.client("sagemaker", region_name=REGION)


def test_only_this_runs_executing_execution_is_stopped(client) -> None:
    with Stubber(client) as stub:
        stub.add_response("list_pipeline_executions", LISTING, LIST_PARAMS)
        stub.add_response(
            "stop_pipeline_execution",
            {"PipelineExecutionArn": ARN + "ours1234"},
            {"PipelineExecutionArn": ARN + "ours1234", "ClientRequestToken": ANY},
        )
        assert stop_executions(client, PIPELINE, "run 42") == [ARN + "ours1234"]
        stub.assert_no_pending_responses()


def test_all_stops_every_executing_one(client) -> None:
    with Stubber(client) as stub:
        stub.add_response("list_pipeline_executions", LISTING, LIST_PARAMS)
        for execution in ("ours1234", "other123", "manual12"):
            stub.add_response(
                "stop_pipeline_execution",
                {"PipelineExecutionArn": ARN + execution},
                {"PipelineExecutionArn": ARN + execution, "ClientRequestToken": ANY},
            )
        assert len(stop_executions(client, PIPELINE, None)) == 3
        stub.assert_no_pending_responses()


def test_the_marker_comes_from_the_actions_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    assert run_marker() == "run 42"
    monkeypatch.delenv("GITHUB_RUN_ID")
    assert run_marker() == ""


def test_outside_actions_the_cli_asks_for_all(repo_copy, monkeypatch, capsys) -> None:
    monkeypatch.delenv("GITHUB_RUN_ID", raising=False)
    assert main(["pipeline", "stop", "--backend", "local"]) == 0
    assert "pass --all" in capsys.readouterr().err
    # Local runs end with the command that started them: nothing is left to stop.
    assert main(["pipeline", "stop", "--backend", "local", "--all"]) == 0
    assert "0 execution(s) of churn-training stopped" in capsys.readouterr().err


def test_a_ci_run_tags_its_execution_and_outputs_the_version_it_registered(
    sm_repo, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from .test_pipeline import seed_outputs, use_runner

    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    use_runner(monkeypatch)
    seed_outputs()
    assert main(["pipeline", "run", "--backend", "sagemaker", "--data", "data.csv"]) == 0
    assert output.read_text(encoding="utf-8").splitlines() == ["version=1"]
    sm = boto3.client("sagemaker", region_name=REGION)
    (execution,) = sm.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]
    described = sm.describe_pipeline_execution(PipelineExecutionArn=execution["PipelineExecutionArn"])
    assert described["PipelineExecutionDescription"].endswith(" run 42")
