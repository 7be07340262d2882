"""batch.yml: dispatched by hand with typed inputs, a transform-only role, inputs kept out of the script."""

from pathlib import Path

import workflow_gates as gates

WORKFLOW = Path(__file__).resolve().parents[3] / ".github" / "workflows" / "batch.yml"


def load() -> dict:
    return gates.load_yaml(WORKFLOW)


def test_batch_is_dispatch_only_with_typed_inputs():
    triggers = load()["on"]
    assert list(triggers) == ["workflow_dispatch"]
    inputs = triggers["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["type"] == "choice" and set(inputs["environment"]["options"]) == {"prod", "staging"}
    assert {name: spec["type"] for name, spec in inputs.items()} == {
        "environment": "choice", "input_uri": "string", "output_uri": "string", "id_column": "string",
    }  # fmt: skip
    assert inputs["input_uri"]["required"] and inputs["output_uri"]["required"]


def test_batch_runs_from_main_with_the_batch_role_for_the_whole_job():
    job = load()["jobs"]["batch"]
    assert job["if"] == "github.ref == 'refs/heads/main'"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    (credentials,) = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_BATCH_ROLE_ARN }}"
    assert credentials["with"]["role-duration-seconds"] >= job["timeout-minutes"] * 60
    assert load()["concurrency"] == {"group": "batch-${{ inputs.environment }}", "cancel-in-progress": False}


def test_batch_passes_inputs_through_env_and_calls_one_command():
    job = load()["jobs"]["batch"]
    (step,) = [s for s in job["steps"] if "run" in s]
    assert step["run"].startswith('mlops batch --env "$ENVIRONMENT" --backend sagemaker --input "$INPUT_URI"')
    assert "${{" not in step["run"]
    assert step["env"] == {
        "ENVIRONMENT": "${{ inputs.environment }}", "INPUT_URI": "${{ inputs.input_uri }}",
        "OUTPUT_URI": "${{ inputs.output_uri }}", "ID_COLUMN": "${{ inputs.id_column }}",
    }  # fmt: skip
    assert gates.check_github_dir(WORKFLOW.parents[1]) == []
