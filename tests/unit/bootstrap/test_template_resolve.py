"""deploy.bootstrap.template and roles: the template's intrinsic functions resolved for one account."""

import pytest

from deploy.bootstrap.roles import roles
from deploy.bootstrap.template import Resolver, Target, TemplateError, load, outputs

PARAMETERS = {"GitHubOwner": "acme", "GitHubRepo": "churn", "GitHubRepositoryId": "42", "ProjectName": "churn"}
TARGET = Target(account="111122223333", region="us-east-2", parameters=PARAMETERS, stack_name="s")


def test_outputs_resolve_for_the_target():
    resolved = outputs(load(), TARGET)
    assert resolved["TrainingRoleArn"] == "arn:aws:iam::111122223333:role/churn-github-training"
    assert resolved["ArtifactsBucketName"] == "churn-artifacts-111122223333-us-east-2"
    assert resolved["ModelPackageGroupName"] == "churn-classifier"
    assert resolved["OidcProviderArn"] == (
        "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    )


def test_an_existing_oidc_provider_is_used_when_given():
    arn = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    target = Target(account="111122223333", parameters={**PARAMETERS, "ExistingOidcProviderArn": arn})
    assert outputs(load(), target)["OidcProviderArn"] == arn
    trust = roles(target)["TrainingRole"].trust[0]
    assert trust["Principal"] == {"Federated": arn}


def test_role_trust_is_resolved_with_workflow_and_repository():
    trust = roles(TARGET)["TrainingRole"].trust[0]["Condition"]["StringEquals"]
    assert trust["token.actions.githubusercontent.com:job_workflow_ref"] == (
        "acme/churn/.github/workflows/train.yml@refs/heads/main"
    )
    assert trust["token.actions.githubusercontent.com:repository_id"] == "42"


def test_managed_policies_are_attached_with_their_statements():
    plan = roles(TARGET)["PlanRole"]
    assert {s.policy for s in plan.statements} == {"EndpointReadPolicy", "PriceListReadPolicy"}
    (read,) = [s for s in plan.statements if s.sid == "ReadEndpoints"]
    assert "arn:aws:sagemaker:us-east-2:111122223333:endpoint/churn-*" in read.resources()


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({**PARAMETERS, "ProjectName": "Bad_Name"}, "Parameters.ProjectName"),
        ({k: v for k, v in PARAMETERS.items() if k != "GitHubOwner"}, "Parameters.GitHubOwner: no value"),
        ({**PARAMETERS, "Unknown": "x"}, "unknown parameters: Unknown"),
    ],
)
def test_bad_parameters_are_named(parameters, message):
    with pytest.raises(TemplateError, match=message):
        outputs(load(), Target(parameters=parameters))


def test_unknown_functions_and_names_are_errors_not_silence():
    resolver = Resolver(load(), TARGET)
    with pytest.raises(TemplateError, match="Fn::Base64 is not supported"):
        resolver.value({"Fn::Base64": "x"}, "here")
    with pytest.raises(TemplateError, match="Ref to unknown name Nope"):
        resolver.value({"Ref": "Nope"}, "here")
    assert resolver.value({"Fn::Sub": "${!Literal}-${AWS::Region}"}, "here") == "${Literal}-us-east-2"
