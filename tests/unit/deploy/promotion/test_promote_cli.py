"""`mlops promote` end to end on the local registry: pass, reject, first promotion, errors, outputs."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from deploy.cli.app import main
from deploy.config import validate_all
from deploy.config.schema import ModelPin
from deploy.local.registry import SqliteRegistry
from deploy.promotion.pins import plan_pins, write_pins
from deploy.registry import ModelVersion
from tests.unit.deploy.promotion.sample import GATE, SPLIT, env_files, evaluation, register, set_gate


def pin(root: Path, mv: ModelVersion) -> None:
    """Make `mv` the champion, as a merged promotion would have."""
    write_pins(plan_pins(root / "config", ModelPin(version=mv.version, package_arn=mv.arn, sha256=mv.sha256)))


def github_files(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    output, summary = root / "gh-output", root / "gh-summary"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return output, summary


def outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())


def test_better_candidate_changes_exactly_the_pin_lines(
    root: Path, registry: SqliteRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    champion = register(registry, tmp_path, evaluation(0.80, 0.60, 0.80), "v1")
    pin(root, champion)
    candidate = register(registry, tmp_path, evaluation(0.83, 0.62, 0.81), "v2")
    before = env_files(root)
    output, summary = github_files(root, monkeypatch)

    assert main(["promote"]) == 0

    after = env_files(root)
    assert set(after) == {"prod.yaml", "staging.yaml"}
    for name, old in before.items():
        diff = list(difflib.ndiff(old.decode().splitlines(), after[name].decode().splitlines()))
        removed = {d[2:] for d in diff if d.startswith("- ")}
        added = {d[2:] for d in diff if d.startswith("+ ")}
        assert removed == {
            "  version: 1        # empty until the first promotion",
            f"  package_arn: {champion.arn}",
            f"  sha256: {champion.sha256}",
        }
        assert added == {
            "  version: 2        # empty until the first promotion",
            f"  package_arn: {candidate.arn}",
            f"  sha256: {candidate.sha256}",
        }
    assert validate_all(root / "config").problems == []
    values = outputs(output)
    assert values["promoted"] == "true" and values["version"] == "2" and values["branch"] == "promote/churn-classifier"
    assert values["title"] == "Promote churn-classifier v2 (replaces v1)"
    body = Path(values["body-file"]).read_text(encoding="utf-8")
    assert "| auc ↑ | 0.8300 | 0.8000 | +0.0300 |" in body
    assert summary.read_text(encoding="utf-8").strip() == body.strip()
    assert capsys.readouterr().out.strip() == body.strip()
    assert registry.get("churn-classifier", 2).status == "PendingManualApproval"


def test_worse_candidate_changes_nothing_and_is_rejected(
    root: Path, registry: SqliteRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    pin(root, register(registry, tmp_path, evaluation(0.80, 0.60, 0.80), "v1"))
    register(registry, tmp_path, evaluation(0.79, 0.55, 0.80), "v2")
    before = {**env_files(root), "pipeline.yaml": (root / "config" / "pipeline.yaml").read_bytes()}
    output, summary = github_files(root, monkeypatch)

    assert main(["promote"]) == 9

    assert {**env_files(root), "pipeline.yaml": (root / "config" / "pipeline.yaml").read_bytes()} == before
    stderr = capsys.readouterr().err
    assert "auc: 0.7900 is 0.0100 worse than the champion's 0.8000" in stderr
    assert "f1: 0.5500 is 0.0500 worse than the champion's 0.6000" in stderr
    rejected = registry.get("churn-classifier", 2)
    assert rejected.status == "Rejected"
    assert "auc: 0.7900 is 0.0100 worse" in rejected.status_reason and "f1:" in rejected.status_reason
    assert outputs(output)["promoted"] == "false" and outputs(output)["outcome"] == "rejected"
    assert "rejected by the quality gate" in summary.read_text(encoding="utf-8")


def test_first_promotion_uses_thresholds_alone(root: Path, registry: SqliteRegistry, tmp_path: Path, capsys) -> None:
    register(registry, tmp_path, evaluation(0.76, 0.51, 0.71), "v1")
    assert main(["promote"]) == 0
    assert {cfg.model.version for cfg in validate_all(root / "config").environments.values()} == {1}
    assert "thresholds only (no champion)" in capsys.readouterr().err


def test_first_candidate_below_a_threshold_is_rejected(root: Path, registry: SqliteRegistry, tmp_path: Path) -> None:
    register(registry, tmp_path, evaluation(0.70, 0.51, 0.71), "v1")
    before = env_files(root)
    assert main(["promote"]) == 9
    assert env_files(root) == before
    assert registry.get("churn-classifier", 1).status_reason == "quality gate: auc: 0.7000 is below the threshold 0.75"


def test_champion_missing_from_registry(root: Path, registry: SqliteRegistry, tmp_path: Path, capsys) -> None:
    register(registry, tmp_path, evaluation(0.85, 0.65, 0.85), "v1")
    ghost = ModelPin(version=7, package_arn="local://churn-classifier/7", sha256="e" * 64)
    write_pins(plan_pins(root / "config", ghost))
    before = env_files(root)
    assert main(["promote"]) == 5
    err = capsys.readouterr().err
    assert "prod.yaml:model.version pins churn-classifier v7 (the champion)" in err
    assert "the registry has no such version" in err
    assert env_files(root) == before
    assert registry.get("churn-classifier", 1).status == "PendingManualApproval"


def test_candidate_already_champion_is_a_no_op(
    root: Path, registry: SqliteRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    pin(root, register(registry, tmp_path, evaluation(0.80, 0.60, 0.80), "v1"))
    before = env_files(root)
    output, _ = github_files(root, monkeypatch)
    assert main(["promote"]) == 0
    assert env_files(root) == before
    assert "already the champion" in capsys.readouterr().err
    assert outputs(output)["promoted"] == "false" and outputs(output)["outcome"] == "already_champion"


def test_dry_run_and_explicit_version(root: Path, registry: SqliteRegistry, tmp_path: Path, capsys) -> None:
    register(registry, tmp_path, evaluation(0.70, 0.51, 0.71), "v1")
    register(registry, tmp_path, evaluation(0.90, 0.70, 0.90), "v2")
    before = env_files(root)
    assert main(["promote", "--version", "1", "--dry-run"]) == 9
    assert registry.get("churn-classifier", 1).status == "PendingManualApproval"  # a dry run records nothing
    assert main(["promote", "--dry-run"]) == 0
    assert env_files(root) == before
    captured = capsys.readouterr()
    assert "## Promote `churn-classifier` v2" in captured.out and "dry run: nothing written" in captured.err


def test_split_mismatch_policy_fail(root: Path, registry: SqliteRegistry, tmp_path: Path, capsys) -> None:
    set_gate(root, {**GATE, "on_split_mismatch": "fail"})
    pin(root, register(registry, tmp_path, evaluation(0.80, 0.60, 0.80), "v1"))
    register(registry, tmp_path, evaluation(0.85, 0.65, 0.85, split={**SPLIT, "test_rows": 4000}), "v2")
    assert main(["promote"]) == 9
    assert "test splits differ" in capsys.readouterr().err
    assert registry.get("churn-classifier", 2).status == "Rejected"


def test_split_mismatch_policy_compare_says_so(root: Path, registry: SqliteRegistry, tmp_path: Path, capsys) -> None:
    pin(root, register(registry, tmp_path, evaluation(0.80, 0.60, 0.80), "v1"))
    register(registry, tmp_path, evaluation(0.85, 0.65, 0.85, split={**SPLIT, "test_rows": 4000}), "v2")
    assert main(["promote"]) == 0
    captured = capsys.readouterr()
    assert "[!WARNING]" in captured.out and "compared anyway" in captured.out
    assert "note: the test splits differ" in captured.err


def test_identical_retrain_is_already_serving(
    root: Path, registry: SqliteRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    champion = register(registry, tmp_path, evaluation(0.80, 0.60, 0.80), "v1")
    pin(root, champion)
    retrain = register(registry, tmp_path, evaluation(0.81, 0.61, 0.81), "v1")  # same bytes, new version
    assert retrain.version == 2 and retrain.sha256 == champion.sha256
    before = {**env_files(root), "pipeline.yaml": (root / "config" / "pipeline.yaml").read_bytes()}
    output, _ = github_files(root, monkeypatch)

    assert main(["promote"]) == 0

    assert {**env_files(root), "pipeline.yaml": (root / "config" / "pipeline.yaml").read_bytes()} == before
    captured = capsys.readouterr()
    assert "already serving" in captured.err and "churn-classifier v1" in captured.err
    assert captured.out == ""
    values = outputs(output)
    assert values["promoted"] == "false" and values["outcome"] == "already_serving"
    assert values["branch"] == "" and values["body-file"] == ""
    assert registry.get("churn-classifier", 2).status == "PendingManualApproval"
