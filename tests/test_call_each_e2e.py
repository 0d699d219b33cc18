"""A call for each entry, in chat: a dealer's request with two positions calls an approval for each; the request
follows its positions to «на подписи» (its manager is told), and the first position signed is enough
(`at_least: 1`): the request is approved, the other position's approval is cancelled and its approver told. A
position taken out of the request while they run has its approval cancelled (`on_change: cancel_removed`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select

from db.models import Case, User
from flows.runtime import CALLED_BY
from services.cases import CaseService
from tests.conftest import Harness, library_with

DATA = Path(__file__).parent / "data"


async def test_a_request_calls_an_approval_per_position_and_is_done_by_its_join(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    library = library_with(tmp_path, "positions_request.yaml", "position_approval.yaml")
    source = (DATA / "positions_request.yaml").read_text(encoding="utf-8")
    (library / "positions_request.yaml").write_text(
        source.replace("join: {any: \"approvals == 'failure'\"}", "join: {at_least: 1}"), encoding="utf-8"
    )
    harness = await harness_factory(library_dir=library)
    manager = await harness.person("Менеджер Ольга", "manager")
    approver = await harness.person("Согласующий Пётр", "approver")

    await manager.send("▶️ Начать процесс")
    await manager.press("Заявка дилера", await manager.expect("Какой процесс"))
    for number, (article, qty) in enumerate([("A-1", "3"), ("B-2", "5")], 1):
        await manager.expect(f"Позиции №{number}: Артикул")
        await manager.send(article)
        await manager.expect(f"Позиции №{number}: Количество")
        await manager.send(qty)
        await manager.press("Пропустить", await manager.card(f"Позиции №{number}: Решение", button="Пропустить"))
        await manager.press("Да" if number == 1 else "Нет", await manager.expect("Добавить ещё"))
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")

    # One approval per position, each with its position's fields.
    first = await approver.card("Проверьте позицию", "Артикул A-1, 3 шт.", button="Согласовать")
    second = await approver.card("Проверьте позицию", "Артикул B-2, 5 шт.", button="Согласовать")
    async with harness.core.sessionmaker() as session:
        cases = (await session.execute(select(Case).order_by(Case.id))).scalars().all()
    request, *children = cases
    assert request.process == "positions_request" and request.stage == "approvals"
    assert [c.data[CALLED_BY]["entry"] for c in children] == [0, 1]
    assert all(c.parent_id == request.id for c in children)
    # The request's card names the cases it waits for; each of them names the request.
    await manager.send(f"/case {request.id}")
    await manager.expect(f"Ждёт дело №{children[0].id}", f"Ждёт дело №{children[1].id}")
    await manager.send(f"/case {children[1].id}")
    await manager.expect(f"Вызвано из дела №{request.id}")

    for card, verdict in ((first, "Есть на складе"), (second, "Под заказ")):
        await approver.press("Согласовать", card)
        await approver.expect("Решение")
        await approver.send(verdict)
        await approver.press("Подтвердить", await approver.expect("Проверьте"))
    # Both positions are at signing now: so is the request, with its on-enter notice.
    await manager.expect("Все позиции заявки на подписи")

    await approver.press("Готово", await approver.card("Подпишите позицию", "A-1", button="Готово"))
    await approver.expect(f"дело №{request.id}, которое его вызвало, уже получило нужные ответы")
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        cases = (await session.execute(select(Case).order_by(Case.id))).scalars().all()
    request, signed, dropped = cases
    assert request.status == "done" and request.stage == "approved" and request.data["approvals"] == "success"
    assert [p.get("verdict") for p in request.data["positions"]] == ["Есть на складе", None]
    assert signed.status == "done" and signed.result == "success"
    assert dropped.status == "cancelled"


async def test_a_position_removed_from_the_request_cancels_its_approval_and_tells_its_approver(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(
        library_dir=library_with(tmp_path, "positions_request.yaml", "position_approval.yaml")
    )
    await harness.person("Менеджер Ольга", "manager")
    approver = await harness.person("Согласующий Пётр", "approver")
    positions = [{"article": "A-1", "qty": 3}, {"article": "B-2", "qty": 5}, {"article": "C-3", "qty": 7}]
    async with harness.core.sessionmaker() as session, session.begin():
        cases = CaseService(harness.core, session)
        manager = (await session.execute(select(User).where(User.name == "Менеджер Ольга"))).scalar_one()
        request = await cases.start(manager, "positions_request", {"positions": positions})
        request_id = request.row.id
    harness.core.outbox_written()
    await approver.card("Проверьте позицию", "Артикул C-3, 7 шт.", button="Согласовать")

    # The manager takes the last position out of the request (the list is editable while they run).
    async with harness.core.sessionmaker() as session, session.begin():
        cases = CaseService(harness.core, session)
        manager = (await session.execute(select(User).where(User.name == "Менеджер Ольга"))).scalar_one()
        edit = await cases.request_edit(manager, request_id, "positions")
        task = next(t for t in edit.state.open_tasks() if t.key.startswith("__edit__"))
        await cases.submit(manager, task.id or 0, "submit", {"positions": positions[:2]})
    harness.core.outbox_written()
    await approver.expect(f"его запись убрана из списка дела №{request_id}")
    await approver.wait_for("Артикул C-3", "✖️")  # its card says it is no longer needed
    async with harness.core.sessionmaker() as session:
        children = (await session.execute(select(Case).where(Case.parent_id == request_id).order_by(Case.id)))
        statuses = [c.status for c in children.scalars()]
    assert statuses == ["active", "active", "cancelled"]
