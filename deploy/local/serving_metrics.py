"""Per-variant serving metrics of a local endpoint, shared between processes (both sides).

Each server worker owns one fixed-size file, `metrics/worker-<i>.bin`, mapped into memory and
updated in place on every request: no locks, no syscalls on the hot path. The control plane
reads every worker's file and sums them. All values are cumulative since the server started,
as CloudWatch counters are, so a caller diffs two snapshots to get any window; latencies go
into log-spaced buckets (four per doubling, about ±9 %) from which percentiles of a window are
read back. Latencies are microseconds, the unit of CloudWatch's ModelLatency.
"""

from __future__ import annotations

import array
import math
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

MAX_SLOTS = 16  # variant names a server ever sees; blue and green are reused across deploys
NAME_BYTES = 64
BUCKETS_PER_DOUBLING = 4
BUCKETS = BUCKETS_PER_DOUBLING * 28  # up to 2**28 µs, about 4.5 minutes
# Field offsets inside one variant's slot of int64 values.
VALID, INVOCATIONS, ERRORS_4XX, ERRORS_5XX, LATENCY_SUM, MODEL_SUM, MODEL_COUNT = range(7)
LATENCY_HIST = 7
MODEL_HIST = LATENCY_HIST + BUCKETS
SLOT_FIELDS = MODEL_HIST + BUCKETS
NAMES_SIZE = MAX_SLOTS * NAME_BYTES
FILE_SIZE = NAMES_SIZE + MAX_SLOTS * SLOT_FIELDS * 8


def bucket_of(micros: float) -> int:
    if micros < 1:
        return 0
    return min(BUCKETS - 1, int(math.log2(micros) * BUCKETS_PER_DOUBLING))


def bucket_value(index: int) -> float:
    """A representative latency of a bucket: its geometric middle, in microseconds."""
    return 2 ** ((index + 0.5) / BUCKETS_PER_DOUBLING)


def percentile(counts: tuple[int, ...], q: float) -> float | None:
    """The q-th percentile (0–100) in microseconds of a histogram or histogram diff; None if empty."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = max(1, math.ceil(total * q / 100))
    seen = 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return bucket_value(index)
    return bucket_value(len(counts) - 1)


@dataclass(frozen=True)
class Histogram:
    """Cumulative request counts per latency bucket."""

    counts: tuple[int, ...] = (0,) * BUCKETS

    def __sub__(self, earlier: Histogram) -> Histogram:
        return Histogram(tuple(max(0, a - b) for a, b in zip(self.counts, earlier.counts, strict=True)))

    def __add__(self, other: Histogram) -> Histogram:
        return Histogram(tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)))

    @property
    def count(self) -> int:
        return sum(self.counts)

    def percentile_us(self, q: float) -> float | None:
        return percentile(self.counts, q)


def _ms(micros: float | None) -> float | None:
    return None if micros is None else round(micros / 1000, 3)


@dataclass(frozen=True)
class WindowStats:
    """What happened to one variant between two snapshots."""

    count: int
    errors_4xx: int
    errors_5xx: int
    p50_ms: float | None
    p99_ms: float | None
    model_latency_p50_us: float | None
    model_latency_p99_us: float | None
    model_latency_avg_us: float | None
    overhead_latency_avg_us: float | None
    latency: Histogram  # end-to-end, microseconds: any other percentile of the window
    model_latency: Histogram


@dataclass(frozen=True)
class VariantMetrics:
    """Cumulative counters of one variant, summed over the server's workers."""

    invocations: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    latency_us_sum: int = 0
    model_latency_us_sum: int = 0
    model_latency_count: int = 0
    histogram: Histogram = Histogram()  # end-to-end latency
    model_histogram: Histogram = Histogram()  # time inside input_fn, predict_fn and output_fn

    def __add__(self, other: VariantMetrics) -> VariantMetrics:
        return VariantMetrics(
            *(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__)  # type: ignore[arg-type]
        )

    def window(self, earlier: VariantMetrics | None = None) -> WindowStats:
        """Stats of the requests counted since `earlier` (since the server started if None)."""
        base = earlier or VariantMetrics()
        latency = self.histogram - base.histogram
        model = self.model_histogram - base.model_histogram
        count = self.invocations - base.invocations
        model_count = self.model_latency_count - base.model_latency_count
        model_sum = self.model_latency_us_sum - base.model_latency_us_sum
        overhead_sum = self.latency_us_sum - base.latency_us_sum - model_sum
        return WindowStats(
            count=count,
            errors_4xx=self.errors_4xx - base.errors_4xx,
            errors_5xx=self.errors_5xx - base.errors_5xx,
            p50_ms=_ms(latency.percentile_us(50)),
            p99_ms=_ms(latency.percentile_us(99)),
            model_latency_p50_us=model.percentile_us(50),
            model_latency_p99_us=model.percentile_us(99),
            model_latency_avg_us=model_sum / model_count if model_count else None,
            overhead_latency_avg_us=overhead_sum / count if count else None,
            latency=latency,
            model_latency=model,
        )


