"""CloudWatch rollback alarms of an endpoint, created and read back as code (control plane).

Each `alarms:` entry of `config/<env>.yaml` becomes two kinds of metric alarm in `AWS/SageMaker`:

* a standing alarm on the endpoint's variant (dimensions EndpointName and VariantName), which
  `mlops plan` compares with git and which watches the endpoint between deploys;
* for each blue/green update, a deployment alarm on the *new fleet alone*: the same metric with
  the extra EndpointConfigName dimension of the endpoint config being deployed. During the
  update both fleets share the variant name, so the standing alarm sees old and new fleets
  combined (an old-fleet error would roll back a healthy canary; a broken canary's errors
  would be diluted). The deployment alarms are the ones `AutoRollbackConfiguration` names;
  they are created before UpdateEndpoint and deleted once the update has ended. The local
  backend judges its green variant alone in the same way (`deploy.local.alarms`).

`pNN` statistics are ExtendedStatistic with `EvaluateLowSampleCountPercentile: ignore`, so a
period with too few requests for the percentile (CloudWatch's rule: 10 / (1 − NN/100) of them)
is not judged: one slow request at low canary traffic is not a rollback. The description marks
each alarm as managed for that endpoint, so a deploy deletes the ones removed from git (and
deployment alarms an interrupted deploy left behind), never an alarm someone made by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from deploy.config.schema import AlarmConfig, EnvironmentConfig

NAMESPACE = "AWS/SageMaker"
MARKER = "managed by sagemaker-gitops for endpoint"
CONFIG_DIMENSION = "EndpointConfigName"


def description(env: str, endpoint: str, config_name: str | None = None) -> str:
    if config_name:
        return f"{MARKER} {endpoint}: judges the new fleet of the deployment of {config_name}; removed after it"
    return f"{MARKER} {endpoint}: rollback alarm from config/{env}.yaml; edit it there"


def deployment_alarm_name(alarm: AlarmConfig, config_name: str) -> str:
    """`<alarm>@<endpoint config>`: starts with the alarm's name, so the same IAM scope covers it."""
    return f"{alarm.name}@{config_name}"


