"""Import of CommerceML files into the catalogue: the parser reads a few hundred records at a time and gives the
event loop its turn (the bot keeps being served); the writer prepares each batch of a few thousand and writes it in
a transaction of its own in the background while the next is read.

`import_files` is `konveyer catalog import` and the exchange's `mode=import`: one package (one `catalog_imports`
row, its number stamped on every row written). A full package sweeps, at its end, what it did not mention; the
exchange may defer the sweep of a split package (import___1.xml, import___2.xml…) to its end (`sweep=False`, then
`finish_sweep`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows.clock import Clock
from integrations.onec.commerceml import PackageInfo, records
from services.catalogue_import import BATCH, CatalogueWriter, finish_import, start_import

log = logging.getLogger(__name__)

STEP = 250  # records read at a time (a few milliseconds) before the event loop's turn


@dataclass
class ImportResult:
    import_id: int
    stamp: int
    counts: dict[str, int]
    only_changes: bool
    sweeps: set[str] = field(default_factory=set)  # what a full package swept (or, deferred, would sweep)
    versions: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # organisations left alone, each with why


async def import_files(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    paths: Sequence[Path],
    *,
    import_id: int | None = None,
    stamp: int | None = None,
    sweep: bool = True,
    batch: int = BATCH,
) -> ImportResult:
    """Reads the files in order into the catalogue as one package, `batch` products or offers a transaction; the
    import's row says how it went (and the exception, if any, is raised after it is recorded)."""
    if import_id is None:
        import_id = await start_import(sessionmaker, clock.now(), ", ".join(p.name for p in paths))
    writer = CatalogueWriter(sessionmaker, clock.now, stamp or import_id, batch)
    sweeps: set[str] = set()
    only_changes = False
    versions: list[str] = []
    # The parser runs in the event loop's thread, not in one of its own: the parser and the writer are both Python
    # and take turns on the GIL anyway, and in two threads each turn cost more (100,000 products and offers on
    # PostgreSQL: 6.0–6.3 s + 7.0–7.9 s of the process's CPU against 6.2–7.8 s + 8.9 s, and 97 MB against 128 MB).
    try:
        for path in paths:
            info = PackageInfo()
            iterator = records(path, info)
            # A few records at a time, then the event loop's turn: the batch the writer writes in the background
            # sends its next statement, and the database works while the file is read and the next batch prepared.
            while read := list(itertools.islice(iterator, STEP)):
                await writer.add(read)
                await asyncio.sleep(0)
            await writer.flush()
            only_changes |= info.only_changes
            versions.append(info.version or "")
            if not info.only_changes:
                sweeps |= info.kinds
        if sweep:  # the kinds of the files that were full packages (a file of changes adds none)
            await writer.sweep(sweeps)
    except Exception as failed:
        await writer.abort()
        await finish_import(
            sessionmaker, clock.now(), import_id, "failed", writer.counts, only_changes, error=str(failed)[:2000]
        )
        raise
    finally:
        await writer.abort()  # (cancelled: the batch being written is rolled back)
    await finish_import(sessionmaker, clock.now(), import_id, "done", writer.counts, only_changes)
    log.info("catalogue import %s (%s): %s", import_id, ", ".join(p.name for p in paths), dict(writer.counts))
    for line in writer.skipped:
        log.warning("catalogue import %s: organisation %s", import_id, line)
    return ImportResult(import_id, writer.stamp, dict(writer.counts), only_changes, sweeps, versions, writer.skipped)


async def finish_sweep(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, stamp: int, kinds: set[str]
) -> dict[str, int]:
    """The sweep of a split full package, once all its files are in (the exchange's `mode=deactivate`)."""
    writer = CatalogueWriter(sessionmaker, clock.now, stamp)
    await writer.sweep(kinds)
    return dict(writer.counts)
