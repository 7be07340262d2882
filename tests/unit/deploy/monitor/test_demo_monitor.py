"""The demo's monitoring round: capture turned on for every request, and shifts that move exactly three features."""

from __future__ import annotations

from deploy.demo_monitor import SHIFTED, customers, enable_capture
from tests.conftest import REPO


def test_enable_capture_changes_only_those_lines() -> None:
    before = (REPO / "config" / "prod.yaml").read_text()
    after = enable_capture(before)
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [
        ("    enabled: false", "    enabled: true"),
        ("    sampling_percentage: 20", "    sampling_percentage: 100"),
    ]
    assert "data_capture:\n    enabled: true" in after


def test_the_shifted_wave_moves_exactly_the_three_features() -> None:
    plain, moved = customers(5, shifted=False), customers(5, shifted=True)
    same = [c for c in plain.columns if plain[c].equals(moved[c])]
    assert sorted(set(plain.columns) - set(same)) == sorted(SHIFTED)
    assert moved["monthly_charges"].mean() > 1.25 * plain["monthly_charges"].mean()
    assert 0.1 < (moved["payment_method"] == "crypto").mean() < 0.2
    assert moved["age"].isna().mean() > 0.2 > plain["age"].isna().mean()
