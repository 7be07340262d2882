"""The pin rewrite: only the pin lines change, comments and formatting stay byte for byte."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from deploy.config import validate_all
from deploy.config.schema import ModelPin
from deploy.errors import ConfigError
from deploy.promotion.pins import plan_pins, rewrite_pin, write_pins

SHA = "ab" * 32
PIN = ModelPin(version=3, package_arn="local://churn-classifier/3", sha256=SHA)


def changed_lines(before: str, after: str) -> tuple[set[str], set[str]]:
    """(removed, added) lines of a diff."""
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return {d[2:] for d in diff if d.startswith("- ")}, {d[2:] for d in diff if d.startswith("+ ")}


def test_only_the_pin_lines_change(root: Path) -> None:
    changes = plan_pins(root / "config", PIN)
    assert {c.env for c in changes} == {"prod", "staging"}  # every environment, none named in code
    for change in changes:
        removed, added = changed_lines(change.before, change.after)
        assert removed == {"  version:        # empty until the first promotion", "  package_arn:", "  sha256:"}
        assert added == {
            "  version: 3        # empty until the first promotion",
            "  package_arn: local://churn-classifier/3",
            f"  sha256: {SHA}",
        }
        assert len(change.after.splitlines()) == len(change.before.splitlines())
    write_pins(changes)
    result = validate_all(root / "config")
    assert result.problems == []
    assert {env: cfg.model for env, cfg in result.environments.items()} == {"prod": PIN, "staging": PIN}


def test_a_second_promotion_replaces_values_and_keeps_comments(root: Path) -> None:
    write_pins(plan_pins(root / "config", PIN))
    path = root / "config" / "prod.yaml"
    before = path.read_text(encoding="utf-8")
    after = rewrite_pin(before, ModelPin(version=4, package_arn="local://churn-classifier/4", sha256="cd" * 32), path)
    removed, added = changed_lines(before, after)
    assert removed == {
        "  version: 3        # empty until the first promotion",
        "  package_arn: local://churn-classifier/3",
        f"  sha256: {SHA}",
    }
    assert added == {
        "  version: 4        # empty until the first promotion",
        "  package_arn: local://churn-classifier/4",
        f"  sha256: {'cd' * 32}",
    }


def _prod(root: Path) -> tuple[Path, str]:
    path = root / "config" / "prod.yaml"
    return path, path.read_text(encoding="utf-8")


def _model_block(text: str) -> str:
    start = text.index("model:")
    end = text.index("\n\n", start)
    return text[start : end + 1]


def test_bare_model_key_gets_its_lines(root: Path) -> None:
    path, text = _prod(root)
    text = text.replace(_model_block(text), "model:  # filled by promotion\n")
    after = rewrite_pin(text, PIN, path)
    removed, added = changed_lines(text, after)
    assert removed == set()
    assert added == {"  version: 3", "  package_arn: local://churn-classifier/3", f"  sha256: {SHA}"}


def test_missing_model_block_is_inserted_after_the_header_comments(root: Path) -> None:
    path, text = _prod(root)
    text = text.replace(_model_block(text) + "\n", "")
    after = rewrite_pin(text, PIN, path)
    removed, added = changed_lines(text, after)
    assert removed == set() and "model:" in added
    assert after.startswith(text[: text.index("endpoint:")] + "model:\n  version: 3\n")


def test_partial_pin_gets_the_missing_keys(root: Path) -> None:
    path, text = _prod(root)
    text = text.replace(_model_block(text), "model:\n  version:\n")
    after = rewrite_pin(text, PIN, path)
    assert _model_block(after) == f"model:\n  version: 3\n  package_arn: local://churn-classifier/3\n  sha256: {SHA}\n"


def test_crlf_line_endings_are_kept(root: Path) -> None:
    path, text = _prod(root)
    crlf = text.replace("\n", "\r\n")
    after = rewrite_pin(crlf, PIN, path)
    assert after == rewrite_pin(text, PIN, path).replace("\n", "\r\n")


def test_values_that_would_not_read_back_as_strings_are_quoted(root: Path) -> None:
    path, text = _prod(root)
    digits = "1" * 64  # a sha256 of only digits would read back as an integer
    after = rewrite_pin(text, ModelPin(version=3, package_arn="local://g/3", sha256=digits), path)
    assert f'  sha256: "{digits}"' in after.splitlines()


@pytest.mark.parametrize(
    ("tail", "says"),
    [("model: [\n", r"invalid YAML \(line"), ("deep: " + "[" * 400 + "]" * 400 + "\n", "nested too deeply")],
    ids=["broken", "nested-too-deeply"],
)
def test_an_unreadable_environment_file_is_a_config_error_naming_it(root: Path, tail: str, says: str) -> None:
    path, text = _prod(root)
    path.write_text(text + tail)
    with pytest.raises(ConfigError, match=says) as raised:
        plan_pins(root / "config", PIN)
    assert str(path) in raised.value.message


def test_flow_style_pin_is_refused(root: Path) -> None:
    path, text = _prod(root)
    text = text.replace(_model_block(text), "model: {version: 1, sha256: " + "a" * 64 + "}\n")
    with pytest.raises(ConfigError, match="block mapping"):
        rewrite_pin(text, PIN, path)
