"""A fake AWS identity for tests: credentials, region, and nothing from the developer's own setup."""

from __future__ import annotations

from pathlib import Path

import pytest

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def use_fake_account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, region: str, **extra: str) -> dict[str, str]:
    """Fake credentials in `region`; no profile, shared config, endpoint override or instance metadata."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "MLOPS_BUCKET", "SAGEMAKER_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    env = {
        **FAKE_CREDENTIALS,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        **extra,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
