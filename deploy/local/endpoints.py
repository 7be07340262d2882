"""The local endpoint adapter: one server process per environment plays a SageMaker endpoint (control plane).

State lives in `.mlops/endpoints/<env>/`: the server's own files (`deploy.local.endpoint_process`)
and `deployed.json`, the desired state as last deployed successfully, written only after a
deploy ends with the new model serving. `describe` reads it back in the `LiveState` shape that
`mlops plan` compares, so a rolled-back deploy leaves the plan showing the change, and a
stopped server shows as OutOfService (a deploy starts it again).

A first deploy loads the model as the only variant at once, as CreateEndpoint does; later
model changes go blue/green with the environment's policy (`deploy.local.rollout`); a change
of configuration only (alarms, policy, capacity) is recorded without moving traffic. A
serverless environment's server listens from deploy on, but stops its model processes after
`local.idle_timeout_seconds` (× `time_scale`) without requests and starts them on the next.
"""

from __future__ import annotations

import http.client
import json
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from deploy.config.schema import EnvironmentConfig
from deploy.endpoints import DeployOutcome, DeployReporter, DesiredState, EndpointBackend, Invocation, LiveState
from deploy.endpoints.client import EndpointClient, EndpointUnreachable, RetryPolicy, exchange
from deploy.errors import DeployError
from deploy.local.data_capture import CAPTURE_DIR, write_settings
from deploy.local.endpoint_process import EndpointProcess
from deploy.local.rollout import Rollout
from deploy.local.routing_table import IDENTITY_HEADER, VariantRoute, write_json
from deploy.local.server_launch import end_group, inspect
from deploy.registry import ModelVersion, Registry
from deploy.workspace import Workspace

RECORD_FILE = "deployed.json"
INVOKE_TIMEOUT_SECONDS = 60  # SageMaker's InvokeEndpoint limit