def alarm_request(
    alarm: AlarmConfig, env: str, endpoint: str, variant: str, config_name: str | None = None
) -> dict[str, Any]:
    """PutMetricAlarm arguments for one configured alarm; with `config_name`, on that config's fleet only."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    tags = [{"Key": "mlops:env", "Value": env}, {"Key": "mlops:endpoint", "Value": endpoint}]
    if config_name:
        dimensions.append({"Name": CONFIG_DIMENSION, "Value": config_name})
        tags.append({"Key": "mlops:endpoint-config", "Value": config_name})
    request: dict[str, Any] = {
        "AlarmName": deployment_alarm_name(alarm, config_name) if config_name else alarm.name,
        "AlarmDescription": description(env, endpoint, config_name),
        "Namespace": NAMESPACE,
        "MetricName": alarm.metric,
        "Dimensions": dimensions,
        "Period": alarm.period_seconds,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.evaluation_periods,
        "Threshold": float(alarm.threshold),
        "ComparisonOperator": alarm.comparison,
        # No traffic is no evidence of a bad model: an idle endpoint must not roll back.
        "TreatMissingData": "notBreaching",
        "Tags": tags,
    }
    if alarm.statistic.startswith("p"):
        request["ExtendedStatistic"] = alarm.statistic
        request["EvaluateLowSampleCountPercentile"] = "ignore"
    else:
        request["Statistic"] = alarm.statistic
    return request


def alarm_fields(alarm: dict[str, Any]) -> dict[str, Any]:
    """A described MetricAlarm in `AlarmConfig.model_dump()` shape."""
    return {
        "name": alarm["AlarmName"],
        "metric": alarm.get("MetricName"),
        "statistic": alarm.get("ExtendedStatistic") or alarm.get("Statistic"),
        "threshold": alarm.get("Threshold"),
        "comparison": alarm.get("ComparisonOperator"),
        "period_seconds": alarm.get("Period"),
        "evaluation_periods": alarm.get("EvaluationPeriods"),
    }


def dimensions_of(alarm: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


class ManagedAlarms:
    """The metric alarms this tool manages for one endpoint in one CloudWatch namespace."""

    namespace = NAMESPACE

    def __init__(self, cloudwatch: Any, env: str, cfg: EnvironmentConfig) -> None:
        self.cloudwatch = cloudwatch
        self.env = env
        self.cfg = cfg
        self.endpoint = cfg.endpoint.name

    def managed(self) -> list[dict[str, Any]]:
        """Every metric alarm this tool manages for the endpoint, as CloudWatch describes it."""
        paginator = self.cloudwatch.get_paginator("describe_alarms")
        alarms = [a for page in paginator.paginate(AlarmTypes=["MetricAlarm"]) for a in page.get("MetricAlarms", [])]
        return [a for a in alarms if self._ours(a)]

    def _ours(self, alarm: dict[str, Any]) -> bool:
        return (
            alarm.get("Namespace") == self.namespace
            and dimensions_of(alarm).get("EndpointName") == self.endpoint
            and str(alarm.get("AlarmDescription", "")).startswith(f"{MARKER} {self.endpoint}:")
        )


class RollbackAlarms(ManagedAlarms):
    """The managed alarms of one endpoint: standing ones from git, and those of a deployment."""

    def __init__(self, cloudwatch: Any, env: str, cfg: EnvironmentConfig) -> None:
        super().__init__(cloudwatch, env, cfg)
        self.deployment: list[str] = []  # names of the alarms judging the update under way

    def read(self) -> list[dict[str, Any]]:
        """The live standing alarms in `AlarmConfig.model_dump()` shape, in the order git lists them."""
        order = {a.name: i for i, a in enumerate(self.cfg.alarms)}
        standing = [a for a in self.managed() if CONFIG_DIMENSION not in dimensions_of(a)]
        live = sorted(standing, key=lambda a: (order.get(a["AlarmName"], len(order)), a["AlarmName"]))
        return [alarm_fields(a) for a in live]

    def apply(self) -> list[str]:
        """Create or update the standing alarms, delete other managed ones; the names removed.

        Runs only when no update is under way, so a deployment alarm found here was left
        behind by an interrupted deploy and is removed too.
        """
        variant = self.cfg.endpoint.variant_name
        for alarm in self.cfg.alarms:
            self.cloudwatch.put_metric_alarm(**alarm_request(alarm, self.env, self.endpoint, variant))
        wanted = {a.name for a in self.cfg.alarms}
        stale = sorted(a["AlarmName"] for a in self.managed() if a["AlarmName"] not in wanted)
        if stale:
            self.cloudwatch.delete_alarms(AlarmNames=stale)
        return stale

    def guard(self, config_name: str) -> list[str]:
        """Put the alarms that judge `config_name`'s fleet alone; their names, for AutoRollbackConfiguration."""
        variant = self.cfg.endpoint.variant_name
        for alarm in self.cfg.alarms:
            request = alarm_request(alarm, self.env, self.endpoint, variant, config_name)
            self.cloudwatch.put_metric_alarm(**request)
            self.deployment.append(request["AlarmName"])
        return list(self.deployment)

    def release(self) -> list[str]:
        """Delete the deployment alarms (the update has ended); the names deleted."""
        names, self.deployment = self.deployment, []
        if names:
            self.cloudwatch.delete_alarms(AlarmNames=names)
        return names

    def firing(self) -> list[str]:
        """`name (reason)` of each alarm of the update under way (else of git's) now in ALARM."""
        names = self.deployment or [a.name for a in self.cfg.alarms]
        if not names:
            return []
        alarms = self.cloudwatch.describe_alarms(AlarmNames=names, StateValue="ALARM").get("MetricAlarms", [])
        return [
            f"{a['AlarmName']} ({a.get('StateReason', 'in ALARM')})" for a in alarms if a.get("StateValue") == "ALARM"
        ]

    def answered(self, config_name: str, since: datetime) -> float:
        """Requests `config_name`'s fleet answered since `since`, as CloudWatch counts them (a minute or two late)."""
        now = datetime.now(UTC)
        dimensions = [
            {"Name": "EndpointName", "Value": self.endpoint},
            {"Name": "VariantName", "Value": self.cfg.endpoint.variant_name},
            {"Name": CONFIG_DIMENSION, "Value": config_name},
        ]
        answer = self.cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName="Invocations",
            Dimensions=dimensions,
            StartTime=since - timedelta(minutes=1),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )
        return sum(point.get("Sum", 0.0) for point in answer.get("Datapoints", []))
