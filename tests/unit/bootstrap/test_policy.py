"""deploy.bootstrap.policy: IAM's evaluation rules for identity policies, case by case."""

import pytest

from deploy.bootstrap.policy import PolicyError, Request, action_matches, arn_matches, evaluate

ENDPOINT = "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/churn-prod"
ROLE = "arn:aws:iam::123456789012:role/churn-sagemaker-execution"


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def decide(statements, action, resource=ENDPOINT, **context):
    return evaluate(statements, Request(action, resource, context)).allowed


def test_nothing_granted_is_an_implicit_deny():
    decision = evaluate([], Request("sagemaker:DescribeEndpoint", ENDPOINT))
    assert not decision.allowed and decision.reason == "no statement allows it"


def test_an_explicit_deny_wins_over_any_allow():
    statements = [
        {**allow("sagemaker:*"), "Sid": "All"},
        {"Sid": "NoUpdates", "Effect": "Deny", "Action": "sagemaker:Update*", "Resource": "*"},
    ]
    assert decide(statements, "sagemaker:DescribeEndpoint")
    decision = evaluate(statements, Request("sagemaker:UpdateEndpoint", ENDPOINT))
    assert not decision.allowed and decision.reason == "denied by NoUpdates"


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpoint", True),
        ("sagemaker:describeendpoint", "sagemaker:DescribeEndpoint", True),  # actions ignore case
        ("sagemaker:Describe*", "sagemaker:DescribeEndpointConfig", True),
        ("sagemaker:Describe?ndpoint", "sagemaker:DescribeEndpoint", True),
        ("sagemaker:Describe*", "sagemaker:ListEndpoints", False),
        ("s3:*", "sagemaker:DescribeEndpoint", False),
        ("sagemaker:Describe[E]ndpoint", "sagemaker:DescribeEndpoint", False),  # no character classes
    ],
)
def test_action_wildcards(pattern, action, matches):
    assert action_matches(pattern, action) is matches


@pytest.mark.parametrize(
    ("pattern", "arn", "matches"),
    [
        ("*", ENDPOINT, True),
        ("arn:aws:sagemaker:eu-west-1:123456789012:endpoint/churn-*", ENDPOINT, True),
        ("arn:aws:sagemaker:eu-west-1:123456789012:endpoint/CHURN-*", ENDPOINT, False),  # ARNs keep case
        ("arn:aws:sagemaker:*:123456789012:endpoint/churn-prod", ENDPOINT, True),
        ("arn:aws:sagemaker:eu-west-1:210987654321:endpoint/*", ENDPOINT, False),
        ("arn:aws:sagemaker:eu-west-1:123456789012:endpoint-config/churn-*", ENDPOINT, False),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c.json", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", False),
        (
            "arn:aws:logs:eu-west-1:1:log-group:/aws/sagemaker/*",
            "arn:aws:logs:eu-west-1:1:log-group:/aws/sagemaker/X:log-stream:s",
            True,
        ),
        ("arn:aws:ecr:eu-west-1:*:repository/sklearn", "arn:aws:ecr:eu-west-1:141502667606:repository/sklearn", True),
    ],
)
def test_resource_wildcards(pattern, arn, matches):
    assert arn_matches(pattern, arn) is matches


def test_not_action_allows_everything_else():
    statements = [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]
    assert decide(statements, "sagemaker:DescribeEndpoint")
    assert not decide(statements, "iam:PassRole", ROLE)


def test_not_resource_excludes_the_named_resources():
    statements = [{"Effect": "Allow", "Action": "sagemaker:*", "NotResource": "arn:aws:sagemaker:*:*:endpoint/*-prod"}]
    assert not decide(statements, "sagemaker:UpdateEndpoint")
    assert decide(statements, "sagemaker:UpdateEndpoint", ENDPOINT.replace("prod", "staging"))


