"""The database server's CPU over a measured window, when PostgreSQL runs on this machine.

Before and after a window the bench reads the backend pids of its scratch database (`pg_stat_activity`, on a
connection of its own, whose pid is left out) and sums their user + system CPU (psutil, i.e. /proc/<pid>/stat).
Backends that came during the window are counted from 0 (a forked backend starts at 0); backends that went are
counted as last read (their CPU between the first read and their exit is lost; one that came and went inside the
window is not seen at all). The pools of the bots and engines measured here keep their connections, so both are
rare. Only backends are counted: the WAL writer, the checkpointer and autovacuum serve every database of the
server (other runs may share it) and are left out.

Where the server's processes cannot be read (another host, a container, SQLite) there is no figure: None, not 0.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psutil
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
Mark = dict[int, float]  # backend pid → CPU seconds (user + system) at a read


def is_local_postgres(url: str) -> bool:
    """PostgreSQL on this machine (a loopback host or a Unix socket): its processes may be visible here."""
    if not url.startswith("postgresql"):
        return False
    host = make_url(url).host
    return host is None or host == "" or host in LOCAL_HOSTS or host.startswith("/")


def cpu_of(pid: int) -> float | None:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


def used(before: Mark, after: Mark) -> float:
    """CPU seconds the backends used between two reads: one that came counts from 0, one that went as last read."""
    # max(0, …): a pid the server reused for a new backend within the window reads less than the old one did.
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


class ServerCpu:
    """Reads the CPU of the backends serving one database (see the module's docstring)."""

    def __init__(self, engine: AsyncEngine, connection: AsyncConnection, own_pid: int) -> None:
        self._engine = engine
        self._connection = connection
        self.own_pid = own_pid

    async def read(self) -> Mark:
        rows = (await self._connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))).all()
        mark: Mark = {}
        for (pid,) in rows:
            cpu = cpu_of(int(pid))
            if cpu is not None:
                mark[int(pid)] = cpu
        return mark

    async def since(self, before: Mark) -> float:
        return used(before, await self.read())

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._connection.close()
        await self._engine.dispose()


async def open_server_cpu(url: str) -> ServerCpu | None:
    """A reader for the database of `url`, or None where its server's processes cannot be read from here."""
    if not is_local_postgres(url):
        return None
    engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        connection = await engine.connect()
        own = int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())
    except Exception:
        log.warning("the database server's CPU cannot be read: no connection", exc_info=True)
        await engine.dispose()
        return None
    reader = ServerCpu(engine, connection, own)
    # The same pid must be a PostgreSQL process here (not so when the server runs in a container of its own).
    try:
        proc = psutil.Process(own)
        visible = proc.name().startswith("postgres") and cpu_of(own) is not None
    except psutil.Error:
        visible = False
    if not visible:
        log.info("the database server's processes are not visible here: no server CPU figures")
        await reader.close()
        return None
    return reader


@asynccontextmanager
async def server_cpu(url: str) -> AsyncIterator[ServerCpu | None]:
    reader = await open_server_cpu(url)
    try:
        yield reader
    finally:
        if reader is not None:
            await reader.close()
