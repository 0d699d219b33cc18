"""An import's own row (catalog_imports): what `konveyer catalog import` and 1C's `mode=import` report. Its id is
the package's number, stamped on every row the package writes (`import_run`, `offer_run`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import CatalogImport
from services.catalogue_import.rows import table_of


async def start_import(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime, filename: str, session: str | None = None
) -> int:
    async with sessionmaker() as db, db.begin():
        row = CatalogImport(
            session=session,
            filename=filename[:255],
            status="running",
            only_changes=False,
            counts={},
            started_at=now,
            heartbeat_at=now,
        )
        db.add(row)
        await db.flush()
        return row.id


async def finish_import(
    sessionmaker: async_sessionmaker[AsyncSession],
    now: datetime,
    import_id: int,
    status: str,
    counts: Mapping[str, int],
    only_changes: bool,
    error: str | None = None,
) -> None:
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(table_of(CatalogImport))
            .where(CatalogImport.id == import_id)
            .values(
                status=status,
                counts=dict(counts),
                only_changes=only_changes,
                error=error,
                finished_at=now,
                heartbeat_at=now,
            )
        )


async def import_of(session: AsyncSession, token_hash: str, filename: str) -> CatalogImport | None:
    """The latest import of a file in an exchange session."""
    found = await session.execute(
        select(CatalogImport)
        .where(CatalogImport.session == token_hash, CatalogImport.filename == filename[:255])
        .order_by(CatalogImport.id.desc())
        .limit(1)
    )
    return found.scalar_one_or_none()


async def fail_stale(session: AsyncSession, import_id: int, error: str, now: datetime) -> None:
    await session.execute(
        update(table_of(CatalogImport))
        .where(CatalogImport.id == import_id, CatalogImport.status == "running")
        .values(status="failed", error=error, finished_at=now)
    )


async def heartbeat(session: AsyncSession, import_id: int) -> datetime | None:
    """When a running import last wrote (None: it never did, or there is no such import)."""
    found = await session.execute(select(CatalogImport.heartbeat_at).where(CatalogImport.id == import_id))
    return found.scalar_one_or_none()
