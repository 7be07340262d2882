"""The bootstrap CloudFormation template resolved for one account and region (control plane).

CloudFormation's short forms (`!Sub`, `!GetAtt`, ...) are read as their long forms and
every intrinsic function the template uses is evaluated, so IAM policies come out as the
plain JSON documents AWS would store. Only what the template needs is supported; anything
else is a `TemplateError` naming where it was found, never a silently unresolved value.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.nodes import Node, ScalarNode, SequenceNode

TEMPLATE = Path(__file__).with_name("bootstrap.yaml")
NO_VALUE = object()  # AWS::NoValue: the property or list item is dropped


class TemplateError(ValueError):
    """The template uses something this resolver does not understand."""


class _CfnConstructor(SafeConstructor):
    """Reads CloudFormation short forms (!Ref, !Sub, ...) as their long forms."""


def _short_form(constructor: SafeConstructor, tag_suffix: str, node: Node) -> dict[str, Any]:
    if isinstance(node, ScalarNode):
        value: Any = constructor.construct_scalar(node)
    elif isinstance(node, SequenceNode):
        value = constructor.construct_sequence(node, deep=True)
    else:
        value = constructor.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnConstructor.add_multi_constructor("!", _short_form)


_parsed: dict[str, dict[str, Any]] = {}  # by text: the bootstrap commands read the template several times


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as data, intrinsic functions in their long form (the caller's own copy)."""
    text = path.read_text(encoding="utf-8")
    if text not in _parsed:
        reader = YAML(typ="safe", pure=True)
        reader.Constructor = _CfnConstructor
        _parsed.clear()  # only the newest text is kept
        _parsed[text] = reader.load(text)
    return copy.deepcopy(_parsed[text])


@dataclass(frozen=True)
class Target:
    """Where the stack is deployed: account, region and parameter values."""

    account: str = "123456789012"
    region: str = "eu-west-1"
    parameters: dict[str, str] = field(default_factory=dict)
    partition: str = "aws"
    stack_name: str = "mlops-github-bootstrap"


