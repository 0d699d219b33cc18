"""An update's end (`services/outbox_answer.py` `write_tail`): when all it leaves for the commit is its messages and a
person's form pointer, they go in one statement that also claims the first message for the sender; anything else
left, and all of it goes by the commit as before. Nothing is lost either way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select

from db.models import Outbox, Task, User
from services import outbox, outbox_answer, outbox_own_id
from tests.chat import start_a_return_of_faulty_watches
from tests.conftest import Harness
from tests.test_answer_claims_e2e import _offers_seen
from tests.test_outbox import sender_at_rest, sender_statements
from tests.test_update_cost import statements_seen


def _own_updates_of_people(seen: list[str]) -> list[str]:
    """The unit of work's UPDATEs of people (the tail's write of a pointer is part of a statement of its own)."""
    return [s for s in seen if s.startswith("UPDATE users")]


async def test_a_form_put_aside_clears_her_pointer_in_the_statement_that_says_so(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """Марина, in the middle of her form, sends /start: the greeting comes, the form is put aside with its answers
    kept, and her pointer is cleared — written with the two messages in one statement at the update's end, which also
    claims the greeting for the sender: nothing left for the commit. The sender claims only the second message, which
    waits its second behind the greeting in her chat (Telegram's limit)."""
    harness = await harness_factory(outbox_poll_interval=5.0)  # no timed pass of the sender for 25 s
    manager = await harness.person("Марина", "shop_manager")
    await start_a_return_of_faulty_watches(manager)
    await harness.settle()
    await sender_at_rest(harness.app.sender, manager.id)
    seen, stop = statements_seen(harness)
    claims, stop_claims = sender_statements(harness.core)
    offered = _offers_seen(harness.app.sender)
    try:
        await manager.send("/start")
        aside = await manager.expect("отложена, ваши ответы сохранены")
        await harness.settle()
    finally:
        stop()
        stop_claims()
    assert _own_updates_of_people(seen) == []
    assert offered == [[manager.id]] and claims.count("claim") == 1
    texts = [m["text"] or "" for m in await manager.bot_messages()][-2:]
    assert "отложена" in texts[1] and "отложена" not in texts[0]  # the greeting first, as queued
    async with harness.core.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.tg_id == manager.id))).scalar_one()
        assert user.active_task_id is None
        form = (await session.execute(select(Task).where(Task.key == "__start__"))).scalar_one()
        assert form.draft is not None and form.draft["values"]  # her answers so far are kept
    await manager.press("Продолжить", aside)
    await manager.expect("Количество")  # and the form goes on where it stopped


async def _marina(harness: Harness) -> tuple[int, int]:
    """Марина with her form open: her Telegram id and the form's task."""
    manager = await harness.person("Марина", "shop_manager")
    await start_a_return_of_faulty_watches(manager)
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.tg_id == manager.id))).scalar_one()
        assert user.active_task_id is not None
        return manager.id, user.active_task_id


async def test_a_pointer_alone_is_written_by_the_tail_and_nothing_is_left_for_the_commit(harness: Harness) -> None:
    tg_id, form = await _marina(harness)
    async with harness.core.sessionmaker() as session, session.begin():
        user = (await session.execute(select(User).where(User.tg_id == tg_id))).scalar_one()
        user.active_task_id = None
        user.name = "Марина"  # set to what it was: nothing for the unit of work to write
        assert await outbox_answer.write_tail(session)
        sync = session.sync_session
        assert not sync.new and not [obj for obj in sync.dirty if sync.is_modified(obj)]
    async with harness.core.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.tg_id == tg_id))).scalar_one()
        assert user.active_task_id is None
        user_form = await session.get(Task, form)
        assert user_form is not None and user_form.draft is not None  # the form itself untouched


async def test_anything_else_changed_leaves_all_of_it_to_the_commit(harness: Harness) -> None:
    """Her name changed too, or a second person's pointer: the tail writes nothing, and the commit writes it all."""
    tg_id, _form = await _marina(harness)
    other = await harness.person("Ольга", "shop_manager")
    async with harness.core.sessionmaker() as session, session.begin():
        user = (await session.execute(select(User).where(User.tg_id == tg_id))).scalar_one()
        user.active_task_id = None
        user.name = "Марина Иванова"
        outbox.message(session, tg_id, "Ваше имя изменено", harness.core.clock.now())
        assert not await outbox_answer.write_tail(session)
    async with harness.core.sessionmaker() as session, session.begin():
        marina, olga = [
            (await session.execute(select(User).where(User.tg_id == tg))).scalar_one() for tg in (tg_id, other.id)
        ]
        marina.question_lost_at = lost = harness.core.clock.now()
        olga.question_lost_at = lost
        assert not await outbox_answer.write_tail(session)
    async with harness.core.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.tg_id == tg_id))).scalar_one()
        assert (user.active_task_id, user.name, user.question_lost_at) == (None, "Марина Иванова", lost)
        olga = (await session.execute(select(User).where(User.tg_id == other.id))).scalar_one()
        assert olga.question_lost_at == lost
        sent = (await session.execute(select(Outbox).where(Outbox.chat_id == tg_id))).scalars().all()
        assert [m.payload.get("text") for m in sent].count("Ваше имя изменено") == 1


async def test_a_list_whose_buttons_name_its_own_message_is_filled_in_by_whichever_write_takes_it(
    harness: Harness,
) -> None:
    """A «Which process?» list names its own message in its buttons and on her row: at the update's end it is
    written by one statement with its id in both; with anything else left, the commit writes it and fills its id in
    just as well — no button and no row is ever left with the placeholder."""
    tg_id, _form = await _marina(harness)
    now = harness.core.clock.now()
    buttons = {"inline_keyboard": [[{"text": "Возврат", "callback_data": f"s:defect_return:0:{outbox_own_id.OWN_ID}"}]]}
    sent: list[Outbox] = []
    for name in ("Марина", "Марина Иванова"):  # the same name: the tail takes it; another: the commit does
        async with harness.core.sessionmaker() as session, session.begin():
            user = (await session.execute(select(User).where(User.tg_id == tg_id))).scalar_one()
            user.name = name
            row = outbox_own_id.own_id_message(session, tg_id, "Какой процесс начать?", now, buttons)
            outbox_own_id.id_goes_to(session, row, user, "picker_ref")
            assert await outbox_answer.write_tail(session) == (name == "Марина")
            sent.append(row)
        async with harness.core.sessionmaker() as session:
            user = (await session.execute(select(User).where(User.tg_id == tg_id))).scalar_one()
            stored = await session.get(Outbox, row.id)
            assert stored is not None and user.picker_ref == stored.id, (user.picker_ref, stored)
            assert stored.payload["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == (
                f"s:defect_return:0:{stored.id}"
            )
    assert sent[0].id != sent[1].id
