"""Rollback alarms evaluated on a local endpoint's own metrics, the way CloudWatch would (control plane).

Each `AlarmConfig` is watched over consecutive periods of `period_seconds × time_scale` on the
datapoints of one variant (the new, green one during a deploy):

* SageMaker publishes one datapoint per request, so a period's statistic is taken over the
  requests the variant answered in it. `Invocation5XXErrors` and `Invocation4XXErrors` are 1
  for a failed request and 0 otherwise (Sum = error count, Average = error rate, Maximum = any
  error); `Invocations` is 1 per request (Sum = request count); `ModelLatency` is the time in
  the model handlers in microseconds (pNN read from the server's latency histogram, about
  ±9 %); `OverheadLatency` is the rest of the request time (its Average and Sum are exact, its
  percentiles and extremes approximate: end-to-end latency minus the mean model latency).
* A period with no datapoints has no value and is **not breaching** (CloudWatch's
  `TreatMissingData: notBreaching`): a canary that got no traffic cannot be judged, which is
  why `mlops deploy --traffic` exists. It also ends a run of breaching periods.
* The alarm fires when the comparison holds for `evaluation_periods` consecutive periods.

Both backends judge the same thing: here the green variant alone, on SageMaker the new
endpoint config's fleet alone (its EndpointConfigName metrics). One difference is kept on
purpose: SageMaker's percentile alarms skip a period with fewer requests than CloudWatch needs
for the percentile (`EvaluateLowSampleCountPercentile: ignore`, 1,000 for p99), while a local
period, `time_scale` times shorter at the same request rate, holds too few requests for that
rule to leave anything to judge, so locally every period with datapoints is judged.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from deploy.config.schema import AlarmConfig
from deploy.local.serving_metrics import Histogram, VariantMetrics, WindowStats, bucket_value

MIN_PERIOD_SECONDS = 0.05  # below this the server's counters are read more often than they change
SYMBOLS = {
    "GreaterThanOrEqualToThreshold": "≥",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
}


def compare(comparison: str, value: float, threshold: float) -> bool:
    if comparison == "GreaterThanOrEqualToThreshold":
        return value >= threshold
    if comparison == "GreaterThanThreshold":
        return value > threshold
    if comparison == "LessThanThreshold":
        return value < threshold
    if comparison == "LessThanOrEqualToThreshold":
        return value <= threshold
    raise ValueError(f"unknown comparison {comparison!r}")


def _extreme(histogram: Histogram, highest: bool) -> float | None:
    used = [i for i, count in enumerate(histogram.counts) if count]
    if not used:
        return None
    return bucket_value(used[-1] if highest else used[0])


def _flag_statistic(statistic: str, flagged: int, count: int) -> float | None:
    """A statistic of per-request 0/1 datapoints (`flagged` ones out of `count`)."""
    if count <= 0:
        return None
    if statistic == "Sum":
        return float(flagged)
    if statistic == "SampleCount":
        return float(count)
    if statistic == "Average":
        return flagged / count
    if statistic == "Maximum":
        return 1.0 if flagged else 0.0
    if statistic == "Minimum":
        return 1.0 if flagged == count else 0.0
    rank = max(1, math.ceil(count * float(statistic[1:]) / 100))  # pNN of sorted zeros and ones
    return 1.0 if rank > count - flagged else 0.0


def _latency_statistic(statistic: str, histogram: Histogram, average: float | None, shift: float = 0.0) -> float | None:
    """A statistic of per-request latencies (µs) from a histogram; `shift` is subtracted from each."""
    count = histogram.count
    if count <= 0 or average is None:
        return None
    if statistic == "Average":
        return average
    if statistic == "Sum":
        return average * count
    if statistic == "SampleCount":
        return float(count)
    if statistic in ("Maximum", "Minimum"):
        value = _extreme(histogram, statistic == "Maximum")
    else:
        value = histogram.percentile_us(float(statistic[1:]))
    return None if value is None else max(0.0, value - shift)


def metric_value(alarm: AlarmConfig, window: WindowStats) -> float | None:
    """The alarm's statistic over one period's window; None when the period has no datapoints."""
    if alarm.metric == "Invocation5XXErrors":
        return _flag_statistic(alarm.statistic, window.errors_5xx, window.count)
    if alarm.metric == "Invocation4XXErrors":
        return _flag_statistic(alarm.statistic, window.errors_4xx, window.count)
    if alarm.metric == "Invocations":
        return _flag_statistic(alarm.statistic, window.count, window.count)
    if alarm.metric == "ModelLatency":
        return _latency_statistic(alarm.statistic, window.model_latency, window.model_latency_avg_us)
    model_avg = window.model_latency_avg_us or 0.0
    return _latency_statistic(alarm.statistic, window.latency, window.overhead_latency_avg_us, shift=model_avg)


@dataclass(frozen=True)
class Breach:
    """An alarm that went into ALARM: what it watched, what it saw, over how many periods."""

    alarm: AlarmConfig
    value: float
    periods: int
    period_seconds: float

    def describe(self) -> str:
        a = self.alarm
        unit = " µs" if a.metric.endswith("Latency") else ""
        return (
            f"alarm '{a.name}' fired: {a.metric} {a.statistic} = {_number(self.value)}{unit} "
            f"{SYMBOLS[a.comparison]} threshold {_number(a.threshold)}{unit} for {self.periods} consecutive "
            f"period(s) of {self.period_seconds:g} s ({a.period_seconds} s × time_scale)"
        )


def _number(value: float) -> str:
    if math.isfinite(value) and (value == int(value) or abs(value) >= 100):
        return f"{value:,.0f}"
    return f"{value:,.3f}"


class AlarmState:
    """One alarm's run of consecutive breaching periods."""

    def __init__(self, alarm: AlarmConfig, time_scale: float) -> None:
        self.alarm = alarm
        self.period = max(MIN_PERIOD_SECONDS, alarm.period_seconds * time_scale)
        self.streak = 0
        self.history: list[float | None] = []

    def observe(self, value: float | None) -> Breach | None:
        """Record one period's value (None: no datapoints); a Breach once the streak is long enough."""
        self.history.append(value)
        breaching = value is not None and compare(self.alarm.comparison, value, self.alarm.threshold)
        self.streak = self.streak + 1 if breaching else 0
        if self.streak >= self.alarm.evaluation_periods:
            assert value is not None
            return Breach(self.alarm, value, self.streak, self.period)
        return None


class AlarmMonitor:
    """Every alarm of an environment, each on its own period clock, over one variant's counters."""

    def __init__(
        self,
        alarms: list[AlarmConfig],
        time_scale: float,
        read: Callable[[], VariantMetrics | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read = read
        self.clock = clock
        self.states = [AlarmState(a, time_scale) for a in alarms]
        start, first = clock(), read() or VariantMetrics()
        self._boundary = [start + s.period for s in self.states]
        self._last = [first for _ in self.states]

    def poll(self) -> Breach | None:
        """Close every period that has ended; the first alarm that fires, if any."""
        now = self.clock()
        for index, state in enumerate(self.states):
            while now >= self._boundary[index]:
                breach = self._close(index, state)
                self._boundary[index] += state.period
                if breach is not None:
                    return breach
        return None

    def flush(self) -> Breach | None:
        """Close the periods still open (the end of a bake), judging them on what they hold so far."""
        for index, state in enumerate(self.states):
            breach = self._close(index, state)
            if breach is not None:
                return breach
        return None

    def _close(self, index: int, state: AlarmState) -> Breach | None:
        current = self.read() or VariantMetrics()
        window = current.window(self._last[index])
        self._last[index] = current
        return state.observe(metric_value(state.alarm, window))