class Resolver:
    """Evaluates the intrinsic functions of one template for one `Target`."""

    def __init__(self, template: dict[str, Any], target: Target) -> None:
        self.template = template
        self.target = target
        self.resources: dict[str, Any] = template.get("Resources", {})
        self.parameters = self._parameters()
        self.conditions = {
            name: self.value(c, f"Conditions.{name}") for name, c in template.get("Conditions", {}).items()
        }

    def _parameters(self) -> dict[str, str]:
        declared = self.template.get("Parameters", {})
        unknown = set(self.target.parameters) - set(declared)
        if unknown:
            raise TemplateError(f"unknown parameters: {', '.join(sorted(unknown))}")
        values = {}
        for name, spec in declared.items():
            value = self.target.parameters.get(name, spec.get("Default"))
            if value is None:
                raise TemplateError(f"Parameters.{name}: no value and no default")
            pattern = spec.get("AllowedPattern")
            if pattern and not re.fullmatch(pattern, str(value)):
                raise TemplateError(f"Parameters.{name}: {value!r} does not match {pattern}")
            values[name] = str(value)
        return values

    def value(self, node: Any, where: str) -> Any:
        """`node` with every intrinsic function evaluated."""
        if isinstance(node, list):
            items = [self.value(item, f"{where}[{i}]") for i, item in enumerate(node)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, argument),) = node.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._function(key, argument, where)
        resolved = {k: self.value(v, f"{where}.{k}") for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _function(self, key: str, argument: Any, where: str) -> Any:
        handlers = {
            "Ref": self.ref,
            "Condition": lambda name, _where: self.conditions[name],
            "Fn::GetAtt": self.get_att,
            "Fn::Sub": self.sub,
            "Fn::If": self._if,
            "Fn::Equals": lambda a, w: self.value(a[0], w) == self.value(a[1], w),
            "Fn::Not": lambda a, w: not self.value(a[0], w),
            "Fn::And": lambda a, w: all(self.value(x, w) for x in a),
            "Fn::Or": lambda a, w: any(self.value(x, w) for x in a),
            "Fn::Select": lambda a, w: self.value(a[1], w)[int(self.value(a[0], w))],
            "Fn::Split": lambda a, w: self.value(a[1], w).split(a[0]),
            "Fn::Join": lambda a, w: a[0].join(self.value(a[1], w)),
        }
        if key not in handlers:
            raise TemplateError(f"{where}: {key} is not supported")
        return handlers[key](argument, where)

    def _if(self, argument: list[Any], where: str) -> Any:
        name, then, otherwise = argument
        if name not in self.conditions:
            raise TemplateError(f"{where}: unknown condition {name}")
        return self.value(then if self.conditions[name] else otherwise, where)

    def ref(self, name: str, where: str) -> Any:
        pseudo = {
            "AWS::AccountId": self.target.account,
            "AWS::Region": self.target.region,
            "AWS::Partition": self.target.partition,
            "AWS::StackName": self.target.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self._resource_ref(name, where)
        raise TemplateError(f"{where}: Ref to unknown name {name}")

    def _resource_ref(self, name: str, where: str) -> str:
        resource = self.resources[name]
        props = resource.get("Properties", {})
        kind, arn = resource["Type"], self.arn_prefix
        refs = {
            "AWS::IAM::Role": lambda: self.value(props["RoleName"], where),
            "AWS::IAM::ManagedPolicy": lambda: f"{arn('iam', '')}policy/{self._managed_policy_name(name, props)}",
            "AWS::S3::Bucket": lambda: self.value(props["BucketName"], where),
            "AWS::IAM::OIDCProvider": lambda: (
                f"{arn('iam', '')}oidc-provider/{self.value(props['Url'], where).removeprefix('https://')}"
            ),
            "AWS::SageMaker::ModelPackageGroup": lambda: self.get_att([name, "ModelPackageGroupArn"], where),
            # A topic's Ref is its ARN.
            "AWS::SNS::Topic": lambda: f"{arn('sns', self.target.region)}{self.value(props['TopicName'], where)}",
        }
        if kind not in refs:
            raise TemplateError(f"{where}: Ref to a {kind} is not supported")
        return refs[kind]()

    def _managed_policy_name(self, name: str, props: dict[str, Any]) -> str:
        # Without ManagedPolicyName CloudFormation generates <stack>-<logical id>-<random>.
        given = props.get("ManagedPolicyName")
        return self.value(given, name) if given else f"{self.target.stack_name}-{name}"

    def arn_prefix(self, service: str, region: str | None = None) -> str:
        return f"arn:{self.target.partition}:{service}:{'' if region is None else region}:{self.target.account}:"

    def get_att(self, argument: list[str], where: str) -> str:
        name, attribute = argument
        if name not in self.resources:
            raise TemplateError(f"{where}: GetAtt of unknown resource {name}")
        resource = self.resources[name]
        props = resource.get("Properties", {})
        kind = (resource["Type"], attribute)
        if kind == ("AWS::IAM::Role", "Arn"):
            path = props.get("Path", "/")
            return f"{self.arn_prefix('iam', '')}role{path}{self.value(props['RoleName'], where)}"
        if kind == ("AWS::S3::Bucket", "Arn"):
            return f"arn:{self.target.partition}:s3:::{self.value(props['BucketName'], where)}"
        if kind == ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupArn"):
            group = self.value(props["ModelPackageGroupName"], where)
            return f"{self.arn_prefix('sagemaker', self.target.region)}model-package-group/{group.lower()}"
        raise TemplateError(f"{where}: GetAtt {name}.{attribute} is not supported")

    def sub(self, argument: Any, where: str) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        bound = {k: self.value(v, where) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in bound:
                return str(bound[inner])
            if "." in inner and not inner.startswith("AWS::"):
                return self.get_att(inner.split(".", 1), where)
            return str(self.ref(inner, where))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


def resolve(template: dict[str, Any], target: Target) -> dict[str, Any]:
    """Every resource whose condition holds, its properties fully resolved."""
    resolver = Resolver(template, target)
    resolved = {}
    for name, resource in template.get("Resources", {}).items():
        condition = resource.get("Condition")
        if condition and not resolver.conditions[condition]:
            continue
        resolved[name] = {**resource, "Properties": resolver.value(resource.get("Properties", {}), name)}
    return resolved


def outputs(template: dict[str, Any], target: Target) -> dict[str, Any]:
    """The stack's outputs for `target`, resolved."""
    resolver = Resolver(template, target)
    return {name: resolver.value(o["Value"], f"Outputs.{name}") for name, o in template.get("Outputs", {}).items()}
