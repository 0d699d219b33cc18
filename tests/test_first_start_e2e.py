"""A person registered by name (as the demo and an admin's import do) who presses Start for the first time is
welcomed, not «welcomed back»; from then on /start is a return."""

from __future__ import annotations

from services import people
from tests.chat import create_person
from tests.conftest import Harness


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
