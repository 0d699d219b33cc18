"""APScheduler is only the metronome: every few seconds it runs `tick`; all state is in our tables."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.cron import ensure_schedules
from scheduler.timers import tick
from services import case_search, digests, inbox, kept_files
from services.cases import CaseService
from services.core import Core

log = logging.getLogger(__name__)

INBOX_KEPT = timedelta(days=7)


async def close_stale_drafts(core: Core) -> int:
    """Unfinished requests untouched for `draft_ttl_days` (business days on the clock) are closed."""
    async with core.sessionmaker() as session, session.begin():
        closed = await CaseService(core, session).close_stale_drafts(timedelta(days=core.config.draft_ttl_days))
    if closed:
        core.outbox_written()
        log.info("closed %s stale draft(s)", closed)
    return closed


async def drop_stale_kept_files(core: Core) -> int:
    """Files people sent that no question took, a day after they came: their rows, then (once that is committed)
    their copies on disk (`services.kept_files.drop_stale`) — each in a transaction of its own that holds its path
    (`FileStore.remove_unnamed`): an upload or a rendered document of the same bytes meanwhile keeps it. One path at a
    time, so the sweep never holds one path while waiting for another an upload holds."""
    async with core.sessionmaker() as session, session.begin():
        paths = await kept_files.drop_stale(session, core.clock.now())
    removed = 0
    for path in paths:
        async with core.sessionmaker() as session, session.begin():
            removed += await core.files.remove_unnamed(session, path)
    if removed:
        log.info("removed %s stale kept file(s) from disk", removed)
    return removed


async def index_cases(core: Core) -> int:
    """The search rows of up to `case_search_tick_bound` (a setting) changed cases, newest first, each left still for
    `case_search.SETTLED`, so a fresh upgrade of 100,000 cases is searchable without a search waiting for it; how
    many are left for the next ticks."""
    async with core.sessionmaker() as session, session.begin():
        settled = core.clock.now() - case_search.SETTLED
        left = await case_search.bring_up_to_date(core, session, core.config.case_search_tick_bound, settled)
    if left:
        log.info("%s case(s) still to index for the search", left)
    return left


class Scheduler:
    def __init__(self, core: Core, interval: float | None = None) -> None:
        self.core = core
        self.interval = interval if interval is not None else core.config.scheduler_interval
        self.lock = asyncio.Lock()
        self.aps = AsyncIOScheduler(timezone=core.config.timezone)
        self.aps.add_job(self.run_once, "interval", seconds=self.interval, id="timers", max_instances=1, coalesce=True)

    async def run_once(self) -> int:
        # One tick at a time in this process; other processes are kept apart by row locks. Each part has its
        # own guard: a definition that cannot be read must not stop the deadlines of every other case.
        async with self.lock:
            try:
                async with self.core.sessionmaker() as session:
                    await self.core.registry.refresh(session)
            except Exception:
                log.exception("refreshing definitions failed")
            try:
                await ensure_schedules(self.core)  # a loaded definition may have a new schedule
            except Exception:
                log.exception("scheduling failed")
            try:
                await digests.ensure_subscriptions(self.core)  # a new director gets the digest from the next day
            except Exception:
                log.exception("setting digests failed")
            try:
                await close_stale_drafts(self.core)
            except Exception:
                log.exception("closing stale drafts failed")
            try:
                await drop_stale_kept_files(self.core)
            except Exception:
                log.exception("removing stale kept files failed")
            try:
                await index_cases(self.core)
            except Exception:
                log.exception("indexing cases for the search failed")
            try:
                async with self.core.sessionmaker() as session, session.begin():
                    # Handled updates are kept a week to recognise Telegram's redeliveries, then dropped.
                    await inbox.prune(session, self.core.clock.now() - INBOX_KEPT)
            except Exception:
                log.exception("pruning the inbox failed")
            try:
                return await tick(self.core)
            except Exception:
                log.exception("scheduler tick failed")
                return 0

    def start(self) -> None:
        self.aps.start()

    async def prepare(self) -> None:
        """Before the first tick: every scheduled process has its next start on the books."""
        await ensure_schedules(self.core)
        await digests.ensure_subscriptions(self.core)

    def stop(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)
