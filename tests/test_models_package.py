"""The models live in one module a domain (db/models/), and that changed nothing the database sees: a flush still
writes the rows of tables that do not depend on each other in the order it did when every model was in one module
(its classes' names in alphabetical order), whichever module each class is in now."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import InboxUpdate, Outbox, Setting, Timer
from tests.conftest import START


async def test_a_flush_writes_unrelated_tables_in_the_order_it_always_did(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """An update taken in, a message queued, a setting kept and a timer set, all in one flush, none pointing at
    another: the inbox row, then the outbox's, then the setting's, then the timer's (split by module, the timer
    would come first: db/models/cases.py sorts before db/models/delivery.py)."""
    tables: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        if words[:2] == ["INSERT", "INTO"]:
            tables.append(words[2].strip('"'))

    engine = sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        async with sessionmaker() as session, session.begin():
            # Added in the reverse of the expected order: the order of add() is not what decides.
            session.add(Timer(kind="deadline", due_at=START, payload={}))
            session.add(Setting(key="scheduled_start:last", value={"at": START.isoformat()}))
            session.add(Outbox(chat_id=1001, method="sendMessage", payload={"text": "Новая задача"}, created_at=START))
            session.add(InboxUpdate(update_id=1, person_id=1001, payload={}, received_at=START))
            await session.flush()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert tables == ["inbox", "outbox", "settings", "timers"]


def test_every_model_is_named_from_db_models() -> None:
    """Every table's class is importable as `db.models.<Class>`, the one place the rest of the code imports them
    from (the modules are how they are kept, not what is imported)."""
    import db.models

    mapped = {mapper.class_.__name__: mapper.class_ for mapper in db.models.Base.registry.mappers}
    assert {name: getattr(db.models, name, None) for name in mapped} == mapped
    assert set(mapped) <= set(db.models.__all__)
