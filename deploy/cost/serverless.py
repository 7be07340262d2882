"""A serverless endpoint's monthly cost: fixed for provisioned concurrency, the rest per request (control plane).

A serverless variant bills the GB-seconds its requests run (memory × duration) and nothing
while idle, so its monthly bill depends on traffic the config does not know. The fixed part
is known: provisioned concurrency is billed for every second it is provisioned, at
`provisioned concurrency × memory (GB) × seconds in a month × price per GB-second`. The
estimate states that fixed part (zero without provisioned concurrency) and the compute price
the requests add.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deploy.cost.prices import ServerlessPrice

SECONDS_PER_MONTH = 730 * 3600  # AWS's 730-hour month, as for instances


@dataclass(frozen=True)
class ServerlessCost:
    """One serverless variant's bill: the fixed monthly part, and the price of each GB-second of requests."""

    memory_size_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None
    price: ServerlessPrice

    @property
    def fixed_monthly(self) -> float:
        if not self.provisioned_concurrency:
            return 0.0
        gb = self.memory_size_mb / 1024
        return self.provisioned_concurrency * gb * SECONDS_PER_MONTH * self.price.provisioned_gb_second

    # The plan's delta compares these with an instance endpoint's, which has no per-request part.
    @property
    def monthly_low(self) -> float:
        return self.fixed_monthly

    @property
    def monthly_high(self) -> float:
        return self.fixed_monthly

    def describe(self) -> str:
        from deploy.cost.estimate import money

        compute = f"${self.price.compute_gb_second:.7f}/GB-second"
        shape = f"serverless {self.memory_size_mb} MB"
        if self.provisioned_concurrency:
            return (
                f"{money(self.fixed_monthly)}/month for provisioned concurrency "
                f"({shape} × {self.provisioned_concurrency}), plus requests at {compute}"
            )
        return f"billed per request, nothing while idle ({shape}, {compute} of compute)"
