"""The one-time AWS bootstrap template: who may assume what, and the bucket's guard rails."""

import json

import pytest

OIDC = "token.actions.githubusercontent.com"
DEPLOY_ROLES = {"StagingDeployRole": "staging", "ProductionDeployRole": "production"}


def trust_condition(role: dict) -> dict:
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    return statement["Condition"]["StringEquals"]


def workflow_ref(parameter: str, ref: str = "refs/heads/main") -> dict:
    return {"Fn::Sub": f"${{GitHubOwner}}/${{GitHubRepo}}/.github/workflows/${{{parameter}}}@{ref}"}


def statements(resources: dict):
    """Every IAM statement in the template, inline or managed, with its resource id."""
    for name, resource in resources.items():
        props = resource["Properties"]
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                yield name, statement


def actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


@pytest.mark.parametrize(("role", "environment"), DEPLOY_ROLES.items())
def test_each_deploy_role_trusts_only_its_github_environment(resources, role, environment):
    condition = trust_condition(resources[role])
    assert condition[f"{OIDC}:aud"] == "sts.amazonaws.com"
    assert condition[f"{OIDC}:sub"] == {"Fn::Sub": f"repo:${{GitHubOwner}}/${{GitHubRepo}}:environment:{environment}"}
    assert condition[f"{OIDC}:repository_id"] == {"Ref": "GitHubRepositoryId"}
    assert condition[f"{OIDC}:job_workflow_ref"] == workflow_ref("DeployWorkflow")
    assert "StringLike" not in resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]


def test_training_role_trusts_its_workflow_on_main_only(resources):
    condition = trust_condition(resources["TrainingRole"])
    assert condition[f"{OIDC}:aud"] == "sts.amazonaws.com"
    assert condition[f"{OIDC}:sub"] == {"Fn::Sub": "repo:${GitHubOwner}/${GitHubRepo}:ref:refs/heads/main"}
    assert condition[f"{OIDC}:repository_id"] == {"Ref": "GitHubRepositoryId"}
    assert condition[f"{OIDC}:job_workflow_ref"] == workflow_ref("TrainingWorkflow")


def test_batch_role_trusts_its_workflow_on_main_only(resources):
    condition = trust_condition(resources["BatchRole"])
    assert condition[f"{OIDC}:aud"] == "sts.amazonaws.com"
    assert condition[f"{OIDC}:sub"] == {"Fn::Sub": "repo:${GitHubOwner}/${GitHubRepo}:ref:refs/heads/main"}
    assert condition[f"{OIDC}:repository_id"] == {"Ref": "GitHubRepositoryId"}
    assert condition[f"{OIDC}:job_workflow_ref"] == workflow_ref("BatchWorkflow")
    (statement,) = resources["BatchRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert "StringLike" not in statement["Condition"]


def test_monitor_role_trusts_its_workflow_on_main_only(resources):
    condition = trust_condition(resources["MonitorRole"])
    assert condition[f"{OIDC}:aud"] == "sts.amazonaws.com"
    assert condition[f"{OIDC}:sub"] == {"Fn::Sub": "repo:${GitHubOwner}/${GitHubRepo}:ref:refs/heads/main"}
    assert condition[f"{OIDC}:repository_id"] == {"Ref": "GitHubRepositoryId"}
    assert condition[f"{OIDC}:job_workflow_ref"] == workflow_ref("MonitorWorkflow")
    (statement,) = resources["MonitorRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert "StringLike" not in statement["Condition"]


def test_monitor_metrics_are_confined_to_their_namespace(resources):
    (policy,) = resources["MonitorRole"]["Properties"]["Policies"]
    (metrics,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Action"] == "cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "MLOps/Monitor"}}


def test_plan_role_trusts_its_workflows_and_is_read_only(resources):
    condition = trust_condition(resources["PlanRole"])
    assert condition[f"{OIDC}:sub"] == [
        {"Fn::Sub": "repo:${GitHubOwner}/${GitHubRepo}:pull_request"},
        {"Fn::Sub": "repo:${GitHubOwner}/${GitHubRepo}:ref:refs/heads/main"},
    ]
    assert condition[f"{OIDC}:repository_id"] == {"Ref": "GitHubRepositoryId"}
    (statement,) = resources["PlanRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"]["StringLike"] == {
        f"{OIDC}:job_workflow_ref": [workflow_ref("PlanWorkflow", "*"), workflow_ref("DriftWorkflow")]
    }
    props = resources["PlanRole"]["Properties"]
    assert "Policies" not in props
    assert props["ManagedPolicyArns"] == [{"Ref": "EndpointReadPolicy"}, {"Ref": "PriceListReadPolicy"}]
    read_only = ("Describe", "List", "Get", "Filter")
    for name, statement in statements(resources):
        if name in ("EndpointReadPolicy", "PriceListReadPolicy"):
            for action in actions(statement):
                assert action.split(":")[1].startswith(read_only), action


def test_github_roles_federate_with_the_oidc_provider(resources):
    for role in (*DEPLOY_ROLES, "TrainingRole", "BatchRole", "MonitorRole", "PlanRole"):
        (statement,) = resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        federated = statement["Principal"]["Federated"]
        assert federated == {
            "Fn::If": ["CreateOidcProvider", {"Ref": "GitHubOidcProvider"}, {"Ref": "ExistingOidcProviderArn"}]
        }


def test_pass_role_is_only_to_sagemaker(resources):
    passing = [(n, s) for n, s in statements(resources) if "iam:PassRole" in actions(s)]
    assert passing
    for name, statement in passing:
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}, name
        assert statement["Resource"] in (
            {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]},
            {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${ProjectName}-sagemaker-execution"},
        ), name


