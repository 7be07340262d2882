"""Alarm maths of the local backend on synthetic metric windows: statistics, comparisons, periods."""

from __future__ import annotations

import pytest

from deploy.config.schema import AlarmConfig
from deploy.local.alarms import AlarmMonitor, AlarmState, compare, metric_value
from deploy.local.serving_metrics import BUCKETS, Histogram, VariantMetrics, bucket_of

OVERHEAD_US = 500


def traffic(requests: list[tuple[int, float]]) -> VariantMetrics:
    """Cumulative counters of (status, model latency µs) requests, each with 500 µs of overhead."""
    total, model = [0] * BUCKETS, [0] * BUCKETS
    for _, micros in requests:
        total[bucket_of(micros + OVERHEAD_US)] += 1
        model[bucket_of(micros)] += 1
    return VariantMetrics(
        invocations=len(requests),
        errors_4xx=sum(1 for status, _ in requests if 400 <= status < 500),
        errors_5xx=sum(1 for status, _ in requests if status >= 500),
        latency_us_sum=int(sum(m + OVERHEAD_US for _, m in requests)),
        model_latency_us_sum=int(sum(m for _, m in requests)),
        model_latency_count=len(requests),
        histogram=Histogram(tuple(total)),
        model_histogram=Histogram(tuple(model)),
    )


def alarm(metric: str, statistic: str = "Sum", threshold: float = 1, **extra) -> AlarmConfig:
    return AlarmConfig(name="a", metric=metric, statistic=statistic, threshold=threshold, **extra)


MIXED = [(200, 1000.0)] * 7 + [(500, 1000.0)] * 2 + [(400, 1000.0)]


@pytest.mark.parametrize(
    ("metric", "statistic", "expected"),
    [
        ("Invocation5XXErrors", "Sum", 2),
        ("Invocation5XXErrors", "Average", 0.2),
        ("Invocation5XXErrors", "Maximum", 1),
        ("Invocation5XXErrors", "Minimum", 0),
        ("Invocation5XXErrors", "SampleCount", 10),
        ("Invocation4XXErrors", "Sum", 1),
        ("Invocations", "Sum", 10),
        ("Invocations", "Average", 1),
    ],
)
def test_count_metrics_are_statistics_of_per_request_datapoints(metric: str, statistic: str, expected: float) -> None:
    assert metric_value(alarm(metric, statistic), traffic(MIXED).window()) == pytest.approx(expected)


def test_latency_percentiles_average_and_extremes() -> None:
    latencies = [1000.0] * 98 + [200_000.0] * 2  # two slow requests out of 100
    window = traffic([(200, m) for m in latencies]).window()
    assert metric_value(alarm("ModelLatency", "p50"), window) == pytest.approx(1000, rel=0.1)
    assert metric_value(alarm("ModelLatency", "p99"), window) == pytest.approx(200_000, rel=0.1)
    assert metric_value(alarm("ModelLatency", "p98"), window) == pytest.approx(1000, rel=0.1)
    assert metric_value(alarm("ModelLatency", "Average"), window) == pytest.approx(sum(latencies) / 100)
    assert metric_value(alarm("ModelLatency", "Maximum"), window) == pytest.approx(200_000, rel=0.1)
    assert metric_value(alarm("ModelLatency", "Minimum"), window) == pytest.approx(1000, rel=0.1)
    assert metric_value(alarm("ModelLatency", "Sum"), window) == pytest.approx(sum(latencies))
    assert metric_value(alarm("OverheadLatency", "Average"), window) == pytest.approx(OVERHEAD_US)


METRICS = ("Invocation5XXErrors", "Invocation4XXErrors", "Invocations", "ModelLatency", "OverheadLatency")


@pytest.mark.parametrize(
    ("metric", "statistic"),
    [(m, s) for m in METRICS for s in ("Sum", "Average", "Maximum")]
    + [("ModelLatency", "p99"), ("OverheadLatency", "p99")],  # percentiles apply to latencies only
)
def test_a_period_without_requests_has_no_value(metric: str, statistic: str) -> None:
    assert metric_value(alarm(metric, statistic), VariantMetrics().window()) is None


@pytest.mark.parametrize(
    ("comparison", "below", "equal", "above"),
    [
        ("GreaterThanOrEqualToThreshold", False, True, True),
        ("GreaterThanThreshold", False, False, True),
        ("LessThanThreshold", True, False, False),
        ("LessThanOrEqualToThreshold", True, True, False),
    ],
)
def test_comparisons(comparison: str, below: bool, equal: bool, above: bool) -> None:
    assert (compare(comparison, 0.5, 1), compare(comparison, 1, 1), compare(comparison, 2, 1)) == (below, equal, above)


def test_evaluation_periods_need_consecutive_breaching_periods() -> None:
    state = AlarmState(alarm("Invocation5XXErrors", evaluation_periods=3), time_scale=0.01)
    assert state.period == pytest.approx(0.6)
    assert [state.observe(v) for v in (1, 2)] == [None, None]
    assert state.observe(0) is None  # a quiet period breaks the run
    assert state.observe(1) is None and state.observe(1) is None
    breach = state.observe(4)
    assert breach is not None and breach.value == 4 and breach.periods == 3


def test_a_period_without_datapoints_is_not_breaching_and_ends_the_run() -> None:
    rule = alarm("Invocations", threshold=5, comparison="LessThanThreshold", evaluation_periods=2)
    state = AlarmState(rule, time_scale=0.01)
    assert state.observe(None) is None and state.observe(None) is None  # no traffic at all: never fires
    assert state.observe(3) is None
    assert state.observe(None) is None
    assert state.observe(3) is None
    assert state.observe(2) is not None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_monitor_judges_each_period_on_the_new_requests_only() -> None:
    clock, counters = Clock(), {"metrics": traffic([(500, 1000.0)] * 3)}  # errors before the bake do not count
    monitor = AlarmMonitor([alarm("Invocation5XXErrors")], 0.01, lambda: counters["metrics"], clock)
    counters["metrics"] = traffic([(500, 1000.0)] * 3 + [(200, 1000.0)] * 50)
    clock.now += 0.3
    assert monitor.poll() is None  # the 0.6 s period is still open
    clock.now += 0.31
    assert monitor.poll() is None  # closed: 50 good requests, Sum 0
    counters["metrics"] = traffic([(500, 1000.0)] * 3 + [(200, 1000.0)] * 50 + [(500, 1000.0)])
    clock.now += 0.6
    breach = monitor.poll()
    assert breach is not None and breach.value == 1
    text = breach.describe()
    assert "'a'" in text and "Invocation5XXErrors Sum = 1" in text and "≥ threshold 1" in text and "0.6 s" in text


def test_monitor_flush_judges_the_open_period_and_tolerates_a_missing_variant() -> None:
    clock, counters = Clock(), {"metrics": None}
    monitor = AlarmMonitor([alarm("ModelLatency", "p99", 100_000)], 0.01, lambda: counters["metrics"], clock)
    clock.now += 1.3
    assert monitor.poll() is None  # two empty periods: no datapoints, not breaching
    counters["metrics"] = traffic([(200, 250_000.0)] * 5)
    breach = monitor.flush()
    assert breach is not None and breach.value == pytest.approx(250_000, rel=0.1)
    assert "µs" in breach.describe()
