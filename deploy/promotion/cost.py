"""The cost section of the promotion report: the candidate's training run and a month of serving (control plane).

Training: each job of the run that produced the candidate, at its instance type × billed
seconds (spot runs bill fewer seconds than they ran; the saving is shown). A local run has no
bill, so its steps are priced as the configured SageMaker instances for the time they took
here, and the section says it is an estimate. Serving: the monthly cost of every environment
as configured (a promotion changes only pins, so this is the bill the reviewer keeps paying);
a serverless environment shows its fixed provisioned-concurrency cost, or that it bills per
request and nothing while idle.
"""

from __future__ import annotations

from dataclasses import dataclass

from deploy.config.schema import EnvironmentConfig
from deploy.cost.estimate import JobCost, endpoint_cost, jobs_from_lineage, money, run_cost
from deploy.cost.prices import Prices
from deploy.registry import ModelVersion

NA = "—"
LEFT_OUT = "storage, data transfer and requests not included"


@dataclass(frozen=True)
class CostView:
    jobs: list[dict[str, str]]
    total: str
    estimate: bool
    serving: list[dict[str, str]]
    sources: str


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _job_row(job: JobCost) -> dict[str, str]:
    notes = []
    if job.spot:
        saving = job.spot_saving
        notes.append(f"spot, saved {saving:.0%}" if saving is not None else "spot")
    return {
        "job": job.name,
        "instance": f"{job.instance_type} × {job.instance_count}",
        "billed": _duration(job.billed_seconds),
        "cost": NA if job.usd is None else ("<$0.01" if job.usd < 0.005 else money(job.usd)),
        "note": ", ".join(notes),
    }


def cost_view(
    candidate: ModelVersion, prices: Prices, region: str, environments: dict[str, EnvironmentConfig]
) -> CostView:
    jobs = jobs_from_lineage(candidate.lineage, prices, region)
    total = run_cost(jobs) if jobs else None
    serving, used = [], {j.price.source for j in jobs if j.price}
    for env, cfg in environments.items():
        cost = endpoint_cost(prices, region, cfg.endpoint)
        serving.append({"env": env, "endpoint": cfg.endpoint.name, "monthly": cost.describe()})
        if cost.price is not None:
            used.add(cost.price.source)
    sources = f"{region}, {', '.join(sorted(used)) or 'no prices'}; {LEFT_OUT}"
    if prices.api_error:
        sources += f" (Price List API not used: {prices.api_error})"
    return CostView(
        jobs=[_job_row(job) for job in jobs],
        total=NA if total is None else money(total),
        estimate=any(job.estimate for job in jobs),
        serving=serving,
        sources=sources,
    )
