"""Streaming: the import's memory stays flat as 1C's files grow. The bench's generator writes a package (import.xml
and offers.xml, two price types, two warehouses, nested groups) of 1,000 and of 10,000 products and offers; each is
imported by the importer of `konveyer catalog import` and of the exchange's `mode=import`, and the peak of Python's
allocations during each import is measured with tracemalloc (deterministic, unlike RSS or time).

The writer holds one batch while it prepares it and one more being written, so the peak follows the batch, not the
file: with batches of 250 records both packages span many batches and the larger one's peak must stay within a
small factor of the smaller one's (on SQLite: 1.30 MB against 1.37 MB). An importer keeping every record it read
peaked nine times the smaller one's on the larger package, one keeping only every record's id 1.8 times: both fail."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.catalog import write_import, write_offers
from flows.clock import FrozenClock
from integrations.onec.importer import import_files
from services import catalogue
from tests import commerceml as cml
from tests.conftest import START

SMALL, LARGE = 1_000, 10_000
BATCH = 250  # records a transaction: both packages span many batches
FACTOR = 1.5  # the larger package's peak against the smaller one's




def _package(folder: Path, size: int) -> list[Path]:
    folder.mkdir()
    write_import(folder / "import.xml", size)
    write_offers(folder / "offers.xml", size)
    return [folder / "import.xml", folder / "offers.xml"]


async def _peak(sessionmaker: async_sessionmaker[AsyncSession], files: list[Path], size: int) -> int:
    """The peak of Python's allocations while the package imports into an empty catalogue, in bytes."""
    await cml.wipe_catalogue(sessionmaker)
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result = await import_files(sessionmaker, FrozenClock(START), files, batch=BATCH)
    peak = tracemalloc.get_traced_memory()[1] - base
    assert (result.counts["products"], result.counts["prices"], result.counts["stock"]) == (size, 2 * size, 2 * size)
    async with sessionmaker() as session:
        assert (await catalogue.stats(session))["offers"] == size
    return peak


async def test_the_imports_memory_does_not_grow_with_the_file(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    small, large = _package(tmp_path / "small", SMALL), _package(tmp_path / "large", LARGE)
    assert large[1].stat().st_size > 9 * small[1].stat().st_size
    tracemalloc.start()
    try:
        await _peak(sessionmaker, small, SMALL)  # warms the caches (statements, the driver) up: not measured
        small_peak = await _peak(sessionmaker, small, SMALL)
        large_peak = await _peak(sessionmaker, large, LARGE)
    finally:
        tracemalloc.stop()
    assert large_peak <= FACTOR * small_peak, (
        f"the import's peak grew with the file: {small_peak:,} bytes for {SMALL:,} offers, "
        f"{large_peak:,} for {LARGE:,}"
    )
