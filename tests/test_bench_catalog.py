"""The catalogue part of `konveyer bench` at a tiny size, so it cannot rot: the generated files import completely
(the figures themselves depend on the machine and are not asserted)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bench.pgdb import postgres_url
from bench.report import Report
from bench.run import Sizes, bench_catalog


async def test_the_catalogue_bench_imports_every_generated_offer(tmp_path: Path) -> None:
    report = Report(quick=True)
    await bench_catalog(
        report, replace(Sizes.quick(), catalog_offers=300), tmp_path, postgres_url(), "konveyer_bench_catalog"
    )
    for label, result in report.details["catalog"].items():
        assert result["stats"] == {
            "groups": 220,
            "products": 300,
            "offers": 300,
            "price_types": 2,
            "prices": 600,
            "warehouses": 2,
            "stock": 600,
            "organisations": 0,
        }, label
    rows = [row.metric for row in report.rows]
    assert any(metric.startswith("offers/s, 300 offers") for metric in rows)
    assert any(metric.startswith("peak RSS of the import") for metric in rows)
