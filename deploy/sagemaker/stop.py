"""Stop pipeline executions that nobody is waiting for any more (control plane, SageMaker side).

When the GitHub job that follows an execution is cancelled or times out, the execution keeps
running (and billing) and may register a model later that the next run would pick up. Each
execution's description names the workflow run that started it (`run <GITHUB_RUN_ID>`), so
the job's cleanup step stops exactly its own executions and leaves other runs' alone.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

RUNNING = ("Executing",)


def run_marker() -> str:
    """The tag a CI run leaves in its executions' descriptions; empty outside GitHub Actions."""
    run = os.environ.get("GITHUB_RUN_ID")
    return f"run {run}" if run else ""


def executing(client: Any, pipeline_name: str, marker: str | None) -> list[str]:
    """ARNs of running executions of `pipeline_name` (only those naming `marker` when it is set)."""
    found: list[str] = []
    for page in client.get_paginator("list_pipeline_executions").paginate(
        PipelineName=pipeline_name, SortBy="CreationTime", SortOrder="Descending"
    ):
        for item in page["PipelineExecutionSummaries"]:
            if item["PipelineExecutionStatus"] not in RUNNING:
                continue
            described = item.get("PipelineExecutionDescription") or ""
            if marker and not re.search(rf"(^|\s){re.escape(marker)}(\s|$)", described):
                continue
            found.append(item["PipelineExecutionArn"])
    return found


def stop_executions(client: Any, pipeline_name: str, marker: str | None) -> list[str]:
    """Ask SageMaker to stop each running execution that matches; returns their ARNs."""
    arns = executing(client, pipeline_name, marker)
    for arn in arns:
        client.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken=str(uuid.uuid4()))
    return arns
