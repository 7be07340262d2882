"""What starts each workflow and which gates stand between a merge and prod."""

from pathlib import Path

import workflow_gates as gates

WORKFLOWS = Path(__file__).resolve().parents[3] / ".github" / "workflows"


def load(name: str) -> dict:
    return gates.load_yaml(WORKFLOWS / name)


def step_using(job: dict, action: str) -> dict:
    (step,) = [s for s in job["steps"] if s.get("uses", "").startswith(action + "@")]
    return step


def run_lines(job: dict) -> list[str]:
    return [s["run"] for s in job["steps"] if "run" in s]


# --- deploy.yml --------------------------------------------------------------


def test_deploy_triggers_only_on_the_two_config_files():
    on = gates.triggers(load("deploy.yml"))
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"]["branches"] == ["main"]
    assert sorted(on["push"]["paths"]) == ["config/prod.yaml", "config/staging.yaml"]
    assert "paths-ignore" not in on["push"]


def test_staging_runs_in_the_staging_environment_and_never_cancels():
    staging = load("deploy.yml")["jobs"]["staging"]
    assert staging["environment"] == "staging"
    assert staging["if"].startswith("github.ref == 'refs/heads/main' && ")
    assert staging["concurrency"] == {"group": "deploy-staging", "cancel-in-progress": False, "queue": "max"}
    assert "needs" not in staging


def test_prod_needs_staging_and_the_production_environment():
    prod = load("deploy.yml")["jobs"]["prod"]
    assert prod["needs"] in ("staging", ["staging"])
    assert prod["environment"] == "production"
    assert prod["concurrency"] == {"group": "deploy-prod", "cancel-in-progress": False, "queue": "max"}


def test_deploy_jobs_plan_then_deploy_with_traffic_and_smoke():
    jobs = {j: job for j, job in load("deploy.yml")["jobs"].items() if j != "bootstrap"}
    staging = [line.split()[:2] for line in run_lines(jobs["staging"])]
    prod = [line.split()[:2] for line in run_lines(jobs["prod"])]
    assert staging == [["mlops", "plan"], ["mlops", "deploy"], ["mlops", "smoke"]]
    assert prod == [["mlops", "plan"], ["mlops", "deploy"], ["mlops", "smoke"]]
    for job in jobs.values():
        # the rollback alarms judge the new fleet only if it gets requests while it bakes
        assert "--traffic golden" in next(line for line in run_lines(job) if line.startswith("mlops deploy"))
    for job_id, env in (("staging", "staging"), ("prod", "prod")):
        for line in run_lines(jobs[job_id]):
            assert f"--env {env}" in line and "--backend sagemaker" in line
    for job in jobs.values():
        # `mlops plan` appends its markdown to the job summary itself; the plan runs first.
        assert "--format markdown" in run_lines(job)[0]


