"""A person registered by name (as the demo and an admin's import do) who presses Start for the first time is
welcomed, not «welcomed back»; from then on /start is a return."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from db.engine import make_engine, migrate
from db.models import AuditEntry, InboxUpdate, Setting, User
from services import people
from tests.chat import create_person
from tests.conftest import Harness
from tests.revisions import migrate_down


async def test_the_first_start_of_someone_registered_by_name_is_a_welcome(harness: Harness) -> None:
    async with harness.core.sessionmaker() as session, session.begin():
        user = await people.register(
            session, tg_id=901, name="Марина", username="u901", language="ru", now=harness.core.clock.now()
        )
        await people.grant(session, user.id, ["shop_manager"])
    marina = await create_person(harness.http, harness.base, 901, "Марина")

    await marina.send("/start")
    first = await marina.expect("Марина")
    assert "Добро пожаловать, Марина" in first["text"] and "возвращением" not in first["text"], first["text"]
    assert "менеджер магазина" in first["text"].lower(), first["text"]

    await marina.send("/start")
    await marina.expect("С возвращением, Марина")


async def test_people_who_used_the_bot_before_starts_were_remembered_are_not_welcomed_as_newcomers(
    empty_database_url: str,
) -> None:
    """Revision 0031: someone who had written to the bot, acted on a case or started one before a first Start was
    remembered is remembered as started; someone only registered by name keeps their welcome."""
    engine = make_engine(empty_database_url)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    try:
        await migrate(engine, "0030_cases_process_status")
        async with engine.begin() as connection:
            for user_id, name in ((1, "Марина писала боту"), (2, "Иван работал по делу"), (3, "Новенький")):
                await connection.execute(insert(User).values(
                    id=user_id, tg_id=500 + user_id, name=name, language="ru", is_admin=False, active=True,
                    created_at=now))
            await connection.execute(insert(InboxUpdate).values(
                update_id=1, person_id=501, payload={"update_id": 1}, status="done", attempts=1, received_at=now))
            await connection.execute(insert(AuditEntry).values(
                actor_id=2, action="task.claimed", data={}, at=now))
            await connection.execute(insert(Setting).values(key="started:1", value={"at": now.isoformat()}))
        await migrate(engine)
        async with engine.connect() as connection:
            started = set((await connection.execute(
                select(Setting.key).where(Setting.key.like("started:%")))).scalars())
            kept = (await connection.execute(select(Setting.value).where(Setting.key == "started:1"))).scalar_one()
        assert started == {"started:1", "started:2"}
        assert kept == {"at": now.isoformat()}  # a Start remembered already is left as it was
        await migrate_down(engine, "0030_cases_process_status")  # takes back only what it wrote
        async with engine.connect() as connection:
            assert set((await connection.execute(select(Setting.key))).scalars()) == {"started:1"}
    finally:
        await engine.dispose()
