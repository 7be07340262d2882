"""Typed errors of the control plane and the exit codes they map to (control plane).

Every user-facing failure is one of these: the CLI prints the message on one line, with no
traceback, and exits with the code of its kind, so workflows can tell a bad config from a
failed training step from a rolled-back deploy.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    CONFIG = 3
    DATA = 4
    REGISTRY = 5
    STEP_FAILED = 6
    DEPLOY = 7
    ROLLBACK = 8
    GATE_REJECTED = 9
    PLAN_CHANGES = 10
    SMOKE = 11
    AWS_SETUP = 12
    STALE = 13
    NOT_STAGED = 14
    REQUEST_REFUSED = 15  # `invoke`: the endpoint answered 4xx (fix the request)
    REQUEST_FAILED = 16  # `invoke`: the endpoint answered 5xx (the model failed)
    BATCH_FAILED = 17
    MONITOR_DRIFT = 18
    INTERRUPTED = 130


class MlopsError(Exception):
    """Base of all expected failures: one line for the user, one exit code for the machine."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class UsageError(MlopsError):
    """A command-line argument cannot be used as given (e.g. an output file that cannot be written)."""

    exit_code = ExitCode.USAGE


class ConfigError(MlopsError):
    """A desired-state file is missing, malformed or breaks a rule; `details` holds one line per problem."""

    exit_code = ExitCode.CONFIG


class DataError(MlopsError):
    """The training data failed validation; the message names the column and rows."""

    exit_code = ExitCode.DATA


class RegistryError(MlopsError):
    """A model version or group is missing, or a registry call failed."""

    exit_code = ExitCode.REGISTRY


class StepFailed(MlopsError):
    """A pipeline step (processing or training job) failed; nothing was registered."""

    exit_code = ExitCode.STEP_FAILED

    def __init__(self, step: str, reason: str, *, log: str | None = None) -> None:
        where = f" (log: {log})" if log else ""
        super().__init__(f"step '{step}' failed: {reason}{where}")
        self.step = step
        self.reason = reason
        self.log = log


class DeployError(MlopsError):
    """A deploy could not start or finish; the previous model keeps serving."""

    exit_code = ExitCode.DEPLOY


class RollbackError(DeployError):
    """A deploy was rolled back (by an alarm, a failure, or silently by the service)."""

    exit_code = ExitCode.ROLLBACK


class GateRejected(MlopsError):
    """The candidate did not pass the quality gate; nothing was changed in git."""

    exit_code = ExitCode.GATE_REJECTED


class SmokeFailed(MlopsError):
    """The smoke test against an endpoint failed."""

    exit_code = ExitCode.SMOKE


class AwsSetupError(MlopsError):
    """Credentials, role, bucket or model package group are missing; the message says what to set."""

    exit_code = ExitCode.AWS_SETUP


class StaleConfig(MlopsError):
    """The environment file of this run is not the one on main any more: a newer run deploys it."""

    exit_code = ExitCode.STALE


class NotStaged(DeployError):
    """A pin has not served in the environment that must come first (staging before prod)."""

    exit_code = ExitCode.NOT_STAGED


class RequestRefused(MlopsError):
    """`mlops invoke`: the endpoint answered 4xx: the request must change, the endpoint is fine."""

    exit_code = ExitCode.REQUEST_REFUSED


class RequestFailed(MlopsError):
    """`mlops invoke`: the endpoint answered 5xx: the model failed on a request it accepted."""

    exit_code = ExitCode.REQUEST_FAILED


class BatchFailed(MlopsError):
    """A batch job failed, or more of its records failed than the environment's `batch.max_failed_share`."""

    exit_code = ExitCode.BATCH_FAILED