def test_no_wildcard_actions_and_no_write_on_star_except_reasoned(resources):
    for name, statement in statements(resources):
        for action in actions(statement):
            assert "*" not in action.split(":")[1], (name, action)
        if statement.get("Resource") == "*" and statement["Effect"] == "Allow":
            # Only actions with no resource type, or read-only calls, or autoscaling.
            for action in actions(statement):
                service, verb = action.split(":")
                assert verb.startswith(("Describe", "List", "Get")) or service in (
                    "application-autoscaling",
                    "ecr",
                    "cloudwatch",
                ), (name, action)


def test_sagemaker_write_actions_are_scoped_to_the_project(resources):
    for name, statement in statements(resources):
        writes = [
            a
            for a in actions(statement)
            if a.startswith("sagemaker:") and not a.split(":")[1].startswith(("Describe", "List"))
        ]
        if writes and name != "SageMakerExecutionRole":
            for resource in (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            ):
                assert "${ProjectName}" in resource["Fn::Sub"], (name, resource)


def test_alarm_permissions_are_scoped(resources):
    alarms = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
    for name, statement in statements(resources):
        granted = set(actions(statement))
        if statement.get("Sid") == "ReadAlarmsAndScaling":
            continue  # read-only, and an unfiltered listing is not limited by alarm ARNs
        if {"cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"} & granted:
            assert statement["Resource"] in (
                {"Fn::Sub": alarms + "${ProjectName}-*"},
                {"Fn::Sub": alarms + "TargetTracking-endpoint/${ProjectName}-*"},  # autoscaling's own alarms
            ), name


def test_artifacts_bucket_is_encrypted_versioned_and_private(resources):
    props = resources["ArtifactsBucket"]["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert resources["ArtifactsBucket"]["DeletionPolicy"] == "Retain"


def test_artifacts_bucket_refuses_plain_http(resources):
    (statement,) = resources["ArtifactsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_s3_access_is_limited_to_the_artifacts_bucket(resources):
    for name, statement in statements(resources):
        if any(a.startswith("s3:") for a in actions(statement)):
            assert "ArtifactsBucket" in json.dumps(statement["Resource"]), name


def test_model_package_group_and_no_static_credentials(resources):
    assert resources["ModelPackageGroup"]["Type"] == "AWS::SageMaker::ModelPackageGroup"
    types = {r["Type"] for r in resources.values()}
    assert not types & {"AWS::IAM::User", "AWS::IAM::AccessKey"}


def test_parameters_and_outputs(template):
    assert set(template["Parameters"]) == {
        "GitHubOwner",
        "GitHubRepo",
        "GitHubRepositoryId",
        "ProjectName",
        "ExistingOidcProviderArn",
        "TrainingWorkflow",
        "DeployWorkflow",
        "PlanWorkflow",
        "DriftWorkflow",
        "BatchWorkflow",
        "MonitorWorkflow",
        "BudgetMonthlyLimitUsd",
        "BudgetAlertEmail",
        "AlertEmail",
    }
    assert template["Parameters"]["ExistingOidcProviderArn"]["Default"] == ""
    assert {
        "Region",
        "StagingDeployRoleArn",
        "ProductionDeployRoleArn",
        "TrainingRoleArn",
        "PlanRoleArn",
        "BatchRoleArn",
        "MonitorRoleArn",
        "SageMakerExecutionRoleArn",
        "ArtifactsBucketName",
        "ModelPackageGroupName",
        "OidcProviderArn",
    } <= set(template["Outputs"])
