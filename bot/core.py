"""Everything the handlers, the scheduler and the admin panel share, built once from settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.files import FileStore
from bot.i18n import Translator
from bot.registry import Registry
from bot.render import Renderer
from bot.settings import Settings
from db.engine import is_sqlite, make_engine, make_sessionmaker, migrate
from flows.calendar import WorkCalendar, WorkingHours
from flows.clock import Clock, SystemClock
from flows.runtime import Engine


@dataclass
class Core:
    settings: Settings
    clock: Clock
    db: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    registry: Registry
    calendar: WorkCalendar
    engine: Engine
    translator: Translator
    renderer: Renderer
    files: FileStore
    # Called after a transaction that wrote outbox rows (wakes the sender at once instead of at its next poll).
    on_outbox: list[Callable[[], None]] = field(default_factory=list)

    @property
    def sqlite(self) -> bool:
        return is_sqlite(self.settings.resolved_database_url())

    @property
    def templates_dir(self) -> Path:
        return self.settings.library_dir / "templates"

    def outbox_written(self) -> None:
        for callback in self.on_outbox:
            callback()

    async def close(self) -> None:
        await self.db.dispose()


async def build_core(settings: Settings, clock: Clock | None = None) -> Core:
    clock = clock or SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = make_engine(settings.resolved_database_url())
    await migrate(db)
    sessionmaker = make_sessionmaker(db)
    registry = Registry.from_folder(str(settings.library_dir))
    async with sessionmaker() as session, session.begin():
        await registry.sync(session, clock.now())
    calendar = WorkCalendar(
        country=settings.country, tz=settings.timezone, hours=WorkingHours(settings.work_start, settings.work_end)
    )
    translator = Translator(settings.data_dir / "locales", default=settings.default_language)
    return Core(
        settings=settings,
        clock=clock,
        db=db,
        sessionmaker=sessionmaker,
        registry=registry,
        calendar=calendar,
        engine=Engine(calendar, clock),
        translator=translator,
        renderer=Renderer(translator, calendar.tz),
        files=FileStore(settings.data_dir),
    )
