"""A throw-away PostgreSQL database for the benchmark, next to (never inside) the one DATABASE_URL names."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

log = logging.getLogger(__name__)

DEFAULT_NAME = "konveyer_bench"


def postgres_url(explicit: str | None = None) -> str | None:
    """The PostgreSQL URL to start from: the argument, else DATABASE_URL when it points at PostgreSQL."""
    url = explicit or os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


@asynccontextmanager
async def scratch_database(base_url: str, name: str = DEFAULT_NAME) -> AsyncIterator[str]:
    """Create database `name` on the server of `base_url`, yield its URL, drop it at the end."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {name!r}")
    base = make_url(base_url)
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    await _admin(base_url, drop)
    await _admin(base_url, f'CREATE DATABASE "{name}"')
    log.info("created database %s", name)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(base_url, drop)
        log.info("dropped database %s", name)
