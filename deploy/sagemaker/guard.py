"""The alarms that judge one blue/green update of a SageMaker endpoint, from start to end (control plane).

Before UpdateEndpoint the guard puts one deployment alarm per configured alarm on the new
endpoint config's fleet (`RollbackAlarms.guard`); their names go into
`AutoRollbackConfiguration`. When the update has ended (served, rolled back or failed) it
says how many requests the new fleet answered while they watched, since none means the
update passed unjudged, and removes them. When the follow loop gives up while SageMaker
carries on, they are kept: SageMaker still judges with them, and the next deploy removes them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.exceptions import ClientError

from deploy.endpoints import DeployReporter
from deploy.sagemaker.alarms import RollbackAlarms


def error_text(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{exc.operation_name}: {error.get('Code', '?')}: {error.get('Message', '')}"


class UpdateGuard:
    def __init__(self, alarms: RollbackAlarms, reporter: DeployReporter, config_name: str) -> None:
        self.alarms = alarms
        self.reporter = reporter
        self.config_name = config_name
        self.started = datetime.now(UTC)

    def start(self) -> list[str]:
        """Put the deployment alarms; their names, for AutoRollbackConfiguration."""
        names = self.alarms.guard(self.config_name)
        if names:
            self.reporter.event(f"deployment alarms on the new fleet only (EndpointConfigName): {', '.join(names)}")
        self.started = datetime.now(UTC)
        return names

    def keep(self) -> None:
        if self.alarms.deployment:
            self.reporter.event(
                "deployment alarms kept: SageMaker still judges the update; the next deploy removes them"
            )

    def judgement(self) -> None:
        """Say how many requests the alarms judged the new fleet on: none means it passed unjudged."""
        if not self.alarms.deployment:
            return
        try:
            answered = self.alarms.answered(self.config_name, self.started)
        except ClientError as exc:
            self.reporter.event(f"could not count the new fleet's requests in CloudWatch ({error_text(exc)})")
            return
        if answered:
            self.reporter.event(f"the new fleet answered {answered:,.0f} request(s) while its alarms watched")
            return
        self.reporter.event(
            f"WARNING: UNJUDGED: CloudWatch counts no requests on the new fleet ('{self.config_name}'), so its "
            "alarms had no datapoints (no data is not breaching) and judged nothing; replay traffic with "
            "`mlops deploy --traffic golden|test-split`"
        )

    def release(self) -> None:
        try:
            removed = self.alarms.release()
        except ClientError as exc:  # the deploy's outcome is the news; this is a footnote to it
            self.reporter.event(
                f"could not delete the deployment alarms ({error_text(exc)}): the next deploy removes them"
            )
            return
        if removed:
            self.reporter.event(f"deployment alarms removed: {', '.join(removed)}")
