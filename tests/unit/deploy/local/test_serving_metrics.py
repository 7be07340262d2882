"""Shared per-variant counters: buckets, percentiles of a window, and the worker files summed."""

from __future__ import annotations

from pathlib import Path

from deploy.local.serving_metrics import (
    BUCKETS,
    Histogram,
    MetricsBlock,
    VariantMetrics,
    bucket_of,
    bucket_value,
    percentile,
    read_metrics,
)


def test_buckets_are_within_ten_percent() -> None:
    for micros in (1, 7, 850, 1_000, 12_345, 250_000, 3_000_000):
        assert abs(bucket_value(bucket_of(micros)) / micros - 1) < 0.1
    assert bucket_of(0) == 0 and bucket_of(10**12) == BUCKETS - 1


def test_percentile_of_a_histogram_diff() -> None:
    counts = [0] * BUCKETS
    counts[bucket_of(1_000)] = 98
    counts[bucket_of(200_000)] = 2
    later = Histogram(tuple(counts))
    assert abs(percentile(later.counts, 50) - 1_000) < 100
    assert abs(later.percentile_us(99) - 200_000) < 20_000
    assert (later - later).percentile_us(99) is None


def test_worker_files_sum_by_variant_and_windows_diff(tmp_path: Path) -> None:
    first, second = MetricsBlock(tmp_path / "worker-0.bin"), MetricsBlock(tmp_path / "worker-1.bin")
    blue, green = first.slot("blue"), first.slot("green")
    assert first.slot("blue") == blue  # a name keeps its slot
    first.record(blue, 200, 1_500, 1_000)
    earlier = read_metrics(tmp_path)
    first.record(green, 500, 2_000, 1_800)
    second.record(second.slot("blue"), 400, 300, None)
    second.record(second.slot("blue"), 200, 2_500, 2_000)
    totals = read_metrics(tmp_path)
    assert totals["blue"].invocations == 3 and totals["green"].errors_5xx == 1
    window = totals["blue"].window(earlier["blue"])
    assert (window.count, window.errors_4xx, window.errors_5xx) == (2, 1, 0)
    assert window.model_latency_avg_us == 2_000 and window.overhead_latency_avg_us == 400
    assert window.latency.count == 2 and window.model_latency.count == 1
    assert totals["green"].window().p99_ms is not None
    assert VariantMetrics().window().p50_ms is None


def test_a_reopened_block_keeps_counting(tmp_path: Path) -> None:
    block = MetricsBlock(tmp_path / "worker-0.bin")
    block.record(block.slot("blue"), 200, 10, 5)
    again = MetricsBlock(tmp_path / "worker-0.bin")  # a restarted worker
    again.record(again.slot("blue"), 200, 10, 5)
    assert read_metrics(tmp_path)["blue"].invocations == 2
