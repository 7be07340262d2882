"""IAM requests a call implies beyond its own action, for the caller or another principal (test side).

A small, documented mapping of what AWS checks besides the action named after the call:

- tags on create: a SageMaker Create* call with `Tags` also needs `sagemaker:AddTags` on the
  new resource; `PutMetricAlarm` with `Tags` needs `cloudwatch:TagResource`.
- registering a version: CreateModelPackage into a group is authorised on the group and on
  the new version's ARN (`model-package/<group>/<n>`), both resource types the reference lists.
- passing a role: `RoleArn`/`ExecutionRoleArn` needs `iam:PassRole` on it, passed to SageMaker.
- Application Auto Scaling acts with its caller's permissions: registering a SageMaker variant
  needs `sagemaker:DescribeEndpoint`, `sagemaker:UpdateEndpointWeightsAndCapacities` and the
  service-linked role; a target-tracking policy creates and deletes its CloudWatch alarms
  (`TargetTracking-<resource id>-AlarmHigh|AlarmLow-<uuid>`) as the caller.
- the endpoint's execution role: during a deployment with `AutoRollbackConfiguration`
  SageMaker reads the alarms with it; while serving it pulls the image, reads the model data
  and the code, writes logs, metrics and data capture.
- a transform job's model role: Batch Transform pulls the image and reads the model data
  with the execution role, lists and reads every input object, writes `<object>.out`
  under the output prefix, and writes logs (`/aws/sagemaker/TransformJobs`) and metrics.
- a processing job's role (the monitor's job): SageMaker pulls the image, reads each input
  (for a manifest, the manifest and every file it lists), writes the outputs, and the
  container writes logs (`/aws/sagemaker/ProcessingJobs`) and metrics.
- the pipeline's role: SageMaker Pipelines starts, describes and (when the execution is
  stopped) stops each step's job
  (`pipelines-<execution>-<step>-<suffix>`) with it, passes it to the job, and the job pulls
  its image, reads its inputs and writes its outputs, logs and metrics with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Protocol

from deploy.bootstrap.template import Target

from .actions import Need, tag_context
from .recorder import Call

SAGEMAKER = "sagemaker.amazonaws.com"
AAS_SAGEMAKER = "sagemaker.application-autoscaling.amazonaws.com"
SAMPLE_UUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


class Lookup(Protocol):
    """What the world can say about resources after the job ran (never recorded)."""

    def pipeline(self, name: str) -> dict[str, Any]: ...
    def execution(self, arn: str) -> dict[str, Any]: ...
    def endpoint_config(self, name: str) -> dict[str, Any]: ...
    def model(self, name: str) -> dict[str, Any]: ...
    def package(self, arn: str) -> dict[str, Any]: ...
    def objects(self, uri: str) -> list[str]: ...
    def text(self, uri: str) -> str: ...


class Implied:
    def __init__(self, target: Target, lookup: Lookup) -> None:
        self.target = target
        self.lookup = lookup

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        where = self.target.region if region else ""
        return f"arn:{self.target.partition}:{service}:{where}:{self.target.account}:{resource}"

    def needs(self, call: Call) -> Iterator[Need]:
        why = f"{call.service}.{call.operation}"
        yield from self.tags_on_create(call, why)
        yield from self.pass_role(call, why)
        if (call.service, call.operation) == (
            "sagemaker",
            "CreateModelPackage",
        ) and "ModelPackageGroupName" in call.params:
            version = self.arn("sagemaker", f"model-package/{call.params['ModelPackageGroupName']}/1")
            yield Need("caller", "sagemaker:CreateModelPackage", version, (), f"{why}: the new version")
        if call.service == "application-autoscaling":
            yield from self.autoscaling(call, why)
        if (call.service, call.operation) in (("sagemaker", "CreateEndpoint"), ("sagemaker", "UpdateEndpoint")):
            yield from self.endpoint_role(call, why)
        if (call.service, call.operation) == ("sagemaker", "CreateTransformJob"):
            yield from self.transform_role(call, why)
        if (call.service, call.operation) == ("sagemaker", "CreateProcessingJob"):
            yield from self.processing_role(call, why)
        if (call.service, call.operation) == ("sagemaker", "StartPipelineExecution"):
            yield from self.pipeline_role(call, why)
        if (call.service, call.operation) == ("sagemaker", "StopPipelineExecution"):
            yield from self.stopping(call, why)

    def tags_on_create(self, call: Call, why: str) -> Iterator[Need]:
        tags = call.params.get("Tags")
        if not tags:
            return
        context = tag_context(tags)
        if call.service == "sagemaker" and call.operation.startswith("Create"):
            kind = re.sub(r"(?<!^)(?=[A-Z])", "-", call.operation.removeprefix("Create")).lower()
            name = call.params.get(f"{call.operation.removeprefix('Create')}Name")
            if name:
                yield Need(
                    "caller", "sagemaker:AddTags", self.arn("sagemaker", f"{kind}/{name}"), context, f"{why} with Tags"
                )
        if (call.service, call.operation) == ("cloudwatch", "PutMetricAlarm"):
            alarm = self.arn("cloudwatch", f"alarm:{call.params['AlarmName']}")
            yield Need("caller", "cloudwatch:TagResource", alarm, context, f"{why} with Tags")

    def pass_role(self, call: Call, why: str) -> Iterator[Need]:
        for key in ("RoleArn", "ExecutionRoleArn"):
            role = call.params.get(key)
            if role:
                yield Need("caller", "iam:PassRole", role, (("iam:PassedToService", (SAGEMAKER,)),), f"{why} {key}")

    def autoscaling(self, call: Call, why: str) -> Iterator[Need]:
        resource_id = call.params.get("ResourceId", "")
        if call.params.get("ServiceNamespace") != "sagemaker" or not resource_id.startswith("endpoint/"):
            return
        endpoint = self.arn("sagemaker", f"endpoint/{resource_id.split('/')[1]}")
        alarms = [
            self.arn("cloudwatch", f"alarm:TargetTracking-{resource_id}-Alarm{k}-{SAMPLE_UUID}")
            for k in ("High", "Low")
        ]
        if call.operation == "RegisterScalableTarget":
            because = f"{why}: Application Auto Scaling checks the caller"
            yield Need("caller", "sagemaker:DescribeEndpoint", endpoint, (), because)
            yield Need("caller", "sagemaker:UpdateEndpointWeightsAndCapacities", endpoint, (), because)
            slr = f"role/aws-service-role/{AAS_SAGEMAKER}/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
            context = (("iam:AWSServiceName", (AAS_SAGEMAKER,)),)
            yield Need("caller", "iam:CreateServiceLinkedRole", self.arn("iam", slr, region=False), context, because)
        verbs = {
            "PutScalingPolicy": ("PutMetricAlarm", "DescribeAlarms"),
            "DeleteScalingPolicy": ("DeleteAlarms", "DescribeAlarms"),
            "DeregisterScalableTarget": ("DeleteAlarms", "DescribeAlarms"),
        }.get(call.operation, ())
        for verb in verbs:
            for alarm in alarms:
                yield Need(
                    "caller", f"cloudwatch:{verb}", alarm, (), f"{why}: its target-tracking alarms, as the caller"
                )

    def endpoint_role(self, call: Call, why: str) -> Iterator[Need]:
        config = self.lookup.endpoint_config(call.params["EndpointConfigName"])
        endpoint = call.params["EndpointName"]
        for variant in config["ProductionVariants"]:
            model = self.lookup.model(variant["ModelName"])
            role = model["ExecutionRoleArn"]
            rollback = call.params.get("DeploymentConfig", {}).get("AutoRollbackConfiguration", {})
            for alarm in rollback.get("Alarms", []):
                arn = self.arn("cloudwatch", f"alarm:{alarm['AlarmName']}")
                yield Need(
                    role,
                    "cloudwatch:DescribeAlarms",
                    arn,
                    (),
                    f"{why}: SageMaker reads rollback alarms as the execution role",
                )
            because = f"{why}: serving {variant['ModelName']} as the execution role"
            for container in model.get("Containers") or [model["PrimaryContainer"]]:
                yield from self.container(role, container, because)
            yield from self.job_side(
                role, f"/aws/sagemaker/Endpoints/{endpoint}", f"{variant['VariantName']}/i-0123456789abcdef0", because
            )
        capture = config.get("DataCaptureConfig")
        if capture and capture.get("EnableCapture", True):
            for variant in config["ProductionVariants"]:
                role = self.lookup.model(variant["ModelName"])["ExecutionRoleArn"]
                where = f"{endpoint}/{variant['VariantName']}/2026/01/01/00/capture.jsonl"
                key = f"{capture['DestinationS3Uri'].rstrip('/')}/{where}"
                yield from self.s3(role, "s3:PutObject", key, f"{why}: data capture as the execution role")

    def transform_role(self, call: Call, why: str) -> Iterator[Need]:
        model = self.lookup.model(call.params["ModelName"])
        role = model["ExecutionRoleArn"]
        because = f"{why}: Batch Transform runs {call.params['ModelName']} as the execution role"
        for container in model.get("Containers") or [model["PrimaryContainer"]]:
            yield from self.container(role, container, because)
        source = call.params["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, _, prefix = source.removeprefix("s3://").partition("/")
        yield Need(role, "s3:ListBucket", f"arn:{self.target.partition}:s3:::{bucket}", (), because)
        target = call.params["TransformOutput"]["S3OutputPath"].rstrip("/")
        for uri in self.lookup.objects(source):
            yield from self.s3(role, "s3:GetObject", uri, because)
            relative = uri.removeprefix(f"s3://{bucket}/")[prefix.rfind("/") + 1 :]
            yield from self.s3(role, "s3:PutObject", f"{target}/{relative}.out", because)
        stream = f"{call.params['TransformJobName']}/i-0123456789abcdef0-1767225600"
        yield from self.job_side(role, "/aws/sagemaker/TransformJobs", stream, because)

    def processing_role(self, call: Call, why: str) -> Iterator[Need]:
        role, name = call.params["RoleArn"], call.params["ProcessingJobName"]
        because = f"{why}: the job {name} runs as the execution role"
        yield from self.image(role, call.params["AppSpecification"]["ImageUri"], because)
        for item in call.params.get("ProcessingInputs", []):
            source = item["S3Input"]
            bucket = source["S3Uri"].removeprefix("s3://").split("/")[0]
            yield Need(role, "s3:ListBucket", f"arn:{self.target.partition}:s3:::{bucket}", (), because)
            yield from self.s3(role, "s3:GetObject", source["S3Uri"], because)
            if source["S3DataType"] == "ManifestFile":
                prefix, *keys = json.loads(self.lookup.text(source["S3Uri"]))
                for key in keys:
                    yield from self.s3(role, "s3:GetObject", f"{prefix['prefix']}{key}", because)
        for output in call.params["ProcessingOutputConfig"]["Outputs"]:
            yield from self.s3(role, "s3:PutObject", f"{output['S3Output']['S3Uri'].rstrip('/')}/*", because)
        yield from self.job_side(role, "/aws/sagemaker/ProcessingJobs", f"{name}/algo-1-1767225600", because)

    def container(self, role: str, container: dict[str, Any], because: str) -> Iterator[Need]:
        if "ModelPackageName" in container:
            package = self.lookup.package(container["ModelPackageName"])
            for inner in package["InferenceSpecification"]["Containers"]:
                yield from self.container(role, inner, because)
            return
        yield from self.image(role, container["Image"], because)
        if container.get("ModelDataUrl"):
            yield from self.s3(role, "s3:GetObject", container["ModelDataUrl"], because)
        code = container.get("Environment", {}).get("SAGEMAKER_SUBMIT_DIRECTORY", "")
        if code.startswith("s3://"):
            yield from self.s3(role, "s3:GetObject", code, because)

    def image(self, role: str, uri: str, because: str) -> Iterator[Need]:
        registry, _, rest = uri.partition("/")
        account, _, _, region, *_ = registry.split(".")
        repository = rest.split(":")[0].split("@")[0]
        arn = f"arn:{self.target.partition}:ecr:{region}:{account}:repository/{repository}"
        for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"):
            yield Need(role, action, arn, (), because)
        yield Need(role, "ecr:GetAuthorizationToken", "*", (), because)

    def s3(self, role: str, action: str, uri: str, because: str) -> Iterator[Need]:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        yield Need(role, action, f"arn:{self.target.partition}:s3:::{bucket}/{key}", (), because)

    def job_side(self, role: str, group: str, stream: str, because: str) -> Iterator[Need]:
        """What every SageMaker container does with its role: logs and metrics."""
        log_group = self.arn("logs", f"log-group:{group}")
        for action in ("logs:CreateLogGroup", "logs:DescribeLogStreams"):
            yield Need(role, action, log_group, (), because)
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            yield Need(role, action, f"{log_group}:log-stream:{stream}", (), because)
        namespace = group if not group.startswith("/aws/sagemaker/Endpoints") else "/aws/sagemaker/Endpoints"
        yield Need(role, "cloudwatch:PutMetricData", "*", (("cloudwatch:namespace", (namespace,)),), because)

    def pipeline_role(self, call: Call, why: str) -> Iterator[Need]:
        from .pipeline_steps import step_needs

        pipeline = self.lookup.pipeline(call.params["PipelineName"])
        role = pipeline["RoleArn"]
        definition = json.loads(pipeline["PipelineDefinition"])
        parameters = {p["Name"]: p["Value"] for p in call.params.get("PipelineParameters", [])}
        yield from step_needs(
            self, role, definition, parameters, f"{why}: SageMaker Pipelines runs the steps as {role}"
        )

    def stopping(self, call: Call, why: str) -> Iterator[Need]:
        from .pipeline_steps import STEP_KINDS, job_name

        name = call.params["PipelineExecutionArn"].split(":pipeline/", 1)[1].split("/", 1)[0]
        pipeline = self.lookup.pipeline(name)
        role = pipeline["RoleArn"]
        for step in json.loads(pipeline["PipelineDefinition"])["Steps"]:
            kind = STEP_KINDS[step["Type"]]
            verb = "Training" if step["Type"] == "Training" else "Processing"
            job = self.arn("sagemaker", f"{kind}/{job_name(step['Name'])}")
            yield Need(role, f"sagemaker:Stop{verb}Job", job, (), f"{why}: SageMaker stops the running step as {role}")
