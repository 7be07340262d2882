"""Hourly prices of SageMaker instances by use, from the AWS Price List API or a dated table (control plane).

The Price List API (`pricing:GetProducts`, service `AmazonSageMaker`) is asked only when the
caller allows it (the SageMaker backend, or `--prices api`): a newcomer on the local backend
never reaches the network for an estimate. Answers are cached in `.mlops/cache/prices.json`
for a week. Every price carries where it came from, so a report can say so. Serverless
inference (per GB-second) is priced from the table or config only: the Price List's product
attributes for it are not pinned down well enough here to filter on.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from deploy.config.document import safe_data

Use = Literal["hosting", "training", "processing"]
USES: tuple[Use, ...] = ("hosting", "training", "processing")
# The Price List's `component` attribute and the usage-type stem (`USE1-Host:ml.m5.large`) of each use.
_COMPONENT = {"hosting": "Hosting", "training": "Training", "processing": "Processing"}
_USAGE = {"hosting": "Host", "training": "Train", "processing": "Processing"}
CACHE_SECONDS = 7 * 24 * 3600
# The Price List API answers in these regions only; prices of every region are asked from one of them.
PRICE_LIST_REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    use: Use
    instance_type: str
    region: str
    usd_per_hour: float
    source: str  # "price list api", "config override", "table us-east-1 as of 2026-12-01"


@dataclass(frozen=True)
class ServerlessPrice:
    """Serverless inference in USD per GB-second: compute while requests run, provisioned concurrency always."""

    region: str
    compute_gb_second: float
    provisioned_gb_second: float
    source: str


class PriceTable:
    """The dated table shipped in `deploy/cost/price_table.yaml`, with per-project overrides."""

    def __init__(
        self,
        data: dict[str, Any],
        overrides: dict[str, dict[str, float]] | None = None,
        serverless_overrides: dict[str, float] | None = None,
    ) -> None:
        self.region: str = data["region"]
        self.as_of: str = str(data["as_of"])
        self.source: str = data["source"]
        self.hourly: dict[str, dict[str, float]] = {use: dict(data["hourly"].get(use, {})) for use in USES}
        self.overrides = {use: dict((overrides or {}).get(use, {})) for use in USES}
        self.serverless_table: dict[str, float] = dict(data["serverless"])
        self.serverless_overrides = dict(serverless_overrides or {})

    @classmethod
    def load(
        cls, overrides: dict[str, dict[str, float]] | None = None, serverless_overrides: dict[str, float] | None = None
    ) -> PriceTable:
        text = resources.files("deploy.cost").joinpath("price_table.yaml").read_text(encoding="utf-8")
        return cls(safe_data(text), overrides, serverless_overrides)  # copies what it keeps

    def serverless(self, region: str) -> ServerlessPrice:
        values = {**self.serverless_table, **self.serverless_overrides}
        source = "config override" if self.serverless_overrides else f"table {self.region} as of {self.as_of}"
        compute, provisioned = float(values["compute_gb_second"]), float(values["provisioned_gb_second"])
        return ServerlessPrice(region, compute, provisioned, source)

    def override(self, use: Use, instance_type: str, region: str) -> Price | None:
        value = self.overrides[use].get(instance_type)
        return None if value is None else Price(use, instance_type, region, float(value), "config override")

    def lookup(self, use: Use, instance_type: str, region: str) -> Price | None:
        value = self.hourly[use].get(instance_type)
        if value is None:
            return None
        return Price(use, instance_type, region, float(value), f"table {self.region} as of {self.as_of}")


def hourly_on_demand(raw: str, use: Use, instance_type: str) -> float | None:
    """The on-demand USD price per hour in one Price List product document, if it is this use and instance."""
    doc = json.loads(raw)
    usage_type = doc.get("product", {}).get("attributes", {}).get("usagetype", "")
    if not re.fullmatch(rf"(?:[A-Z0-9]+-)?{_USAGE[use]}:{re.escape(instance_type)}", usage_type):
        return None  # e.g. Host-Spot, studio notebooks or asynchronous inference of the same instance
    for term in doc.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if dimension.get("unit", "").lower().startswith("hr") and usd and float(usd) > 0:
                return float(usd)
    return None


class PriceCache:
    """Price List answers kept on disk, so a plan or a report asks the API once a week per instance."""

    def __init__(self, path: Path, now: float | None = None) -> None:
        self.path = path
        self.now = time.time() if now is None else now
        try:
            self.entries: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    @staticmethod
    def key(use: Use, instance_type: str, region: str) -> str:
        return f"{region}/{use}/{instance_type}"

    def get(self, use: Use, instance_type: str, region: str) -> float | None:
        entry = self.entries.get(self.key(use, instance_type, region))
        if not entry or self.now - entry.get("fetched_at", 0) > CACHE_SECONDS:
            return None
        return float(entry["usd_per_hour"])

    def put(self, use: Use, instance_type: str, region: str, usd_per_hour: float) -> None:
        self.entries[self.key(use, instance_type, region)] = {"usd_per_hour": usd_per_hour, "fetched_at": self.now}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.entries, indent=1, sort_keys=True), encoding="utf-8")
        except OSError:
            pass  # a read-only workspace only loses the cache, never the answer


class PriceListApi:
    """`pricing:GetProducts` for one instance, use and region; None when the API has no such product."""

    def __init__(self, client: Any, cache: PriceCache) -> None:
        self.client = client
        self.cache = cache

    def lookup(self, use: Use, instance_type: str, region: str) -> Price | None:
        cached = self.cache.get(use, instance_type, region)
        if cached is not None:
            return Price(use, instance_type, region, cached, "price list api (cached)")
        found = [
            value
            for raw in self._products(use, instance_type, region)
            if (value := hourly_on_demand(raw, use, instance_type)) is not None
        ]
        if not found:
            return None
        self.cache.put(use, instance_type, region, min(found))
        return Price(use, instance_type, region, min(found), "price list api")

    def _products(self, use: Use, instance_type: str, region: str) -> list[str]:
        filters = [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
            {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance_type},
            {"Type": "TERM_MATCH", "Field": "component", "Value": _COMPONENT[use]},
        ]
        products: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"ServiceCode": "AmazonSageMaker", "Filters": filters, "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            page = self.client.get_products(FormatVersion="aws_v1", **kwargs)
            products += page.get("PriceList", [])
            token = page.get("NextToken")
            if not token:
                return products


class Prices:
    """Overrides first, then the Price List API (when allowed and reachable), then the table."""

    def __init__(self, table: PriceTable, api: PriceListApi | None = None) -> None:
        self.table = table
        self.api = api
        self.api_error: str | None = None  # why the API was given up, said once in reports

    def lookup(self, use: Use, instance_type: str, region: str) -> Price | None:
        override = self.table.override(use, instance_type, region)
        if override is not None:
            return override
        if self.api is not None and self.api_error is None:
            try:
                price = self.api.lookup(use, instance_type, region)
            except (BotoCoreError, ClientError) as exc:
                self.api_error = str(exc).splitlines()[0]
            else:
                if price is not None:
                    return price
        return self.table.lookup(use, instance_type, region)

    def serverless(self, region: str) -> ServerlessPrice:
        """Serverless prices come from the table or config only (see `price_table.yaml`)."""
        return self.table.serverless(region)


def for_backend(backend: Any, mode: str | None = None) -> Prices:
    """The price sources a command may use: the API only when allowed (`api`, or `auto` on a backend with AWS)."""
    mode = mode or backend.pipeline.cost.prices
    table = PriceTable.load(backend.pipeline.cost.price_overrides, backend.pipeline.cost.serverless_price_overrides)
    client = backend.price_list_client() if mode != "table" else None
    if mode == "api" and client is None:
        import boto3  # `--prices api` on the local backend: the caller asked for the network

        client = boto3.client("pricing", region_name=PRICE_LIST_REGION)
    cache = PriceCache(backend.workspace.state / "cache" / "prices.json")
    return Prices(table, PriceListApi(client, cache) if client is not None else None)
