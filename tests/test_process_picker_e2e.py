"""«Какой процесс начать?» is a choice made once: the list a person chose from says what was chosen and keeps no
buttons, and a list a newer one replaced loses its buttons. A press on either that still reaches the bot (a phone
that had not yet shown the change, a double tap) is answered plainly and starts nothing — it used to start one more
case each time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from db.engine import make_engine, migrate
from db.models import Case, Outbox, Setting, User
from tests.chat import Person
from tests.conftest import Harness
from tests.revisions import migrate_down
from tests.test_update_cost import statements_seen

CYCLE = "Сбор предварительных заявок"  # weekly_orders: no start form, a press registers the case at once


async def cases_started(harness: Harness) -> int:
    async with harness.core.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(Case))).scalar_one())


async def the_list(harness: Harness) -> tuple[Person, dict[str, Any], str]:
    """Кирилл, a commercial director, asks for the list: it, and its button for the weekly cycle as it was sent."""
    kirill = await harness.person("Кирилл", "commercial_director")
    await kirill.send("▶️ Начать процесс")
    picker = await kirill.expect("Какой процесс начать?")
    data = next(k["callback_data"] for row in picker["inline_keyboard"] for k in row if CYCLE in k["text"])
    return kirill, picker, data


async def test_a_list_chosen_from_says_what_was_chosen_and_a_second_press_on_it_starts_nothing(
    harness: Harness,
) -> None:
    kirill, picker, data = await the_list(harness)
    await kirill.press(CYCLE, picker)
    await kirill.expect("зарегистрировано")
    chosen = await kirill.no_buttons_left(picker["message_id"])
    assert chosen["text"] == f"Выбран процесс «{CYCLE}»."
    assert await cases_started(harness) == 1

    # His phone still showed the buttons and he pressed again: told so, and no second cycle.
    said = await kirill.press_data(picker["message_id"], data, unchecked=True)
    assert said == f"Процесс «{CYCLE}» уже выбран в этом списке.", said
    await harness.settle()
    assert await cases_started(harness) == 1


async def test_a_list_a_newer_one_replaced_loses_its_buttons_and_a_press_on_it_starts_nothing(
    harness: Harness,
) -> None:
    kirill, older, data = await the_list(harness)
    await kirill.send("▶️ Начать процесс")
    newer = await kirill.expect("Какой процесс начать?")
    left = await kirill.no_buttons_left(older["message_id"])
    assert left["text"] == "Какой процесс начать?"

    said = await kirill.press_data(older["message_id"], data, unchecked=True)
    assert said == "Этот список устарел — выберите в новом, ниже.", said
    # A list from before lists were told apart (its buttons name only the process) is as old.
    said = await kirill.press_data(older["message_id"], "s:weekly_orders:0", unchecked=True)
    assert said == "Этот список устарел — выберите в новом, ниже.", said
    await harness.settle()
    assert await cases_started(harness) == 0

    await kirill.press(CYCLE, newer)  # the newer list works as ever
    await kirill.expect("зарегистрировано")
    # The newer list used too, the older one no longer points to it: a list below has no buttons left either.
    said = await kirill.press_data(older["message_id"], data, unchecked=True)
    assert said == "Этот список устарел. Чтобы начать ещё один процесс, нажмите «▶️ Начать процесс».", said
    await harness.settle()
    assert await cases_started(harness) == 1


async def test_the_list_is_kept_on_the_persons_own_row_read_and_written_with_the_update(harness: Harness) -> None:
    """Asking for the list and choosing from it neither read nor write anything but what the update does anyway: the
    list is on Кирилл's own row (read with his update), written with the update's own writes — it was a settings
    row read and written on both (three to four statements more a case) — and is nothing the people's caches of the
    other workers are told of."""
    kirill = await harness.person("Кирилл", "commercial_director")
    await harness.settle()
    seen, stop = statements_seen(harness)
    try:
        await kirill.send("▶️ Начать процесс")
        picker = await kirill.expect("Какой процесс начать?")
        await kirill.press(CYCLE, picker)
        await kirill.expect("зарегистрировано")
        await harness.settle()
    finally:
        stop()
    settings = [s for s in seen if re.search(r"\b(FROM|INTO|UPDATE) settings\b", s)]
    assert not settings, settings
    # Nor is it a change of people the other workers' directories must hear of (PostgreSQL's NOTIFY).
    assert not [s for s in seen if s.startswith("NOTIFY")]
    data = next(k["callback_data"] for row in picker["inline_keyboard"] for k in row if CYCLE in k["text"])
    async with harness.core.sessionmaker() as session:
        row = (await session.execute(select(User).where(User.tg_id == kirill.id))).scalar_one()
        sent = await session.get(Outbox, row.picker_ref)  # the list: its outbox row
    assert sent is not None and sent.message_id == picker["message_id"] and row.picker_chosen == "weekly_orders"
    said = await kirill.press_data(picker["message_id"], data, unchecked=True)
    assert said == f"Процесс «{CYCLE}» уже выбран в этом списке.", said
    assert await cases_started(harness) == 1


async def test_a_list_remembered_before_0045_is_still_the_persons_newest_after_the_upgrade(
    empty_database_url: str,
) -> None:
    """0045 moves each person's newest list from a settings row onto their own row (what was chosen from it with it)
    and removes the settings rows; its downgrade drops the columns."""
    engine = make_engine(empty_database_url)
    try:
        await migrate(engine)
        await migrate_down(engine, "0044_invite_picker")
        now = datetime.now(UTC)
        async with engine.begin() as connection:
            for tg_id, name in ((501, "Кирилл"), (502, "Марина")):
                await connection.execute(insert(User.__table__).values(tg_id=tg_id, name=name, created_at=now))
            ids = dict((await connection.execute(select(User.tg_id, User.id))).all())
            chosen, fresh = {"ref": 41, "chosen": "weekly_orders"}, {"ref": 57, "chosen": ""}
            await connection.execute(insert(Setting.__table__), [
                {"key": f"picker:{ids[501]}", "value": chosen}, {"key": f"picker:{ids[502]}", "value": fresh},
                {"key": "digest:1", "value": {"hour": 9}},
            ])  # fmt: skip
        await migrate(engine)
        async with engine.connect() as connection:
            pickers = (await connection.execute(select(User.tg_id, User.picker_ref, User.picker_chosen))).all()
            settings = (await connection.execute(select(Setting.key))).scalars().all()
    finally:
        await engine.dispose()
    assert sorted(pickers) == [(501, 41, "weekly_orders"), (502, 57, None)]
    assert settings == ["digest:1"]  # the lists' rows are gone, nobody else's
