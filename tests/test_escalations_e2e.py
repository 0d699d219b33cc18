"""Escalations people can act on, in chat: an invoice the accountant did not pay in time escalates to the chief
accountant, whose message carries buttons — reassign it to another accountant, move its deadline (saying why,
audited, the reminders and the escalation follow the new date), or take it over. Only the people it went to
may press them, and a button whose moment has passed says so."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.models import AuditEntry, Case, Task, Timer, User
from tests.chat import Person
from tests.conftest import Harness, library_with
from tests.test_outbox import sender_at_rest, sender_statements

# Registered Monday 21 December 10:00 (Moscow): due in one working day, Tuesday 18:00 (15:00 UTC).
PAST_DUE = datetime(2026, 12, 22, 15, 1, tzinfo=UTC)


async def _office(harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path, **settings: Any) -> Harness:
    harness = await harness_factory(library_dir=library_with(tmp_path, "invoice_payment.yaml"), **settings)
    await harness.person("Ольга", "manager")
    await harness.person("Анна", "accountant")
    await harness.person("Борис", "accountant")
    await harness.person("Вера", "chief_accountant")
    return harness


async def _invoice_taken_by_anna(harness: Harness) -> None:
    manager, anna = harness.people["Ольга"], harness.people["Анна"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Оплата счёта", await manager.expect("Какой процесс"))
    await manager.expect("Поставщик")
    await manager.send("ООО Ромашка")
    await manager.expect("Сумма")
    await manager.send("48 000")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await anna.press("Взять", await anna.card("Оплатите счёт", button="Взять"))
    await anna.card("Оплатите счёт", button="Готово")


async def _escalation(harness: Harness) -> dict:  # type: ignore[type-arg]
    await harness.move_to(PAST_DUE)
    anna = harness.people["Анна"]
    # The overdue notice brings her task's card back to the bottom of the chat, its buttons with it.
    overdue = await anna.expect("Просрочено", "Оплатите счёт")
    assert anna.buttons(overdue) == ["📋 Открыть задачу", "📁 Дело"]
    await anna.press("Открыть задачу", overdue)
    card = await anna.expect("Оплатите счёт", "ООО Ромашка")
    assert "Готово" in " ".join(anna.buttons(card))
    chief = harness.people["Вера"]
    message = await chief.card("Эскалация", "Оплатите счёт", button="Переназначить")
    assert "Анна" in message["text"]  # who has it now
    assert {"👥 Переназначить", "🗓 Продлить срок", "🙋 Взять на себя"} <= set(chief.buttons(message))
    return message


async def _audit(harness: Harness, action: str) -> list[AuditEntry]:
    async with harness.core.sessionmaker() as session:
        return list((await session.execute(select(AuditEntry).where(AuditEntry.action == action))).scalars())


async def _forged_press(person: Person, message: dict, button: str) -> str | None:  # type: ignore[type-arg]
    """`person` sends the data of a button on someone else's message from a message of their own (as a modified
    client could)."""
    data = next(k["callback_data"] for row in message["inline_keyboard"] for k in row if button in k["text"])
    own = (await person.bot_messages())[-1]
    return await person.press_data(own["message_id"], data, unchecked=True)


async def test_the_chief_reassigns_a_late_invoice_to_another_accountant(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _office(harness_factory, tmp_path)
    anna, boris, chief = harness.people["Анна"], harness.people["Борис"], harness.people["Вера"]
    await _invoice_taken_by_anna(harness)
    escalation = await _escalation(harness)

    # Boris is not who it escalated to: his press (a made-up client's) is refused in words and changes nothing.
    refused = await _forged_press(boris, escalation, "Взять на себя")
    assert refused and "только те, кому она пришла" in refused

    await chief.press("Переназначить", escalation)
    picker = await chief.card("Кому передать", "Оплатите счёт")
    assert chief.buttons(picker) == ["Борис"]  # the other members of the role, not the one who has it
    notice = await chief.press("Борис", picker)
    assert notice and "Борис" in notice

    # Boris gets the task's card with its answer; Anna is told it is no longer hers, and her card says who has it.
    await boris.card("Оплатите счёт", "ООО Ромашка", button="Готово")
    # Told without guessing anyone's gender («передал(а)»): what happened to the task, who has it, who decided.
    told = await anna.expect("Задача «Оплатите счёт» больше не ваша: теперь её выполняет Борис")
    assert "Передача задачи: Вера" in told["text"], told["text"]
    card = await anna.wait_for("Оплатите счёт", "Исполнитель: Борис")
    assert "Готово" not in " ".join(anna.buttons(card))
    moved = await _audit(harness, "task.reassigned")
    assert len(moved) == 1 and moved[0].data["to"] != moved[0].data["from"]

    # The escalation's buttons were about Anna holding the task: pressed again, they say it has moved on.
    stale = await chief.press("Взять на себя", escalation)
    assert stale and "уже передана" in stale and "Борис" in stale

    await boris.press("Готово", await boris.card("Оплатите счёт", button="Готово"))
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        case = (await session.execute(select(Case))).scalar_one()
    assert case.stage == "paid"
    done = await chief.press("Продлить срок", escalation)
    assert done and "уже выполнена" in done


async def test_the_chief_moves_the_deadline_with_a_reason_and_later_takes_the_task_over(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _office(harness_factory, tmp_path)
    anna, chief = harness.people["Анна"], harness.people["Вера"]
    await _invoice_taken_by_anna(harness)
    escalation = await _escalation(harness)

    await chief.press("Продлить срок", escalation)
    picker = await chief.card("Новый срок", "Оплатите счёт")
    # Tuesday 18:01: two working days on is Thursday's closing time; the days are written out.
    assert "+1 рабочий день — до 23.12.2026 18:00" in chief.buttons(picker)
    assert "+2 рабочих дня — до 24.12.2026 18:00" in chief.buttons(picker)
    assert "+5 рабочих дней — до 29.12.2026 18:00" in chief.buttons(picker)
    await chief.press("+2 рабочих дня", picker)
    await chief.expect("Почему переносится срок")
    await chief.send("Ждём акт сверки от поставщика")
    await chief.expect("Новый срок задачи «Оплатите счёт»: 24.12.2026 18:00")

    told = await anna.expect("Срок задачи «Оплатите счёт» перенесён на 24.12.2026 18:00 (Вера)")
    assert "Ждём акт сверки от поставщика" in told["text"]
    await anna.wait_for("Оплатите счёт", "Срок: 24.12.2026 18:00")
    moved = await _audit(harness, "task.deadline_moved")
    assert len(moved) == 1 and moved[0].data["reason"] == "Ждём акт сверки от поставщика"
    async with harness.core.sessionmaker() as session:
        task = (await session.execute(select(Task).where(Task.key == "pay"))).scalar_one()
        timers = select(Timer.kind, Timer.due_at).where(Timer.status == "pending", Timer.task_id == task.id)
        pending = (await session.execute(timers)).all()
    assert task.due_at == datetime(2026, 12, 24, 15, 0, tzinfo=UTC)
    assert sorted(pending) == [("overdue", task.due_at), ("remind", datetime(2026, 12, 24, 13, 0, tzinfo=UTC))]
    # Asked again while the new deadline is ahead, the choices count from it, not from now: none is earlier.
    await chief.press("Продлить срок", escalation)
    again = await chief.card("Новый срок", "24.12.2026 18:00")
    assert chief.buttons(again)[0] == "+1 рабочий день — до 25.12.2026 18:00", chief.buttons(again)

    # The reminder and the escalation come at the new date, and once.
    await harness.move_to(datetime(2026, 12, 24, 13, 5, tzinfo=UTC))
    await anna.expect("Напоминание", "Оплатите счёт")
    await harness.move_to(datetime(2026, 12, 24, 15, 1, tzinfo=UTC))
    second = await chief.card("Эскалация", "24.12.2026 18:00", button="Взять на себя")
    assert second["message_id"] != escalation["message_id"]

    # Vera has no accountant's role, but the task was escalated to her: she takes it over and it is hers.
    notice = await chief.press("Взять на себя", second)
    assert notice and "Теперь задача ваша" in notice
    # Pressed again, it says the task is hers already, not that it was «handed to Вера».
    assert await chief.press("Взять на себя", second) == "Эта задача уже ваша: вы взяли её на себя."
    card = await chief.card("Оплатите счёт", "ООО Ромашка", button="Готово")
    await anna.expect("Задача «Оплатите счёт» больше не ваша: теперь её выполняет Вера")
    assert (await _audit(harness, "task.taken_over"))[0].actor_id is not None
    await chief.press("Готово", card)
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        case = (await session.execute(select(Case))).scalar_one()
    assert case.stage == "paid" and case.status == "done"


async def test_turning_to_the_menu_instead_of_a_reason_leaves_the_deadline_as_it_was(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _office(harness_factory, tmp_path)
    chief = harness.people["Вера"]
    await _invoice_taken_by_anna(harness)
    escalation = await _escalation(harness)
    await chief.press("Продлить срок", escalation)
    await chief.press("+1 рабочий день", await chief.card("Новый срок", "Оплатите счёт"))
    await chief.expect("Почему переносится срок")

    await chief.send("📋 Мои задачи")  # she turns to something else: the menu answers, the question is dropped
    await harness.settle()
    await chief.send("Ждём акт сверки")
    await harness.settle()
    assert await chief.find("Новый срок задачи") is None
    assert await _audit(harness, "task.deadline_moved") == []
    async with harness.core.sessionmaker() as session:
        task = (await session.execute(select(Task).where(Task.key == "pay"))).scalar_one()
    assert task.due_at == datetime(2026, 12, 22, 15, 0, tzinfo=UTC)


async def test_a_late_personal_task_is_reassigned_to_another_member_of_the_roles_that_may_do_it(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    # The manager who registers the invoice pays it herself: a personal task, not an accountant's pool.
    library = library_with(tmp_path, "invoice_payment.yaml")
    source = (library / "invoice_payment.yaml").read_text(encoding="utf-8")
    (library / "invoice_payment.yaml").write_text(
        source.replace("assignee: accountant", "assignee: initiator"), encoding="utf-8"
    )
    harness = await harness_factory(library_dir=library)
    olga = await harness.person("Ольга", "manager")
    oleg = await harness.person("Олег", "manager")
    await harness.person("Анна", "accountant")
    chief = await harness.person("Вера", "chief_accountant")
    await olga.send("▶️ Начать процесс")
    await olga.press("Оплата счёта", await olga.expect("Какой процесс"))
    await olga.expect("Поставщик")
    await olga.send("ООО Ромашка")
    await olga.expect("Сумма")
    await olga.send("48 000")
    await olga.press("Подтвердить", await olga.expect("Проверьте"))
    await olga.card("Оплатите счёт", button="Готово")
    await harness.move_to(PAST_DUE)

    escalation = await chief.card("Эскалация", "Оплатите счёт", button="Переназначить")
    await chief.press("Переназначить", escalation)
    picker = await chief.card("Кому передать", "Оплатите счёт")
    # Those who may start an invoice may pay it: the other manager, not the accountant, not Olga herself.
    assert chief.buttons(picker) == ["Олег"]
    await chief.press("Олег", picker)
    await oleg.card("Оплатите счёт", "ООО Ромашка", button="Готово")
    await olga.expect("Задача «Оплатите счёт» больше не ваша: теперь её выполняет Олег. Передача задачи: Вера")
    moved = await _audit(harness, "task.reassigned")
    assert len(moved) == 1 and moved[0].data["to"] == (await _user_id(harness, "Олег"))
    async with harness.core.sessionmaker() as session:
        task = (await session.execute(select(Task).where(Task.key == "pay"))).scalar_one()
    assert task.assignee_id == moved[0].data["to"] and task.role is None  # still a personal task, now his


async def _user_id(harness: Harness, name: str) -> int:
    async with harness.core.sessionmaker() as session:
        return (await session.execute(select(User.id).where(User.name == name))).scalar_one()


async def test_a_reminder_reaches_the_accountant_without_the_sender_reading_its_queue(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """A timer fired: the firing's transaction says which chat it queued the reminder for, and the sender claims it
    by one statement — no pass over every waiting message (each fired timer used to cost one)."""
    harness = await _office(harness_factory, tmp_path, outbox_poll_interval=5.0)  # no timed pass for 25 s
    await _invoice_taken_by_anna(harness)
    await harness.settle()
    await sender_at_rest(harness.app.sender, harness.people["Анна"].id)
    seen, stop_listening = sender_statements(harness.core)
    try:
        await harness.move_to(datetime(2026, 12, 22, 13, 5, tzinfo=UTC))  # two hours before Tuesday's 18:00
        await harness.people["Анна"].expect("Напоминание", "Оплатите счёт")
    finally:
        stop_listening()
    assert seen == ["claim"]


async def test_the_chief_thinks_better_of_a_new_deadline_and_cancels_it(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """«Продлить срок» opened by mistake: «✖️ Отмена» under the new deadlines leaves the task's deadline as it was and
    says so in place of the picker; so does «✖️ Отмена» under «why is it moved?», once a deadline was picked."""
    harness = await _office(harness_factory, tmp_path)
    chief = harness.people["Вера"]
    await _invoice_taken_by_anna(harness)
    escalation = await _escalation(harness)

    await chief.press("Продлить срок", escalation)
    picker = await chief.card("Новый срок", "Оплатите счёт")
    assert chief.buttons(picker)[-1] == "✖️ Отмена", chief.buttons(picker)
    await chief.press("Отмена", picker)
    kept = await chief.wait_for("Срок задачи «Оплатите счёт» не изменён: до 22.12.2026 18:00")
    assert kept["message_id"] == picker["message_id"] and chief.buttons(kept) == [], kept

    await chief.press("Продлить срок", escalation)
    await chief.press("+1 рабочий день", await chief.card("Новый срок", "Оплатите счёт"))
    question = await chief.card("Почему переносится срок", button="Отмена")
    await chief.press("Отмена", question)
    await chief.expect("Срок задачи «Оплатите счёт» не изменён: до 22.12.2026 18:00")
    await chief.send("Ждём акт сверки")  # no longer taken for a reason
    await harness.settle()
    assert await chief.find("Новый срок задачи") is None
    assert await _audit(harness, "task.deadline_moved") == []
    async with harness.core.sessionmaker() as session:
        task = (await session.execute(select(Task).where(Task.key == "pay"))).scalar_one()
    assert task.due_at == datetime(2026, 12, 22, 15, 0, tzinfo=UTC)
