"""Instance prices: the Price List API with recorded responses (Stubber), its cache, overrides and the table."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from deploy.cost.prices import PriceCache, PriceListApi, Prices, PriceTable, hourly_on_demand

REGION = "eu-west-1"


def product(usage_type: str, usd: str, unit: str = "Hrs") -> str:
    """One product document as `GetProducts` returns it (a JSON string), trimmed to the fields read."""
    return json.dumps(
        {
            "product": {
                "productFamily": "ML Instance",
                "attributes": {"usagetype": usage_type, "instanceName": "ml.m5.large", "regionCode": REGION},
            },
            "terms": {
                "OnDemand": {
                    "SKU.TERM": {"priceDimensions": {"SKU.TERM.DIM": {"unit": unit, "pricePerUnit": {"USD": usd}}}}
                }
            },
        }
    )


def expected_params(component: str, token: str | None = None) -> dict:
    params = {
        "ServiceCode": "AmazonSageMaker",
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": REGION},
            {"Type": "TERM_MATCH", "Field": "instanceName", "Value": "ml.m5.large"},
            {"Type": "TERM_MATCH", "Field": "component", "Value": component},
        ],
    }
    if token:
        params["NextToken"] = token
    return params


@pytest.fixture
def pricing():
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_hosting_price_is_the_host_usage_type_across_pages_and_is_cached(pricing, tmp_path: Path) -> None:
    client, stub = pricing
    # Page 1: the spot and asynchronous products of the same instance are not the on-demand hosting price.
    stub.add_response(
        "get_products",
        {"PriceList": [product("EU-Host-Spot:ml.m5.large", "0.04"), product("EU-AsyncHost:ml.m5.large", "0.2")],
         "NextToken": "t1", "FormatVersion": "aws_v1"},
        expected_params("Hosting"),
    )  # fmt: skip
    stub.add_response(
        "get_products",
        {"PriceList": [product("EU-Host:ml.m5.large", "0.1280000000")], "FormatVersion": "aws_v1"},
        expected_params("Hosting", "t1"),
    )
    api = PriceListApi(client, PriceCache(tmp_path / "prices.json", now=1000.0))
    price = api.lookup("hosting", "ml.m5.large", REGION)
    assert price is not None and price.usd_per_hour == pytest.approx(0.128) and price.source == "price list api"
    # A second lookup within the week is answered from the file, with no call (the stub has none left).
    again = PriceListApi(client, PriceCache(tmp_path / "prices.json", now=1000.0 + 6 * 24 * 3600))
    cached = again.lookup("hosting", "ml.m5.large", REGION)
    assert cached is not None and cached.usd_per_hour == pytest.approx(0.128)
    assert cached.source == "price list api (cached)"


def test_a_cache_older_than_a_week_asks_again(pricing, tmp_path: Path) -> None:
    client, stub = pricing
    PriceCache(tmp_path / "prices.json", now=0.0).put("training", "ml.m5.large", REGION, 0.5)
    stub.add_response(
        "get_products",
        {"PriceList": [product("EU-Train:ml.m5.large", "0.128")], "FormatVersion": "aws_v1"},
        expected_params("Training"),
    )
    api = PriceListApi(client, PriceCache(tmp_path / "prices.json", now=8 * 24 * 3600.0))
    assert api.lookup("training", "ml.m5.large", REGION).usd_per_hour == pytest.approx(0.128)


def test_api_errors_fall_back_to_the_table_and_say_why(pricing, tmp_path: Path) -> None:
    client, stub = pricing
    stub.add_client_error("get_products", "AccessDeniedException", "not authorized to perform pricing:GetProducts")
    prices = Prices(PriceTable.load(), PriceListApi(client, PriceCache(tmp_path / "p.json")))
    price = prices.lookup("hosting", "ml.m5.large", REGION)
    assert price is not None and price.usd_per_hour == pytest.approx(0.115)
    assert price.source.startswith("table us-east-1 as of ")
    assert "pricing:GetProducts" in (prices.api_error or "")
    # Given up once: the next lookup does not ask again (the stub would fail on an unexpected call).
    assert prices.lookup("hosting", "ml.m5.xlarge", REGION).usd_per_hour == pytest.approx(0.23)


def test_an_instance_the_api_does_not_price_falls_back_to_the_table(pricing, tmp_path: Path) -> None:
    client, stub = pricing
    stub.add_response("get_products", {"PriceList": [], "FormatVersion": "aws_v1"}, expected_params("Hosting"))
    prices = Prices(PriceTable.load(), PriceListApi(client, PriceCache(tmp_path / "p.json")))
    assert prices.lookup("hosting", "ml.m5.large", REGION).source.startswith("table")


def test_overrides_win_over_api_and_table() -> None:
    table = PriceTable.load({"hosting": {"ml.m5.large": 0.09}})
    price = Prices(table, api=None).lookup("hosting", "ml.m5.large", REGION)
    assert price.usd_per_hour == 0.09 and price.source == "config override"
    assert Prices(table).lookup("training", "ml.m5.large", REGION).source.startswith("table")


def test_unknown_instance_has_no_price() -> None:
    assert Prices(PriceTable.load()).lookup("hosting", "ml.x99.large", REGION) is None


def test_the_table_is_dated_and_sourced() -> None:
    table = PriceTable.load()
    assert table.as_of and table.source and table.region == "us-east-1"
    assert all(value > 0 for use in table.hourly.values() for value in use.values())


@pytest.mark.parametrize(
    ("usage_type", "unit", "usd", "expected"),
    [
        ("USE1-Host:ml.m5.large", "Hrs", "0.115", 0.115),
        ("Host:ml.m5.large", "Hrs", "0.115", 0.115),
        ("USE1-Host:ml.m5.xlarge", "Hrs", "0.23", None),  # another instance
        ("USE1-Train:ml.m5.large", "Hrs", "0.115", None),  # another use
        ("USE1-Host:ml.m5.large", "GB-Mo", "0.14", None),  # storage, not instance hours
        ("USE1-Host:ml.m5.large", "Hrs", "0.0000000000", None),  # free-tier rows
    ],
)
def test_product_parsing(usage_type: str, unit: str, usd: str, expected: float | None) -> None:
    assert hourly_on_demand(product(usage_type, usd, unit), "hosting", "ml.m5.large") == expected