def read_record(state_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((state_dir / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build_record(desired: DesiredState, process: EndpointProcess) -> dict[str, Any]:
    cfg, model = desired.config, desired.model
    serverless = cfg.endpoint.serverless
    return {
        "endpoint_name": cfg.endpoint.name,
        "variant_name": cfg.endpoint.variant_name,
        "deployment_id": f"{desired.env}-v{model.version}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}",
        "model": {"version": model.version, "sha256": model.sha256, "package_arn": model.arn,
                  "artifact_uri": model.artifact_uri},
        "instance_type": None if serverless else cfg.endpoint.instance_type,
        "instance_count": None if serverless else cfg.endpoint.instance_count,
        "serverless": serverless.model_dump() if serverless else None,
        "data_capture": cfg.endpoint.data_capture.model_dump(),
        "autoscaling": cfg.endpoint.autoscaling.model_dump(),
        "deployment": cfg.deployment.model_dump(),
        "alarms": [a.model_dump() for a in cfg.alarms],
        "monitoring_alarms": [a.model_dump() for a in cfg.monitoring.alarms],
        "dashboard": cfg.dashboard_name(),  # recorded so plan agrees; only SageMaker puts one
        "commit": desired.commit,
        "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "port": process.port,
        "workers": process.workers,
    }  # fmt: skip


def artifact_path(model: ModelVersion) -> Path:
    path = Path(urlparse(model.artifact_uri).path)
    if not path.is_file():
        raise DeployError(f"{model.label}: artifact {path} is missing from the local artifact store")
    return path


def health(process: EndpointProcess | None, record: dict[str, Any]) -> tuple[str, str | None]:
    """(EndpointStatus, FailureReason) of a recorded endpoint: InService only if it can serve the deployed model."""
    if process is None:
        return "OutOfService", "the endpoint server is not running (`mlops endpoint start` or `mlops deploy`)"
    routing = process.routing()
    serving = routing.get(record["variant_name"])
    if serving is None or serving.weight == 0 or serving.sha256 != record["model"]["sha256"]:
        return "Failed", f"variant '{record['variant_name']}' does not serve the deployed model"
    strays = [v.name for v in routing.variants if v.name != serving.name]
    if strays:
        return "Failed", f"variant(s) {', '.join(strays)} left over from an interrupted deploy"
    problem = process.serves(serving.name, serving.sha256)
    if problem is not None:
        return "Failed", problem
    return "InService", None


class LocalEndpoints(EndpointBackend):
    def __init__(self, workspace: Workspace, registry: Registry) -> None:
        self.workspace = workspace
        self.registry = registry
        self._clients: dict[tuple[str, int], EndpointClient] = {}
        self._clients_lock = threading.Lock()

    def state_dir(self, env: str) -> Path:
        return self.workspace.endpoint_dir(env)

    def describe(self, env: str, cfg: EnvironmentConfig) -> LiveState | None:
        record = read_record(self.state_dir(env))
        if record is None:
            return None
        status, reason = health(EndpointProcess.attach(self.state_dir(env)), record)
        model = record["model"]
        return LiveState(
            endpoint_name=record["endpoint_name"], status=status, model_version=model["version"],
            model_sha256=model["sha256"], package_arn=model["package_arn"], instance_type=record["instance_type"],
            instance_count=record["instance_count"], serverless=record.get("serverless"),
            data_capture=record["data_capture"],
            deployment=record["deployment"], alarms=record["alarms"], autoscaling=record["autoscaling"],
            monitoring_alarms=record.get("monitoring_alarms", []), dashboard=record.get("dashboard"),
            config_name=record["deployment_id"], failure_reason=reason,
        )  # fmt: skip

    def deploy(self, desired: DesiredState, live: LiveState | None, reporter: DeployReporter) -> DeployOutcome:
        cfg, model = desired.config, desired.model
        artifact = artifact_path(model)
        capture = cfg.endpoint.data_capture  # the workers follow capture.json, as they follow the routing
        changed = write_settings(self.state_dir(desired.env), self.workspace.state / CAPTURE_DIR, cfg.endpoint.name,
                                 capture.enabled, capture.sampling_percentage)  # fmt: skip
        process, started = self.ensure_running(desired.env, cfg, reporter)
        if changed and not started:  # a server just started read it already
            process.republish(f"data capture settings of '{cfg.endpoint.name}'")
        serving = self._settle(process, cfg.endpoint.variant_name, reporter)
        if serving is None:
            summary = self._create(desired, process, artifact, started)
        elif serving.sha256 == model.sha256 and process.serves(serving.name, model.sha256) is not None:
            reporter.event(f"{process.serves(serving.name, model.sha256)}; loading {model.label} again")
            process.load_variant(serving.name, artifact, model.sha256, model.version)
            summary = f"{desired.env}: {model.label} loaded again as '{serving.name}'; it serves 100 %"
        elif serving.sha256 == model.sha256:
            summary = f"{desired.env}: {model.label} already serving; recorded the new configuration, no traffic shift"
        else:
            summary = Rollout(process, desired.env, cfg, serving, reporter).run(model, artifact)
        process.set_idle(cfg.local_idle_seconds())
        write_json(self.state_dir(desired.env) / RECORD_FILE, build_record(desired, process))
        return DeployOutcome(summary, {"port": process.port, "endpoint": cfg.endpoint.name})

    def ensure_running(
        self, env: str, cfg: EnvironmentConfig, reporter: DeployReporter
    ) -> tuple[EndpointProcess, bool]:
        """The environment's server, started if it is not running; True when started now."""
        process = EndpointProcess.attach(self.state_dir(env))
        if process is not None:
            return process, False
        reporter.event(
            f"starting endpoint '{cfg.endpoint.name}' on 127.0.0.1:{cfg.local.port} ({cfg.local.workers} workers)"
        )
        process = EndpointProcess.start(
            self.state_dir(env), cfg.local.port, cfg.local.workers, cfg.endpoint.name, code_root=self.workspace.root
        )
        for note in process.notes:
            reporter.event(note)
        return process, True

    def serve_recorded(self, env: str, cfg: EnvironmentConfig, reporter: DeployReporter) -> EndpointProcess:
        """`mlops endpoint start`: run the server again with the last deployed model."""
        record = read_record(self.state_dir(env))
        if record is None:
            raise DeployError(f"endpoint of '{env}' was never deployed: run `mlops deploy --env {env}` first")
        process, started = self.ensure_running(env, cfg, reporter)
        variant, model = record["variant_name"], record["model"]
        try:
            serving = process.routing().get(variant)
            if (
                serving is None
                or serving.sha256 != model["sha256"]
                or serving.weight == 0
                or process.serves(variant, model["sha256"])
            ):
                reporter.event(f"loading the deployed model v{model['version']} as '{variant}'")
                artifact = Path(urlparse(model["artifact_uri"]).path)
                process.load_variant(variant, artifact, model["sha256"], model["version"])
                process.set_weights({variant: 100})
            self._settle(process, variant, reporter)
            process.set_idle(cfg.local_idle_seconds())
            ping(process.port, cfg.endpoint.name)
        except BaseException:
            if started:  # a start reported as failed leaves nothing running
                process.stop()
            raise
        return process

    def stop(self, env: str) -> str | None:
        """Stop whatever runs of the environment's server; what was stopped, or None if nothing ran."""
        state = inspect(self.state_dir(env))
        if state.phase == "stopped":
            return None
        if state.phase == "running":
            EndpointProcess(self.state_dir(env), state.info).stop()
            return f"stopped pid {state.pid}"
        end_group(self.state_dir(env), state.pid)  # a server still starting, or workers left by a killed one
        return f"ended the {state.phase} server (process group {state.pid})"

    def teardown(self, env: str, cfg: EnvironmentConfig, *, dry_run: bool) -> list[str]:
        """The server and everything under `.mlops/endpoints/<env>/` (record, unpacked models, logs)."""
        state = self.state_dir(env)
        process = EndpointProcess.attach(state)
        found = []
        if process is not None:
            found.append(f"server of '{cfg.endpoint.name}' on 127.0.0.1:{process.port} (pid {process.pid})")
        if state.exists():
            root = self.workspace.root
            found.append(f"state {state.relative_to(root) if state.is_relative_to(root) else state}")
        if not dry_run:
            self.stop(env)  # also ends a server still starting, or workers a killed one left
            shutil.rmtree(state, ignore_errors=True)
        return found

    def _settle(self, process: EndpointProcess, variant: str, reporter: DeployReporter) -> VariantRoute | None:
        """The variant serving now; leftovers of an interrupted deploy are rolled back first."""
        routing = process.routing()
        serving = routing.get(variant)
        if serving is None or serving.weight == 0:
            live = [v.name for v in routing.variants if v.weight > 0]
            if live:
                raise DeployError(
                    f"endpoint '{process.endpoint_name}' serves variant(s) {', '.join(live)}, not '{variant}': "
                    "the variant name is kept across updates (SageMaker rule); stop the endpoint to recreate it"
                )
            return None
        strays = [v.name for v in routing.variants if v.name != variant]
        if strays:
            reporter.event(f"removing {', '.join(strays)} left over from an interrupted deploy")
            process.set_weights({variant: 100, **dict.fromkeys(strays, 0)})
            for name in strays:
                process.remove_variant(name)
        return process.routing().get(variant)

    def _create(self, desired: DesiredState, process: EndpointProcess, artifact: Path, started: bool) -> str:
        """First deploy: the model is the only variant, all traffic at once (as CreateEndpoint)."""
        cfg, model = desired.config, desired.model
        variant = cfg.endpoint.variant_name
        try:
            process.load_variant(variant, artifact, model.sha256, model.version)
            process.set_weights({variant: 100})
            ping(process.port, cfg.endpoint.name)
        except BaseException:
            if started:
                process.stop()
            raise
        return f"{desired.env}: created endpoint '{cfg.endpoint.name}' with {model.label} on {process.url}"

    def invoke(
        self,
        env: str,
        cfg: EnvironmentConfig,
        body: bytes,
        content_type: str,
        accept: str = "application/json",
        inference_id: str | None = None,
    ) -> Invocation:
        """Through the one endpoint client, on the SageMaker Runtime path: the server checks the endpoint name."""
        try:
            return exchange(self._client(cfg), body, content_type, accept, on_headers=lambda headers: check_identity(
                headers.get(IDENTITY_HEADER.lower()), cfg.endpoint.name, cfg.local.port),
                inference_id=inference_id)  # fmt: skip
        except EndpointUnreachable as exc:
            if exc.code == "ConnectionRefused":
                raise DeployError(
                    f"endpoint '{cfg.endpoint.name}' is not running on 127.0.0.1:{cfg.local.port}: "
                    f"run `mlops deploy --env {env}` or `mlops endpoint start --env {env}`"
                ) from None
            raise DeployError(f"endpoint '{cfg.endpoint.name}' on 127.0.0.1:{cfg.local.port}: {exc.reason}") from None

    def _client(self, cfg: EnvironmentConfig) -> EndpointClient:
        """One client per endpoint and port, shared by the threads of `mlops deploy --traffic`."""
        key = (cfg.endpoint.name, cfg.local.port)
        with self._clients_lock:
            if key not in self._clients:
                self._clients[key] = EndpointClient(
                    cfg.endpoint.name,
                    endpoint_url=f"http://127.0.0.1:{cfg.local.port}",
                    timeout=INVOKE_TIMEOUT_SECONDS,
                    retry=RetryPolicy(attempts=2),  # a refused connection once more, then "not running"
                )
            return self._clients[key]


def check_identity(answered_as: str | None, endpoint: str, port: int) -> None:
    """Refuse an answer from a server on the port that is not this environment's endpoint."""
    if answered_as == endpoint:
        return
    who = f"endpoint '{answered_as}'" if answered_as else "a server that is not an mlops endpoint"
    raise DeployError(
        f"127.0.0.1:{port} is served by {who}, not endpoint '{endpoint}': another environment or program "
        f"holds the port; stop it (`mlops endpoint stop --env <env>`) or change local.port"
    )


def ping(port: int, endpoint: str, timeout: float = 5) -> None:
    """GET /ping until it answers 200 (the health check SageMaker runs before sending traffic), from `endpoint`."""
    deadline = time.monotonic() + timeout
    status = 0
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/ping")
            reply = connection.getresponse()
            status, answered_as = reply.status, reply.getheader(IDENTITY_HEADER)
            reply.read()
        except OSError:
            status = 0
        finally:
            connection.close()
        if status:
            check_identity(answered_as, endpoint, port)
        if status == 200:
            return
        time.sleep(0.05)
    raise DeployError(f"the endpoint on 127.0.0.1:{port} failed its health check (GET /ping answered {status})")
