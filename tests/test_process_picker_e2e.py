"""«Какой процесс начать?» is a choice made once: the list a person chose from says what was chosen and keeps no
buttons, and a list a newer one replaced loses its buttons. A press on either that still reaches the bot (a phone
that had not yet shown the change, a double tap) is answered plainly and starts nothing — it used to start one more
case each time."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import event, func, insert, select

from db.engine import make_engine, migrate
from db.models import Case, Outbox, Setting, User
from services.outbox_own_id import OWN_ID
from tests.chat import Person
from tests.conftest import Harness
from tests.revisions import migrate_down
from tests.test_update_cost import statements_seen, timed_passes_left_out

T = TypeVar("T")

CYCLE = "Сбор предварительных заявок"  # weekly_orders: no start form, a press registers the case at once


async def watched(harness: Harness, action: Awaitable[T]) -> tuple[T, list[str]]:
    """What `action` gave, and every statement the database was sent while it ran and the bot settled after it."""
    seen, stop = statements_seen(harness)
    try:
        result = await action
        await harness.settle()
    finally:
        stop()
    return result, seen


async def press_and_read(person: Person, label: str, message: dict[str, Any], *answer: str) -> dict[str, Any]:
    """`person` presses `label` on `message` and reads the answer that says `answer`."""
    await person.press(label, message)
    return await person.expect(*answer)


async def ask_for_the_list(person: Person) -> dict[str, Any]:
    await person.send("▶️ Начать процесс")
    return await person.expect("Какой процесс начать?")


async def cases_started(harness: Harness) -> int:
    async with harness.core.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(Case))).scalar_one())


async def the_list(harness: Harness) -> tuple[Person, dict[str, Any], str]:
    """Кирилл, a commercial director, asks for the list: it, and its button for the weekly cycle as it was sent."""
    kirill = await harness.person("Кирилл", "commercial_director")
    picker = await ask_for_the_list(kirill)
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
    newer = await ask_for_the_list(kirill)
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

    async def choose() -> dict[str, Any]:
        picker = await ask_for_the_list(kirill)
        await press_and_read(kirill, CYCLE, picker, "зарегистрировано")
        return picker

    picker, seen = await watched(harness, choose())
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


async def test_the_list_its_buttons_and_the_persons_row_are_written_by_one_statement(harness: Harness) -> None:
    """The list's buttons name its own message (a press says which list it was on), whose id is known only once it
    is written: it was written, then its buttons set, then Кирилл's row told it is his newest — three statements.
    Now one writes all three, the buttons' id filled in by it, and nothing of the list is left for another."""
    kirill = await harness.person("Кирилл", "commercial_director")
    await harness.settle()
    picker, seen = await watched(harness, ask_for_the_list(kirill))
    writes = [s for s in timed_passes_left_out(seen) if re.search(r"\b(INSERT INTO|UPDATE) (outbox|users)\b", s)]
    listing = [s for s in writes if "INSERT INTO outbox" in s]
    assert len(listing) == 1 and "UPDATE users" in listing[0], writes
    assert not [s for s in writes if s.startswith(("UPDATE users", "UPDATE outbox SET payload"))], writes
    async with harness.core.sessionmaker() as session:
        row = (await session.execute(select(User).where(User.tg_id == kirill.id))).scalar_one()
        sent = await session.get(Outbox, row.picker_ref)
    assert sent is not None and sent.message_id == picker["message_id"]
    pressed = [k["callback_data"] for line in picker["inline_keyboard"] for k in line]
    assert pressed and all(data.endswith(f":{sent.id}") for data in pressed), pressed
    assert str(OWN_ID) not in str(sent.payload)
    await kirill.press(CYCLE, picker)  # and the list works
    await kirill.expect("зарегистрировано")
    assert await cases_started(harness) == 1


RETURN = "Возврат бракованных часов поставщику"  # defect_return: a start form, whose first question is the supplier


def person_rows_written(seen: list[str]) -> tuple[list[str], list[str]]:
    """Of the statements `seen`, those that write a person's row: each (on PostgreSQL a form's answer writes it as
    a CTE of its statement, which every answer's statement holds), and those that write nothing else."""
    writing = [s for s in timed_passes_left_out(seen) if re.search(r"\bUPDATE users\b", s)]
    return writing, [s for s in writing if s.startswith("UPDATE users")]


