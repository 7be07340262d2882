"""The SageMaker endpoint adapter: plan, blue/green deploy with auto-rollback, and invoke (control plane).

`describe` reads the endpoint, its config and that config's tags, the endpoint's policy tag,
the managed CloudWatch alarms and the variant's autoscaling, and reports them in the
`LiveState` shape `mlops plan` compares with git. `deploy` puts the standing alarms first,
creates the model and endpoint config under deterministic names, then CreateEndpoint, or
UpdateEndpoint with the `DeploymentConfig` built from the policy and judged by alarms on the
new fleet alone (`deploy.sagemaker.guard`), follows it to the end (`deploy.sagemaker.rollout`),
sets autoscaling, records the policy and prunes superseded configs and models. A change of
alarms, policy or autoscaling alone moves no traffic. `invoke` is safe to call from the
threads of `mlops deploy --traffic`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from botocore.exceptions import ClientError

from deploy.config.schema import Autoscaling, EnvironmentConfig, PipelineConfig
from deploy.endpoints import DeployOutcome, DeployReporter, DesiredState, EndpointBackend, Invocation, LiveState
from deploy.endpoints.client import EndpointClient, exchange
from deploy.errors import DeployError
from deploy.registry import ModelVersion, Registry
from deploy.sagemaker import resources as res
from deploy.sagemaker.alarms import RollbackAlarms
from deploy.sagemaker.autoscaling import VariantScaling
from deploy.sagemaker.catalog import Catalog, Resources
from deploy.sagemaker.dashboard import Dashboard
from deploy.sagemaker.deployment_config import follow_timeout_seconds, update_request, update_summary
from deploy.sagemaker.guard import UpdateGuard, error_text
from deploy.sagemaker.monitor_alarms import MonitorAlarms, alerts_topic
from deploy.sagemaker.retention import Retention
from deploy.sagemaker.rollout import Rollout, Serving, StillDeploying, Target, check_ready
from deploy.sagemaker.s3 import ArtifactBucket, S3Uri
from deploy.sagemaker.session import SETUP_CODES, translated
from deploy.sagemaker.settings import Settings
from deploy.sagemaker.teardown import SageMakerTeardown


class SageMakerEndpoints(EndpointBackend):
    replay_while_judged = True  # the follow loop's snapshots say when the new fleet is judged

    def __init__(
        self,
        session: Any,
        pipeline: PipelineConfig,
        registry: Registry | None = None,
        *,
        poll_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session  # anything with .client(service_name), e.g. `AwsSession`
        self.pipeline = pipeline
        self.registry = registry  # the pinned model arrives resolved in `DesiredState`
        self.poll_seconds = pipeline.sagemaker.poll_seconds if poll_seconds is None else poll_seconds
        self.sleep = sleep
        self.clock = clock
        self._runtime_lock = threading.Lock()

    @cached_property
    def settings(self) -> Settings:
        return Settings.resolve(self.pipeline.sagemaker)

    @cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.sagemaker, self.settings)

    @property
    def sagemaker(self) -> Any:
        return self.session.client("sagemaker")

    def label(self, version: int | None) -> str:
        group = self.pipeline.registry.model_package_group
        return f"{group} v{version}" if version is not None else "a model not deployed by mlops"

    # ------------------------------------------------------------------ plan

    @translated
    def describe(self, env: str, cfg: EnvironmentConfig) -> LiveState | None:
        try:
            return self._describe(env, cfg)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in SETUP_CODES:
                raise
            raise DeployError(f"{env}: reading endpoint '{cfg.endpoint.name}' failed: {error_text(exc)}") from None

    def _describe(self, env: str, cfg: EnvironmentConfig) -> LiveState | None:
        endpoint = self.catalog.find(self.sagemaker.describe_endpoint, EndpointName=cfg.endpoint.name)
        if endpoint is None:
            return None
        return LiveState(
            endpoint_name=cfg.endpoint.name,
            status=endpoint["EndpointStatus"],
            **self.catalog.live_config(endpoint, cfg),
            deployment=res.decode_policy(self.catalog.tags(endpoint["EndpointArn"]).get(res.TAG_POLICY)),
            alarms=RollbackAlarms(self.session.client("cloudwatch"), env, cfg).read(),
            monitoring_alarms=MonitorAlarms(self.session.client("cloudwatch"), env, cfg).read(),
            dashboard=Dashboard(self.session.client("cloudwatch"), cfg).read(endpoint["EndpointArn"]),
            autoscaling=self._scaling(cfg).read(cfg.endpoint.autoscaling),
            config_name=endpoint["EndpointConfigName"],
            failure_reason=endpoint.get("FailureReason"),
        )

    # ------------------------------------------------------------------ deploy

    @translated
    def deploy(self, desired: DesiredState, live: LiveState | None, reporter: DeployReporter) -> DeployOutcome:
        try:
            return self._deploy(desired, live, reporter)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in SETUP_CODES:
                raise
            raise DeployError(
                f"{desired.env}: deploy to endpoint '{desired.config.endpoint.name}' failed: {error_text(exc)}"
            ) from None

    def _deploy(self, desired: DesiredState, live: LiveState | None, reporter: DeployReporter) -> DeployOutcome:
        cfg, env = desired.config, desired.env
        if live is not None:
            check_ready(env, live)
        alarms = RollbackAlarms(self.session.client("cloudwatch"), env, cfg)
        removed = alarms.apply()
        reporter.event(
            f"alarms as code: {', '.join(a.name for a in cfg.alarms) or 'none'}"
            + (f"; deleted {', '.join(removed)}" if removed else "")
        )
        self._monitor_alarms(env, cfg, reporter)
        plan = self.catalog.plan(desired)
        if live is None:
            described = self._create(desired, plan, reporter)
            summary = f"{env}: created endpoint '{cfg.endpoint.name}' with {desired.model.label} ('{plan.config_name}')"
        elif live.config_name != plan.config_name:
            described = self._update(desired, live, plan, reporter, alarms)
            summary = (
                f"{env}: {desired.model.label} serves endpoint '{cfg.endpoint.name}' ('{plan.config_name}', "
                f"{cfg.deployment.strategy}), replacing {self.label(live.model_version)}"
            )
        else:
            described = self.sagemaker.describe_endpoint(EndpointName=cfg.endpoint.name)
            summary = f"{env}: {desired.model.label} already serving; updated the configuration, no traffic shift"
        return self._finish(desired, live, plan, described, reporter, summary)

    def _monitor_alarms(self, env: str, cfg: EnvironmentConfig, reporter: DeployReporter) -> None:
        topic = alerts_topic()
        removed = MonitorAlarms(self.session.client("cloudwatch"), env, cfg).apply(topic)
        if cfg.monitoring.alarms or removed:
            reporter.event(
                f"monitoring alarms as code: {', '.join(a.name for a in cfg.monitoring.alarms) or 'none'}"
                + (f", notifying {topic}" if topic and cfg.monitoring.alarms else "")
                + (f"; deleted {', '.join(removed)}" if removed else "")
            )

    def _finish(
        self,
        desired: DesiredState,
        live: LiveState | None,
        plan: Resources,
        described: dict[str, Any],
        reporter: DeployReporter,
        summary: str,
    ) -> DeployOutcome:
        cfg = desired.config
        scaled = self._scaling(cfg).apply(cfg.endpoint.autoscaling)
        if scaled:
            reporter.event(scaled)
        policy = {**plan.tags, res.TAG_POLICY: res.encode_policy(cfg.deployment)}
        self.sagemaker.add_tags(ResourceArn=described["EndpointArn"], Tags=res.tag_list(policy))
        dashboard = Dashboard(self.session.client("cloudwatch"), cfg).apply(described["EndpointArn"])
        if dashboard:
            reporter.event(dashboard)
        previous = live.config_name if live else None
        pruned = Retention(self.sagemaker, cfg.endpoint.name, cfg.endpoint.keep_previous).prune(
            plan.config_name, previous
        )
        if pruned:
            reporter.event(f"removed superseded {', '.join(pruned)} (keeping {cfg.endpoint.keep_previous} previous)")
        details = {
            "endpoint": cfg.endpoint.name,
            "endpoint_config": plan.config_name,
            "model": plan.model_name,
            "previous_config": previous,
            "pruned": pruned,
        }
        return DeployOutcome(summary, details)

    def _create(self, desired: DesiredState, plan: Resources, reporter: DeployReporter) -> dict[str, Any]:
        cfg = desired.config
        self.catalog.ensure(desired, plan, reporter)
        tags = {**plan.tags, res.TAG_POLICY: res.encode_policy(cfg.deployment)}
        self.sagemaker.create_endpoint(
            EndpointName=cfg.endpoint.name, EndpointConfigName=plan.config_name, Tags=res.tag_list(tags)
        )
        reporter.event(f"CreateEndpoint '{cfg.endpoint.name}' (new endpoints take 5–30 min)")
        target = self._target(desired, plan, creating=True, baseline=None)
        return self._rollout(desired, reporter).follow(target, Serving())

    def _update(
        self,
        desired: DesiredState,
        live: LiveState,
        plan: Resources,
        reporter: DeployReporter,
        alarms: RollbackAlarms,
    ) -> dict[str, Any]:
        cfg = desired.config
        self.catalog.ensure(desired, plan, reporter)
        scaling = self._scaling(cfg)
        fleet = self._serving_instances(cfg)
        unscaled = live.instance_type != res.variant_sizing(cfg.endpoint).get("InstanceType") and scaling.deregister()
        if unscaled:
            reporter.event("autoscaling deregistered: SageMaker cannot change the sizing of a scaled variant")
        try:
            return self._guarded_update(desired, live, plan, reporter, alarms, fleet)
        except DeployError:
            if unscaled and live.autoscaling and live.autoscaling.get("enabled"):
                self._restore_scaling(scaling, live.autoscaling, reporter)
            raise

    def _guarded_update(
        self,
        desired: DesiredState,
        live: LiveState,
        plan: Resources,
        reporter: DeployReporter,
        alarms: RollbackAlarms,
        fleet: int | None,
    ) -> dict[str, Any]:
        """UpdateEndpoint judged by alarms on the new fleet alone (`deploy.sagemaker.guard`)."""
        guard = UpdateGuard(alarms, reporter, plan.config_name)
        try:
            request = update_request(desired.config, plan.config_name, fleet, guard.start())
            self.sagemaker.update_endpoint(**request)
            reporter.event(update_summary(request))
            previous = Serving(live.config_name, live.model_version, self.label(live.model_version))
            target = self._target(desired, plan, creating=False, baseline=live.failure_reason)
            described = self._rollout(desired, reporter, alarms).follow(target, previous)
        except StillDeploying:
            guard.keep()
            raise
        except Exception:
            guard.release()
            raise
        guard.judgement()
        guard.release()
        return described

    def _serving_instances(self, cfg: EnvironmentConfig) -> int | None:
        """The serving variant's current instance count (autoscaling may have moved it from git's)."""
        described = self.sagemaker.describe_endpoint(EndpointName=cfg.endpoint.name)
        for variant in described.get("ProductionVariants", []):
            if variant["VariantName"] == cfg.endpoint.variant_name:
                return variant.get("CurrentInstanceCount")
        return None

    def _restore_scaling(self, scaling: VariantScaling, setting: dict[str, Any], reporter: DeployReporter) -> None:
        try:
            scaling.apply(Autoscaling.model_validate(setting))
            reporter.event("autoscaling of the previous fleet registered again")
        except ClientError as exc:  # the deploy failure is the news; this is a footnote to it
            reporter.event(f"could not register autoscaling again ({error_text(exc)}): run `mlops deploy` after a fix")

    def _target(self, desired: DesiredState, plan: Resources, *, creating: bool, baseline: str | None) -> Target:
        cfg = desired.config
        timeout = follow_timeout_seconds(cfg.deployment, creating=creating)
        return Target(
            desired.env,
            cfg.endpoint.name,
            plan.config_name,
            desired.model.version,
            desired.model.label,
            creating,
            timeout,
            baseline,
        )

    def _rollout(
        self, desired: DesiredState, reporter: DeployReporter, alarms: RollbackAlarms | None = None
    ) -> Rollout:
        firing = alarms.firing if alarms else list
        return Rollout(
            self.sagemaker, reporter, poll_seconds=self.poll_seconds, sleep=self.sleep, clock=self.clock, firing=firing
        )

    # ------------------------------------------------------------------ invoke

    @translated
    def invoke(
        self,
        env: str,
        cfg: EnvironmentConfig,
        body: bytes,
        content_type: str,
        accept: str = "application/json",
        inference_id: str | None = None,
    ) -> Invocation:
        with self._runtime_lock:  # `mlops deploy --traffic` invokes from several threads; clients are made once
            runtime = self.session.client("sagemaker-runtime")
        client = EndpointClient(cfg.endpoint.name, runtime=runtime)
        return exchange(client, body, content_type, accept, inference_id=inference_id)

    @translated
    def teardown(self, env: str, cfg: EnvironmentConfig, *, dry_run: bool) -> list[str]:
        work = SageMakerTeardown(self.session, env, cfg)
        try:
            plan = work.plan()
            if not dry_run:
                work.apply(plan)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in SETUP_CODES:
                raise
            raise DeployError(f"{env}: teardown of endpoint '{cfg.endpoint.name}' failed: {error_text(exc)}") from None
        return plan.lines()

    def test_split(self, model: ModelVersion) -> str | None:
        """The test split the pipeline run wrote for `model` (`runs/<run id>/preprocess/test/`), from S3."""
        run_id = model.lineage.get("run_id")
        if not run_id:
            return None
        s3 = self.session.client("s3")
        bucket = ArtifactBucket(s3, self.settings.artifacts_bucket(), self.settings.prefix)
        try:
            found = bucket.find(bucket.uri("runs", str(run_id), "preprocess", "test") + "/", ".csv")
            if found is None:
                return None
            where = S3Uri.parse(found)
            return s3.get_object(Bucket=where.bucket, Key=where.key)["Body"].read().decode("utf-8")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in SETUP_CODES:
                raise
            return None  # the caller says there is no test split to replay

    # ------------------------------------------------------------------ plumbing

    def _scaling(self, cfg: EnvironmentConfig) -> VariantScaling:
        client = self.session.client("application-autoscaling")
        return VariantScaling(client, cfg.endpoint.name, cfg.endpoint.variant_name)