def test_deploy_assumes_the_environment_role_for_the_whole_bake():
    for job_id, job in load("deploy.yml")["jobs"].items():
        if job_id == "bootstrap":
            continue
        aws = step_using(job, gates.AWS_CREDENTIALS_ACTION)["with"]
        assert aws["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
        assert aws["role-duration-seconds"] >= 7200
        assert job["timeout-minutes"] * 60 <= aws["role-duration-seconds"]
        assert job["permissions"]["id-token"] == "write"


# --- train.yml ---------------------------------------------------------------


def test_train_triggers_on_model_code_pipeline_config_and_dispatch():
    on = gates.triggers(load("train.yml"))
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"]["branches"] == ["main"]
    assert sorted(on["push"]["paths"]) == ["config/pipeline.yaml", "ml/**"]


def test_train_dispatch_inputs_are_typed_and_empty_means_as_configured():
    inputs = gates.triggers(load("train.yml"))["workflow_dispatch"]["inputs"]
    assert {name: spec["type"] for name, spec in inputs.items()} == {
        "data_uri": "string",
        "hyperparameters": "string",
        "instance_type": "string",
        "spot": "choice",
    }
    assert all(inputs[name]["default"] == "" for name in ("data_uri", "hyperparameters", "instance_type"))
    assert inputs["spot"]["options"] == ["as-configured", "spot", "on-demand"]
    assert inputs["spot"]["default"] == "as-configured"


def test_train_passes_inputs_through_env_only():
    job = load("train.yml")["jobs"]["train"]
    (train,) = [s for s in job["steps"] if "mlops pipeline run" in s.get("run", "")]
    assert set(train["env"]) == {"DATA_URI", "HYPERPARAMETERS", "INSTANCE_TYPE", "SPOT_FLAG"}
    assert "--backend sagemaker" in train["run"]
    assert "inputs." not in train["run"]
    # as-configured adds no flag at all, so config/pipeline.yaml decides.
    spot = train["env"]["SPOT_FLAG"]
    assert "inputs.spot == 'spot' && '--spot'" in spot and "inputs.spot == 'on-demand' && '--no-spot'" in spot
    assert spot.endswith("|| '' }}")


def test_train_tests_then_trains_then_promotes_then_opens_the_pr():
    jobs = load("train.yml")["jobs"]
    assert any("pytest" in line for line in run_lines(jobs["test"]))
    assert jobs["train"]["needs"] in ("test", ["test"])
    assert jobs["pull-request"]["needs"] in ("train", ["train"])
    order = [s.get("run", s.get("uses", "")).split("@")[0] for s in jobs["train"]["steps"]]
    run_at = next(i for i, s in enumerate(order) if "mlops pipeline run" in s)
    promote_at = next(i for i, s in enumerate(order) if s.startswith("mlops promote"))
    upload_at = order.index("actions/upload-artifact")
    assert run_at < promote_at < upload_at
    steps = [s.get("uses", "").split("@")[0] for s in jobs["pull-request"]["steps"]]
    assert steps.index("actions/download-artifact") < steps.index("peter-evans/create-pull-request")


def test_promotion_pr_uses_the_promote_outputs_and_an_app_token_when_configured():
    jobs = load("train.yml")["jobs"]
    train, job = jobs["train"], jobs["pull-request"]
    for name in ("promoted", "branch", "title", "body-file"):
        assert train["outputs"][name] == f"${{{{ steps.promote.outputs.{name} }}}}"
    assert job["if"] == "needs.train.outputs.promoted == 'true'"
    pr = step_using(job, "peter-evans/create-pull-request")
    assert pr["with"]["branch"] == "${{ needs.train.outputs.branch }}"
    assert pr["with"]["title"] == "${{ needs.train.outputs.title }}"
    assert pr["with"]["body-path"] == "${{ needs.train.outputs.body-file }}"
    assert pr["with"]["token"] == "${{ steps.app-token.outputs.token || github.token }}"
    app = step_using(job, "actions/create-github-app-token")
    assert "vars.PROMOTION_APP_CLIENT_ID != ''" in app["if"]
    assert app["with"]["client-id"] == "${{ vars.PROMOTION_APP_CLIENT_ID }}"
    assert app["with"]["private-key"] == "${{ secrets.PROMOTION_APP_PRIVATE_KEY }}"
    # The artifact carries exactly the pins and the body the training job wrote.
    upload = step_using(train, "actions/upload-artifact")["with"]
    assert upload["path"].split() == [
        "config/staging.yaml",
        "config/prod.yaml",
        "${{",
        "steps.promote.outputs.body-file",
        "}}",
    ]
    assert step_using(job, "actions/download-artifact")["with"]["name"] == upload["name"]


def test_train_assumes_the_training_role_without_an_environment():
    job = load("train.yml")["jobs"]["train"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    aws = step_using(job, gates.AWS_CREDENTIALS_ACTION)["with"]
    assert aws["role-to-assume"] == "${{ vars.AWS_TRAINING_ROLE_ARN }}"
    # The training role trusts ref:refs/heads/main; an environment would change the sub.
    assert "environment" not in job
    assert job["timeout-minutes"] * 60 <= aws["role-duration-seconds"]


# --- ci.yml and drift.yml ----------------------------------------------------


def test_ci_ok_needs_every_other_job_and_fails_on_failure_cancel_or_an_unlisted_skip():
    jobs = load("ci.yml")["jobs"]
    ok = jobs["ci-ok"]
    assert ok["if"] == "always()"
    assert sorted(ok["needs"]) == sorted(set(jobs) - {"ci-ok"})
    failed, skipped = ok["steps"]
    assert "contains(needs.*.result, 'failure')" in failed["if"]
    assert "contains(needs.*.result, 'cancelled')" in failed["if"]
    must_succeed = {job for job in ok["needs"] if f"needs.{job}.result != 'success'" in skipped["if"]}
    assert set(ok["needs"]) - must_succeed == {"changes", "plan"}
    assert "changes and plan" in skipped["name"]
    assert failed["run"].strip() == skipped["run"].strip() == "exit 1"


def test_ci_runs_on_pull_requests_the_merge_queue_and_main():
    on = gates.triggers(load("ci.yml"))
    assert set(on) == {"pull_request", "merge_group", "push"}
    assert on["push"]["branches"] == ["main"]


def test_only_the_plan_job_may_write_to_pull_requests():
    jobs = load("ci.yml")["jobs"]
    writers = [j for j, job in jobs.items() if job["permissions"].get("pull-requests") == "write"]
    assert writers == ["plan"]


def test_plan_runs_on_config_prs_only_when_the_plan_role_exists():
    plan = load("ci.yml")["jobs"]["plan"]
    assert "vars.AWS_PLAN_ROLE_ARN != ''" in plan["if"]
    assert "needs.changes.outputs.config == 'true'" in plan["if"]
    assert plan["strategy"]["matrix"]["env"] == ["staging", "prod"]
    filters = step_using(load("ci.yml")["jobs"]["changes"], "dorny/paths-filter")["with"]["filters"]
    assert "config/staging.yaml" in filters and "config/prod.yaml" in filters
    (line,) = run_lines(plan)
    assert line.startswith("mlops plan") and "--format markdown" in line and "test $? -eq 10" in line


def test_actionlint_download_is_checksum_verified():
    job = load("ci.yml")["jobs"]["actionlint"]
    assert len(job["env"]["ACTIONLINT_SHA256"]) == 64
    int(job["env"]["ACTIONLINT_SHA256"], 16)
    assert any("sha256sum --check" in line for line in run_lines(job))


def test_drift_runs_daily_over_both_environments_and_reports_drift_as_an_issue():
    doc = load("drift.yml")
    on = gates.triggers(doc)
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert len(on["schedule"][0]["cron"].split()) == 5
    job = doc["jobs"]["plan"]
    assert job["strategy"]["matrix"]["env"] == ["staging", "prod"]
    plan, issue = run_lines(job)
    # Exit 10 (drift) passes the step and is reported below; any other exit fails the job.
    assert plan.startswith("mlops plan") and plan.endswith("|| test $? -eq 10")
    assert issue.startswith("mlops issue report") and "--label drift" in issue
    assert job["concurrency"] == {"group": "deploy-${{ matrix.env }}", "cancel-in-progress": False, "queue": "max"}