async def test_a_press_that_starts_a_case_writes_the_choice_with_the_first_question(harness: Harness) -> None:
    """Марина presses «Возврат бракованных часов поставщику»: the case starts and asks her the supplier. What the
    list was used for goes on her row in the statement that asks that question (with which task her next answer
    fills): one statement fewer for the press than an UPDATE of her row of its own, which the start's first read
    sent."""
    marina = await harness.person("Марина", "shop_manager")
    picker = await ask_for_the_list(marina)
    data = next(k["callback_data"] for row in picker["inline_keyboard"] for k in row if RETURN in k["text"])
    await harness.settle()
    _asked, seen = await watched(harness, press_and_read(marina, RETURN, picker, "Поставщик"))
    writing, apart = person_rows_written(seen)
    assert not apart, apart
    assert len(writing) == 1 and "INSERT INTO outbox" in writing[0] and "UPDATE tasks SET draft" in writing[0], writing
    async with harness.core.sessionmaker() as session:
        row = (await session.execute(select(User).where(User.tg_id == marina.id))).scalar_one()
    assert row.picker_chosen == "defect_return" and row.active_task_id is not None
    # The same button again (a double tap): told so, no second request.
    said = await marina.press_data(picker["message_id"], data, unchecked=True)
    assert said == f"Процесс «{RETURN}» уже выбран в этом списке.", said
    await harness.settle()
    assert await cases_started(harness) == 1


async def test_a_press_that_registers_a_case_at_once_writes_the_choice_once(harness: Harness) -> None:
    """Кирилл's weekly cycle asks nothing: it is registered at once, and his choice goes on his row in one write.
    Not with the «зарегистрировано»: that is the registering step's own first message, ahead of the report and
    the task card the step gives him (said after the step, with the choice, it came under them); the choice is
    written after the step's rows, once (a press a week)."""
    kirill, picker, data = await the_list(harness)
    await harness.settle()
    _said, seen = await watched(harness, press_and_read(kirill, CYCLE, picker, "зарегистрировано"))
    writing, _apart = person_rows_written(seen)
    assert len(writing) == 1 and "picker_chosen" in writing[0], writing
    said = await kirill.press_data(picker["message_id"], data, unchecked=True)
    assert said == f"Процесс «{CYCLE}» уже выбран в этом списке.", said
    await harness.settle()
    assert await cases_started(harness) == 1


async def test_a_start_that_fails_at_its_last_write_is_undone_whole_and_done_once_on_its_retry(
    harness: Harness,
) -> None:
    """The press's update fails at its last statement — the first question with her choice, after the case's own
    rows: nothing of it stays (no case without the choice, no choice without the case). Tried again, it starts one
    request and asks its first question once, and the list is chosen from."""
    marina = await harness.person("Марина", "shop_manager")
    picker = await ask_for_the_list(marina)
    data = next(k["callback_data"] for row in picker["inline_keyboard"] for k in row if RETURN in k["text"])
    await harness.settle()
    dropped: list[str] = []

    def connection_drops(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if not dropped and "INSERT INTO outbox" in sql and "UPDATE tasks SET draft" in sql:
            dropped.append(sql)
            raise ConnectionResetError("the database connection dropped")

    engine = harness.core.db.sync_engine
    event.listen(engine, "before_cursor_execute", connection_drops)
    try:
        await marina.press(RETURN, picker)
        await marina.expect("Поставщик")
        await harness.settle()
    finally:
        event.remove(engine, "before_cursor_execute", connection_drops)
    assert dropped, "the start never reached its last write"
    assert await cases_started(harness) == 1
    asked = [m for m in await marina.bot_messages() if "Поставщик" in (m.get("text") or "")]
    assert len(asked) == 1, asked
    chosen = await marina.no_buttons_left(picker["message_id"])
    assert chosen["text"] == f"Выбран процесс «{RETURN}»."
    said = await marina.press_data(picker["message_id"], data, unchecked=True)
    assert said == f"Процесс «{RETURN}» уже выбран в этом списке.", said
    await harness.settle()
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
