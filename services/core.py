"""What the application services share for the life of the process: the database, the clock, the engine,
the definitions, texts and files. Built once by the composition root (`app.container.build_core`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.engine import single_statements
from flows.calendar import WorkCalendar
from flows.clock import Clock
from flows.runtime import CaseState, Engine
from services.definitions import Registry
from services.files import FileStore
from services.i18n import Translator
from services.people import PeopleDirectory
from services.wording import Wording

if TYPE_CHECKING:
    from services.answer_claim import Handing
    from services.notifier import NotifierFactory
    from services.outbox import Written


@dataclass(frozen=True)
class ServiceConfig:
    """The part of the settings the services read (the composition root maps `Settings` onto it)."""

    sqlite: bool
    library_dir: Path
    data_dir: Path
    timezone: str
    default_language: str
    admin_ids: tuple[int, ...] = ()
    scheduler_interval: float = 5.0
    draft_ttl_days: int = 7
    digest_roles: tuple[str, ...] = ("director",)
    digest_time: time = time(9, 0)
    stage_norm_days: int = 3
    webapp_url: str | None = None  # the Mini App's public HTTPS address: chat buttons open it
    case_search_bound: int = 1_000  # stale cases a search writes itself (Settings says why)
    case_search_tick_bound: int = 250  # … and a scheduler's tick

    @property
    def templates_dir(self) -> Path:
        return self.library_dir / "templates"


# What a request dropped before it was registered gives back (the case as it was closed, the step's time): its
# words for the person (a msgid), or None when it had nothing to give back.
DraftDropped = Callable[[AsyncSession, CaseState, datetime], Awaitable[str | None]]


@dataclass
class Core:
    config: ServiceConfig
    clock: Clock
    db: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    registry: Registry
    calendar: WorkCalendar
    engine: Engine
    translator: Translator
    wording: Wording
    files: FileStore
    # How the services tell people things (the chat's outbox notifier, set by the composition root).
    notifier_factory: NotifierFactory
    # Called after a transaction that wrote outbox rows (wakes the sender at once instead of at its next poll), with
    # what it wrote when known (`services.outbox.written`: the sender takes those chats' messages without a pass).
    on_outbox: list[Callable[[Written | None], None]] = field(default_factory=list)
    # The sender of this process, for an update's transaction that claims its own messages (`services.answer_claim`
    # `Handing`; PostgreSQL); None where no sender runs here.
    handing: Handing | None = None
    # Roles and role members cached for the process (its LISTEN connection is closed with the core).
    people: PeopleDirectory | None = None
    # Per process, what a request of it dropped before it was registered gives back (the composition root sets it:
    # an order request's positions go back to the dealer's cart, `services.portal_cart.give_back`).
    draft_dropped: dict[str, DraftDropped] = field(default_factory=dict)

    @property
    def sqlite(self) -> bool:
        return self.config.sqlite

    @property
    def templates_dir(self) -> Path:
        return self.config.templates_dir

    @cached_property
    def single_statements(self) -> AsyncEngine:
        """The engine for work of one statement outside a transaction: on PostgreSQL in autocommit (no BEGIN and
        COMMIT round trips around it), on SQLite `db` as it is (`db.engine.single_statements`)."""
        return single_statements(self.db)

    def outbox_written(self, written: Written | None = None) -> None:
        """`written`: what the transaction queued (None: not known, so the sender reads its whole queue)."""
        for callback in self.on_outbox:
            callback(written)

    async def close(self) -> None:
        if self.people is not None:
            await self.people.close()
        await self.db.dispose()