class MetricsBlock:
    """One worker's writable metrics file (server side)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < FILE_SIZE:
                os.ftruncate(fd, FILE_SIZE)
            self._map = mmap.mmap(fd, FILE_SIZE)
        finally:
            os.close(fd)
        self._names = memoryview(self._map)[:NAMES_SIZE]
        self.values = memoryview(self._map)[NAMES_SIZE:].cast("q")

    def slot(self, name: str) -> int:
        """The offset of `name`'s fields, claiming a free slot the first time (kept on restart)."""
        encoded = name.encode()[:NAME_BYTES]
        free = None
        for index in range(MAX_SLOTS):
            base = index * SLOT_FIELDS
            if not self.values[base + VALID]:
                free = index if free is None else free
            elif bytes(self._names[index * NAME_BYTES : (index + 1) * NAME_BYTES]).rstrip(b"\0") == encoded:
                return base
        if free is None:
            raise RuntimeError(f"more than {MAX_SLOTS} variant names; restart the endpoint to reset metrics")
        self._names[free * NAME_BYTES : (free + 1) * NAME_BYTES] = encoded.ljust(NAME_BYTES, b"\0")
        self.values[free * SLOT_FIELDS + VALID] = 1  # set last: readers skip half-written names
        return free * SLOT_FIELDS

    def record(self, base: int, status: int, latency_us: int, model_us: int | None) -> None:
        values = self.values
        values[base + INVOCATIONS] += 1
        if status >= 500:
            values[base + ERRORS_5XX] += 1
        elif status >= 400:
            values[base + ERRORS_4XX] += 1
        values[base + LATENCY_SUM] += latency_us
        values[base + LATENCY_HIST + bucket_of(latency_us)] += 1
        if model_us is not None:
            values[base + MODEL_SUM] += model_us
            values[base + MODEL_COUNT] += 1
            values[base + MODEL_HIST + bucket_of(model_us)] += 1


def read_block(path: Path) -> dict[str, VariantMetrics]:
    """One worker's counters by variant name (control plane)."""
    raw = path.read_bytes()
    if len(raw) < FILE_SIZE:
        return {}
    values = array.array("q")
    values.frombytes(raw[NAMES_SIZE:FILE_SIZE])
    found: dict[str, VariantMetrics] = {}
    for index in range(MAX_SLOTS):
        base = index * SLOT_FIELDS
        if not values[base + VALID]:
            continue
        name = raw[index * NAME_BYTES : (index + 1) * NAME_BYTES].rstrip(b"\0").decode(errors="replace")
        found[name] = VariantMetrics(
            *values[base + INVOCATIONS : base + LATENCY_HIST],
            histogram=Histogram(tuple(values[base + LATENCY_HIST : base + MODEL_HIST])),
            model_histogram=Histogram(tuple(values[base + MODEL_HIST : base + SLOT_FIELDS])),
        )
    return found


def read_metrics(folder: Path) -> dict[str, VariantMetrics]:
    """Every worker's counters summed by variant name (control plane)."""
    total: dict[str, VariantMetrics] = {}
    for path in sorted(folder.glob("worker-*.bin")):
        for name, metrics in read_block(path).items():
            total[name] = total[name] + metrics if name in total else metrics
    return total
