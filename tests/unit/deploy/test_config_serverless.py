"""`endpoint.serverless` in the schema: what it accepts, and one clear line for what SageMaker refuses with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.cli.app import main
from deploy.config import load_environment

INSTANCES = "  instance_type: ml.m5.large\n  instance_count: 1\n"
SERVERLESS = "  serverless: {memory_size_mb: 2048, max_concurrency: 5}\n"


def serverless_staging(root: Path, endpoint: str = SERVERLESS, *, replace: tuple[str, str] | None = None) -> Path:
    """config/staging.yaml with its instances swapped for `endpoint`, and one more edit if given."""
    path = root / "config" / "staging.yaml"
    text = path.read_text()
    assert INSTANCES in text
    text = text.replace(INSTANCES, endpoint)
    if replace:
        assert replace[0] in text, replace[0]
        text = text.replace(*replace)
    path.write_text(text)
    return path


def validate(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["config", "validate"])
    return code, capsys.readouterr().out.strip().splitlines()


def test_a_serverless_staging_is_valid_and_reads_back(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serverless_staging(
        repo_copy, "  serverless: {memory_size_mb: 3072, max_concurrency: 20, provisioned_concurrency: 2}\n"
    )
    assert validate(capsys) == (0, [])
    cfg = load_environment(repo_copy / "config", "staging")
    assert cfg.endpoint.serverless is not None
    assert (cfg.endpoint.serverless.memory_size_mb, cfg.endpoint.serverless.max_concurrency) == (3072, 20)
    assert cfg.endpoint.serverless.provisioned_concurrency == 2
    assert cfg.endpoint.serverless.memory_gb == 3.0


@pytest.mark.parametrize(
    ("endpoint", "replace", "key", "says"),
    [
        (
            SERVERLESS + "  instance_type: ml.m5.large\n",
            None,
            "endpoint.instance_type",
            "a serverless endpoint has no instances: remove endpoint.instance_type",
        ),
        (
            SERVERLESS + "  instance_count: 1\n",
            None,
            "endpoint.instance_count",
            "a serverless endpoint has no instances: remove endpoint.instance_count",
        ),
        (
            SERVERLESS + "  autoscaling: {enabled: true, min_capacity: 1, max_capacity: 2}\n",
            None,
            "endpoint.autoscaling.enabled",
            "instance autoscaling does not apply to a serverless endpoint (allowed: false;",
        ),
        (
            SERVERLESS + "  data_capture: {enabled: true}\n",
            None,
            "endpoint.data_capture.enabled",
            "SageMaker serverless endpoints do not support data capture (allowed: false)",
        ),
        (
            SERVERLESS,
            ("strategy: all_at_once", "strategy: canary"),
            "deployment.strategy",
            "canary is not supported with endpoint.serverless (allowed: all_at_once)",
        ),
        (
            SERVERLESS,
            ("strategy: all_at_once", "strategy: linear"),
            "deployment.strategy",
            "linear is not supported with endpoint.serverless (allowed: all_at_once)",
        ),
        (
            "  serverless: {memory_size_mb: 1500, max_concurrency: 5}\n",
            None,
            "endpoint.serverless.memory_size_mb",
            "1024, 2048, 3072, 4096, 5120 or 6144",
        ),
        (
            "  serverless: {memory_size_mb: 8192, max_concurrency: 5}\n",
            None,
            "endpoint.serverless.memory_size_mb",
            "1024, 2048, 3072, 4096, 5120 or 6144",
        ),
        (
            "  serverless: {memory_size_mb: 1024, max_concurrency: 201}\n",
            None,
            "endpoint.serverless.max_concurrency",
            "less than or equal to 200 (got 201)",
        ),
        (
            "  serverless: {memory_size_mb: 1024, max_concurrency: 0}\n",
            None,
            "endpoint.serverless.max_concurrency",
            "greater than or equal to 1 (got 0)",
        ),
        (
            "  serverless: {memory_size_mb: 1024, max_concurrency: 4, provisioned_concurrency: 5}\n",
            None,
            "endpoint.serverless.provisioned_concurrency",
            "5 exceeds max_concurrency 4 (allowed: 1–4)",
        ),
        (
            "  serverless: {memory_size_mb: 1024, max_concurrency: 4, provisioned_concurrency: 0}\n",
            None,
            "endpoint.serverless.provisioned_concurrency",
            "greater than or equal to 1 (got 0)",
        ),
        ("  serverless: {memory_size_mb: 1024}\n", None, "endpoint.serverless.max_concurrency", "required key"),
    ],
)
def test_what_serverless_does_not_support_is_one_line_naming_the_key(
    repo_copy: Path,
    capsys: pytest.CaptureFixture[str],
    endpoint: str,
    replace: tuple[str, str] | None,
    key: str,
    says: str,
) -> None:
    path = serverless_staging(repo_copy, endpoint, replace=replace)
    code, lines = validate(capsys)
    assert code == 3
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:{key}: "), lines[0]
    assert says in lines[0]
    assert "Traceback" not in lines[0]


def test_instance_settings_left_at_their_defaults_are_not_an_error(repo_copy: Path) -> None:
    serverless_staging(repo_copy)
    cfg = load_environment(repo_copy / "config", "staging")
    # Defaults stay in the model but were never written: nothing for SageMaker to refuse.
    assert "instance_type" not in cfg.endpoint.model_fields_set


def test_local_idle_timeout_is_bounded(repo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    idle = ("  time_scale: 0.01", "  time_scale: 0.01\n  idle_timeout_seconds: 0")
    path = serverless_staging(repo_copy, replace=idle)
    code, lines = validate(capsys)
    assert code == 3
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:local.idle_timeout_seconds: Input should be greater than or equal to 1 (got 0)")
