"""Monthly serving cost of an environment and the change a plan implies; the cost of a training run (control plane).

An always-on endpoint bills every instance for every hour: 730 hours a month (AWS's own
monthly figure). With autoscaling the bill lies between `min_capacity` and `max_capacity`
instances; the estimate shows both ends. A serverless endpoint bills per request
(`deploy.cost.serverless`): its fixed part is provisioned concurrency, if any. Storage, data
transfer and requests are left out: for CPU endpoints they are cents against the instance
hours, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deploy.cost.prices import Price, Prices
from deploy.cost.serverless import ServerlessCost

if TYPE_CHECKING:
    from deploy.config.schema import EndpointConfig, EnvironmentConfig
    from deploy.endpoints import LiveState

HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class ServingCost:
    """What one environment's endpoint costs a month, at the low and high end of its instance count."""

    instance_type: str
    low_count: int
    high_count: int
    price: Price | None

    @property
    def monthly_low(self) -> float | None:
        return None if self.price is None else self.price.usd_per_hour * self.low_count * HOURS_PER_MONTH

    @property
    def monthly_high(self) -> float | None:
        return None if self.price is None else self.price.usd_per_hour * self.high_count * HOURS_PER_MONTH

    def describe(self) -> str:
        if self.price is None:
            return f"{self.instance_type} × {self._counts()}: no price known (add it to cost.price_overrides)"
        return f"{money_range(self.monthly_low, self.monthly_high)}/month ({self.instance_type} × {self._counts()})"

    def _counts(self) -> str:
        return str(self.low_count) if self.low_count == self.high_count else f"{self.low_count}–{self.high_count}"


Cost = ServingCost | ServerlessCost


def money(value: float) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def money_range(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "unknown"
    return money(low) if abs(high - low) < 0.005 else f"{money(low)}–{money(high)}"


def serving_cost(
    prices: Prices, region: str, instance_type: str | None, count: int | None, autoscaling: dict[str, Any] | None
) -> ServingCost | None:
    """The monthly cost of an endpoint shape; None when there is no endpoint (nothing is billed)."""
    if not instance_type or not count:
        return None
    low = high = count
    if autoscaling and autoscaling.get("enabled"):
        low, high = int(autoscaling["min_capacity"]), int(autoscaling["max_capacity"])
    return ServingCost(instance_type, low, high, prices.lookup("hosting", instance_type, region))


def endpoint_cost(prices: Prices, region: str, endpoint: EndpointConfig) -> Cost:
    """The monthly cost of the endpoint git describes."""
    if endpoint.serverless is not None:
        s = endpoint.serverless
        return ServerlessCost(s.memory_size_mb, s.max_concurrency, s.provisioned_concurrency, prices.serverless(region))
    cost = serving_cost(
        prices, region, endpoint.instance_type, endpoint.instance_count, endpoint.autoscaling.model_dump()
    )
    assert cost is not None  # the schema always gives an instance endpoint a type and a count
    return cost


def live_cost(prices: Prices, region: str, live: LiveState) -> Cost | None:
    """The monthly cost of what is live; None when nothing is billed."""
    if live.serverless:
        s = live.serverless
        price = prices.serverless(region)
        return ServerlessCost(s["memory_size_mb"], s["max_concurrency"], s.get("provisioned_concurrency"), price)
    return serving_cost(prices, region, live.instance_type, live.instance_count, live.autoscaling)


def delta_line(desired: Cost | None, live: Cost | None) -> str:
    """One line for `mlops plan`: the monthly cost as configured and what the change adds or saves."""
    if desired is None and live is None:
        return "monthly cost: nothing is billed"
    if desired is None:
        return f"monthly cost: {live.describe() if live else ''} → nothing (the endpoint goes)"
    if live is None:
        return f"monthly cost: {desired.describe()} (new)"
    if desired == live:
        return f"monthly cost: {desired.describe()} (unchanged)"
    low, high = _difference(desired.monthly_low, live.monthly_low), _difference(desired.monthly_high, live.monthly_high)
    change = "unknown" if low is None or high is None else _signed_range(low, high)
    return f"monthly cost: {live.describe()} → {desired.describe()}, {change}/month"


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _signed_range(low: float, high: float) -> str:
    def signed(value: float) -> str:
        return ("+" if value >= 0 else "") + money(value)

    return signed(low) if abs(high - low) < 0.005 else f"{signed(low)} to {signed(high)}"


@dataclass(frozen=True)
class JobCost:
    """One billed job of a training run: instance hours at the on-demand price, and what spot saved."""

    name: str
    use: str
    instance_type: str
    instance_count: int
    billed_seconds: float
    run_seconds: float
    price: Price | None
    spot: bool = False
    estimate: bool = False  # local run: the configured SageMaker instances for the local step time

    @property
    def usd(self) -> float | None:
        if self.price is None:
            return None
        return self.price.usd_per_hour * self.instance_count * self.billed_seconds / 3600

    @property
    def spot_saving(self) -> float | None:
        """Share of the on-demand cost that spot saved (SageMaker bills `BillableTimeInSeconds` of spot runs)."""
        if self.run_seconds <= 0 or self.billed_seconds >= self.run_seconds:
            return None
        return 1 - self.billed_seconds / self.run_seconds


def jobs_from_lineage(lineage: dict[str, Any], prices: Prices, region: str) -> list[JobCost]:
    """The billed jobs a registered version's lineage records (`jobs`), priced; [] for older versions."""
    jobs = []
    for name, job in (lineage.get("jobs") or {}).items():
        use = "training" if job.get("use") == "training" else "processing"
        jobs.append(
            JobCost(
                name=name,
                use=use,
                instance_type=str(job["instance_type"]),
                instance_count=int(job.get("instance_count", 1)),
                billed_seconds=float(job["billed_seconds"]),
                run_seconds=float(job.get("run_seconds", job["billed_seconds"])),
                price=prices.lookup(use, str(job["instance_type"]), region),
                spot=bool(job.get("spot")),
                estimate=bool(job.get("estimate")),
            )
        )
    return jobs


def run_cost(jobs: list[JobCost]) -> float | None:
    costs = [job.usd for job in jobs]
    return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)


def environment_cost(prices: Prices, region: str, cfg: EnvironmentConfig, live: LiveState | None) -> str:
    """The plan's cost line: what git's endpoint shape costs a month, against what is live."""
    desired = endpoint_cost(prices, region, cfg.endpoint)
    current = live_cost(prices, region, live) if live is not None else None
    line = delta_line(desired, current)
    sources = {c.price.source for c in (desired, current) if c is not None and c.price is not None}
    return f"{line} [{region}; prices: {', '.join(sorted(sources)) or 'none'}]"
