"""Throw-away PostgreSQL databases for the benchmark, next to (never inside) the one DATABASE_URL names.

Each scratch database gets a random suffix, so two runs at once (or a run after a crashed one) never meet,
and the run drops only what it created itself; the database the user named is never touched."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "konveyer_bench"



def postgres_url(explicit: str | None = None) -> str | None:
    """The PostgreSQL URL to start from: the argument, else DATABASE_URL when it points at PostgreSQL."""
    url = explicit or os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


def scratch_name(prefix: str = DEFAULT_PREFIX) -> str:
    if not prefix.replace("_", "").isalnum() or len(prefix) > 40:
        raise ValueError(f"unsafe database name prefix {prefix!r}")
    return f"{prefix}_{secrets.token_hex(5)}".lower()


async def analyze(url: str) -> None:
    """ANALYZE the database `url` names (PostgreSQL; nothing elsewhere), between the measured runs of a part whose
    tables grow: the statistics half of what autovacuum does on a running server (its auto-analyze); no VACUUM,
    so dead rows stay where they are. Without fresh statistics the bot's prepared statements keep the plans they
    were first given while the tables were nearly empty (a seq scan of a table of a few pages is the cheapest plan
    then), and read the grown tables through them; a server where autovacuum is off (this machine's) never
    refreshes them."""
    if url.startswith("postgresql"):
        await _admin(url, "ANALYZE")


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


@asynccontextmanager
async def scratch_database(base_url: str, prefix: str = DEFAULT_PREFIX) -> AsyncIterator[str]:
    """Create a fresh database `<prefix>_<random>` on the server of `base_url`, yield its URL, drop it at the end."""
    base = make_url(base_url)
    name = scratch_name(prefix)
    if name == base.database:
        raise ValueError(f"refusing to use the named database {name!r} as a scratch database")
    # CREATE, not DROP-then-CREATE: if the random name were somehow taken, fail rather than wipe someone's data.
    await _admin(base_url, f'CREATE DATABASE "{name}"')
    log.info("created database %s", name)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        # FORCE only for the database this run created: our own bot processes may still hold connections.
        await _admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log.info("dropped database %s", name)