def test_pass_role_only_to_the_named_service():
    statements = [
        allow("iam:PassRole", ROLE, Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})
    ]
    assert decide(statements, "iam:PassRole", ROLE, **{"iam:PassedToService": "sagemaker.amazonaws.com"})
    assert not decide(statements, "iam:PassRole", ROLE, **{"iam:PassedToService": "lambda.amazonaws.com"})
    assert not decide(statements, "iam:PassRole", ROLE)  # a missing key does not satisfy StringEquals


def test_request_and_resource_tags():
    tagged = allow("sagemaker:AddTags", Condition={"StringEquals": {"aws:RequestTag/mlops:env": ["staging", "prod"]}})
    assert decide([tagged], "sagemaker:AddTags", **{"aws:RequestTag/mlops:env": "prod"})
    assert not decide([tagged], "sagemaker:AddTags", **{"aws:RequestTag/mlops:env": "dev"})
    # Condition key names ignore case; values do not.
    assert decide([tagged], "sagemaker:AddTags", **{"AWS:RequestTag/mlops:env": "prod"})
    owned = allow("sagemaker:UpdateEndpoint", Condition={"StringLike": {"aws:ResourceTag/team": "ml-*"}})
    assert decide([owned], "sagemaker:UpdateEndpoint", **{"aws:ResourceTag/team": "ml-platform"})
    assert not decide([owned], "sagemaker:UpdateEndpoint")


def test_negated_operators_hold_when_the_key_is_missing():
    statements = [allow("sagemaker:CreateModel", Condition={"StringNotEquals": {"aws:RequestTag/env": "prod"}})]
    assert decide(statements, "sagemaker:CreateModel")
    assert not decide(statements, "sagemaker:CreateModel", **{"aws:RequestTag/env": "prod"})


def test_if_exists_and_null():
    if_exists = allow("cloudwatch:PutMetricData", Condition={"StringLikeIfExists": {"cloudwatch:namespace": "/aws/*"}})
    assert decide([if_exists], "cloudwatch:PutMetricData")
    assert not decide([if_exists], "cloudwatch:PutMetricData", **{"cloudwatch:namespace": "Custom"})
    untagged = allow("sagemaker:CreateModel", Condition={"Null": {"aws:RequestTag/env": "true"}})
    assert decide([untagged], "sagemaker:CreateModel")
    assert not decide([untagged], "sagemaker:CreateModel", **{"aws:RequestTag/env": "x"})


def test_set_operators_on_multivalued_keys():
    any_value = allow("sagemaker:AddTags", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}})
    all_values = allow("sagemaker:AddTags", Condition={"ForAllValues:StringLike": {"aws:TagKeys": ["mlops:*"]}})
    assert decide([any_value], "sagemaker:AddTags", **{"aws:TagKeys": ["owner", "env"]})
    assert not decide([any_value], "sagemaker:AddTags", **{"aws:TagKeys": ["owner"]})
    assert decide([all_values], "sagemaker:AddTags", **{"aws:TagKeys": ["mlops:env", "mlops:endpoint"]})
    assert not decide([all_values], "sagemaker:AddTags", **{"aws:TagKeys": ["mlops:env", "owner"]})


def test_every_condition_must_hold():
    statements = [
        allow(
            "iam:CreateServiceLinkedRole",
            Condition={
                "StringEquals": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"},
                "Bool": {"aws:SecureTransport": "true"},
            },
        )
    ]
    good = {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com", "aws:SecureTransport": "true"}
    assert decide(statements, "iam:CreateServiceLinkedRole", ROLE, **good)
    assert not decide(statements, "iam:CreateServiceLinkedRole", ROLE, **{**good, "aws:SecureTransport": "false"})


def test_unsupported_operators_and_malformed_statements_are_errors():
    with pytest.raises(PolicyError, match="NumericLessThan"):
        decide(
            [allow("s3:GetObject", Condition={"NumericLessThan": {"s3:max-keys": "10"}})],
            "s3:GetObject",
            **{"s3:max-keys": "5"},
        )
    with pytest.raises(PolicyError, match="exactly one of Action and NotAction"):
        decide([{"Effect": "Allow", "Resource": "*"}], "s3:GetObject")
