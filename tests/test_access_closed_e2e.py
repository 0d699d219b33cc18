"""A person revoked in the panel is told plainly that their access is closed, whatever they send; the admin sees
it in /users, is told how to restore them when granting a role, an invite link does not reopen it, and the admin
restores them — in chat (/restore, or the button on their /users card) or in the panel — audited like the revoke.
An admin revokes in chat too (/revoke N, or the card's «Отозвать доступ» after a second question), as the panel
does: the tasks go back to the pools, the audit says who, the person is told."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from db.models import AuditEntry, Company, Invite, Task, User
from services.people import roles_of
from tests.chat import Person, create_person
from tests.conftest import Harness
from tests.test_fulfillment_e2e import a_quote_left_at_its_first_question, an_offer_for_the_director
from tests.test_fulfillment_e2e import fulfillment as fulfillment  # the fixture: the fulfillment warehouse's people
from tests.test_organisations_e2e import organisation
from tests.test_panel_actions import Office, office  # noqa: F401 (the fixture)
from tests.test_rights_e2e import a_check_taken_by_ivan


async def revoke_in_panel(office: Office, person: Person) -> int:  # noqa: F811
    async with office.harness.core.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.tg_id == person.id))).scalar_one()
    assert (await office.post(f"people/{user.id}/revoke")).status == 303
    return user.id


async def test_a_revoked_person_is_told_and_an_admin_restores_them(office: Office) -> None:  # noqa: F811
    harness = office.harness
    admin = harness.admin
    marina = await harness.person("Марина", "shop_manager")
    number = await revoke_in_panel(office, marina)
    # Closed in the panel, she hears it at once (not at her next press), and the menu she can no longer use goes.
    assert await menu_of(marina) is not None
    await marina.expect("доступ к боту закрыт")
    assert await menu_of(marina) is None

    # Whatever she sends, she reads that her access is closed — not «I did not understand».
    await marina.send("покажи задачи")
    told = await marina.expect("доступ к боту закрыт")
    assert "Не удалось понять" not in told["text"] and "администратор" in told["text"]

    # The admin's /users marks her, with the way back.
    await admin.send("/users")
    roster = await admin.expect("Марина")
    line = next(row for row in roster["text"].splitlines() if "Марина" in row)
    assert f"доступ закрыт (/restore {number})" in line

    # A role granted to her is refused with how to restore her, not «роли теперь: …».
    await admin.send(f"/grant {number} director")
    refused = await admin.expect("закрыт")
    assert f"/restore {number}" in refused["text"] and "теперь" not in refused["text"]

    # A new invite link does not reopen what an admin closed by name: she is told, the link is not used.
    await admin.send("/invite director")
    code = (await admin.expect("start="))["text"].split("start=")[1].split()[0]
    await marina.send(f"/start {code}")
    greeted = await marina.expect("доступ к боту закрыт")
    assert "С возвращением" not in greeted["text"]

    # Restored from chat: /restore N; she hears it and works again with the roles she kept.
    await admin.send(f"/restore {number}")
    await admin.expect("восстановлен", "Менеджер магазина")
    await marina.expect("доступ снова открыт", "Менеджер магазина")
    await marina.send("▶️ Начать процесс")
    await marina.expect("Какой процесс")

    # Revoked again, restored by the button on her card in /users.
    await revoke_in_panel(office, marina)
    await admin.send("/users")
    await admin.press("Марина", await admin.expect("Марина"))
    card = await admin.expect("Доступ закрыт")
    await admin.press("Вернуть доступ", card)
    await admin.expect("Марина", "Менеджер магазина")
    await marina.expect("доступ снова открыт")

    # Revoked a third time, restored in the panel.
    await revoke_in_panel(office, marina)
    page = await office.page("people")
    row = page[page.index(f'data-person="{number}"') :]
    assert f'action="people/{number}/restore"' in row[: row.index("</tr>")]
    assert (await office.post(f"people/{number}/restore")).status == 303
    await marina.expect("доступ к боту снова открыт", "/start")  # told, as from the chat
    async with harness.core.sessionmaker() as session:
        user = await session.get(User, number)
        assert user is not None and user.active
        query = select(AuditEntry).where(AuditEntry.action == "person.restored").order_by(AuditEntry.id)
        restored = list((await session.execute(query)).scalars())
    admin_id = restored[0].actor_id
    assert admin_id is not None
    assert [(e.actor_id, e.data) for e in restored] == [
        (admin_id, {"person": number}),
        (admin_id, {"person": number}),
        (None, {"person": number, "by": "panel"}),
    ]
    # Nothing to restore twice.
    assert (await office.post(f"people/{number}/restore")).status == 409


async def turned_away_at_a_dealer_link(harness: Harness, tg_id: int, name: str) -> tuple[Person, int]:
    """Someone opens a general dealer link and an admin presses «Отклонить» on their card."""
    admin = harness.admin
    await admin.send("/dealer_link x5")
    code = (await admin.expect("start="))["text"].split("start=")[1].split()[0]
    person = await create_person(harness.http, harness.base, tg_id, name)
    await person.send(f"/start {code}")
    await person.expect("администратор проверит")
    await admin.press("Отклонить", await admin.card(name, "Одобрить", button="Отклонить"))
    async with harness.core.sessionmaker() as session:
        number = (await session.execute(select(User.id).where(User.tg_id == tg_id))).scalar_one()
    return person, number


def line_of(roster: dict[str, Any], name: str) -> str:
    return next(row for row in roster["text"].splitlines() if name in row)


async def test_someone_turned_away_at_a_dealer_link_is_marked_so_and_not_restored(office: Office) -> None:  # noqa: F811
    """Restoring gives back what an admin took; someone never let in (a general dealer link, «Отклонить») has
    nothing to get back and would come in as the company's own person with no organisation: refused. The admins'
    lists say «не допущен» of them, not «доступ закрыт (/restore N)» — in chat and in the panel, in both languages —
    while someone revoked after their last role was taken is still marked revoked, and restored as such."""
    harness = office.harness
    admin = harness.admin
    _denis, number = await turned_away_at_a_dealer_link(harness, 5301, "Денис")
    vera = await harness.person("Вера", "shop_manager")
    async with harness.core.sessionmaker() as session:
        vera_id = (await session.execute(select(User.id).where(User.tg_id == vera.id))).scalar_one()
    await admin.send(f"/revoke {vera_id} shop_manager")
    await admin.expect("Вера — роли теперь: —")
    await admin.send(f"/revoke {vera_id}")
    await admin.expect("Доступ пользователя Вера закрыт")

    await admin.send("/users")
    roster = await admin.expect("Денис", "Вера")
    assert "⛔ не допущен" in line_of(roster, "Денис") and "/restore" not in line_of(roster, "Денис")
    assert f"доступ закрыт (/restore {vera_id})" in line_of(roster, "Вера")
    await admin.send(f"/restore {number}")
    await admin.expect("Денис", "не был допущен", "восстанавливать нечего")
    await admin.send(f"/grant {number} director")
    refused = await admin.expect("Денис", "не был допущен")
    assert "/restore" not in refused["text"] and "теперь" not in refused["text"]
    async with harness.core.sessionmaker() as session:
        denied = await session.get(User, number)
        assert denied is not None and not denied.active
        assert await roles_of(session, number) == set()

    # The panel: a word of its own and no «Вернуть доступ» for him; Вера's is there.
    page = await office.page("people")
    row = page[page.index(f'data-person="{number}"') :].split("</tr>")[0]
    assert "не допущен" in row and "доступ отозван" not in row and "/restore" not in row
    row = page[page.index(f'data-person="{vera_id}"') :].split("</tr>")[0]
    assert "доступ отозван" in row and f'action="people/{vera_id}/restore"' in row
    lost = " ".join(page[page.index('id="unreachable"') :].split("</ul>")[0].split())
    assert "Денис — не допущен" in lost and "Вера — доступ отозван" in lost
    assert (await office.post(f"people/{number}/restore")).status == 409

    await admin.send(f"/restore {vera_id}")
    await admin.expect("Доступ пользователя Вера восстановлен")
    # In English too.
    await admin.send("/lang")
    await admin.expect("Language: English.")
    await admin.send("/users")
    roster = await admin.expect("Денис", "Вера")
    assert "⛔ not let in" in line_of(roster, "Денис") and "/restore" not in line_of(roster, "Денис")


async def test_someone_turned_away_is_told_what_to_do_and_let_in_after_all(harness: Harness) -> None:
    """Turned away at a general dealer link, a person reads at once — and whatever they send later — that an admin
    did not let them in and what to ask for; the general link again changes nothing. The admin lets them in from
    their /users card (their dealer, then the role), or an invite link made for them lets them in."""
    admin = harness.admin
    await organisation(harness, "ООО Сад region=Москва")
    await admin.send("/dealer_link x5")
    code = (await admin.expect("start="))["text"].split("start=")[1].split()[0]
    denis = await create_person(harness.http, harness.base, 5301, "Денис")
    boris = await create_person(harness.http, harness.base, 5302, "Boris", language="en")
    for person in (denis, boris):
        await person.send(f"/start {code}")
        await person.expect("administrator will check" if person is boris else "администратор проверит")
        card = await admin.card(person.name, "Одобрить", button="Отклонить")
        toast = await admin.press("Отклонить", card)
        assert toast == "Отклонено. Если передумаете — карточка человека в /users."
    told = await denis.expect("Администратор не открыл вам доступ по общей ссылке для дилеров")
    assert "личную ссылку-приглашение" in told["text"]
    await boris.expect("An administrator did not let you in", "personal invite link")

    # Whatever he sends, he reads the same — not «access closed» as a revoked person would.
    await denis.send("Здравствуйте, я из ООО Сад")
    again = await denis.expect("Администратор не открыл вам доступ")
    assert "закрыт" not in again["text"]
    # The general link again: the same answer, no new card for the admins, the link not used up by him.
    await denis.send(f"/start {code}")
    await denis.expect("Администратор не открыл вам доступ")
    await harness.settle()
    assert len([m for m in await admin.bot_messages() if "Денис" in (m.get("text") or "") and "Одобрить" in
                (m.get("text") or "")]) == 1  # fmt: skip
    async with harness.core.sessionmaker() as session:
        invite = await session.get(Invite, code)
        assert invite is not None and invite.uses == 2

    # The admin lets him in from his /users card: his dealer, then the role.
    await admin.send("/users")
    await admin.press("Денис", await admin.expect("Денис"))
    card = await admin.card("Денис не допущен", "выберите его дилера", button="ООО Сад")
    assert "Отклонить" not in " ".join(admin.buttons(card))
    await admin.press("Одобрить: ООО Сад", card)
    await admin.press("Менеджер дилера", await admin.card("Денис", "роль", button="Менеджер дилера"))
    await denis.expect("ООО Сад", "Менеджер дилера")
    await denis.send("📁 Мои дела")
    await denis.expect("У вас пока нет дел")  # in, with a menu that works

    # Boris is the company's own: an invite link made for him lets him in.
    await admin.send("/invite shop_manager")
    link = (await admin.expect("start="))["text"].split("start=")[1].split()[0]
    await boris.send(f"/start {link}")
    await boris.expect("Welcome, Boris!", "Shop manager")
    assert await menu_of(boris) is not None
    async with harness.core.sessionmaker() as session:
        garden = (await session.execute(select(Company.id).where(Company.name == "ООО Сад"))).scalar_one()
        found = await session.execute(select(User).where(User.tg_id.in_((5301, 5302))))
        let_in = {user.name: user for user in found.scalars()}
        assert let_in["Денис"].active and let_in["Денис"].organisation_id == garden
        assert await roles_of(session, let_in["Денис"].id) == {"dealer_manager"}
        assert let_in["Boris"].active and let_in["Boris"].organisation_id is None
        assert await roles_of(session, let_in["Boris"].id) == {"shop_manager"}
        decided = (await session.execute(select(AuditEntry).where(AuditEntry.action.in_(
            ("person.turned_away", "person.approved"))).order_by(AuditEntry.id))).scalars()  # fmt: skip
        admin_id = (await session.execute(select(User.id).where(User.tg_id == admin.id))).scalar_one()
    assert [(e.action, e.actor_id, e.data) for e in decided] == [
        ("person.turned_away", admin_id, {"person": let_in["Денис"].id}),
        ("person.turned_away", admin_id, {"person": let_in["Boris"].id}),
        ("person.approved", admin_id, {"person": let_in["Денис"].id, "organisation": garden, "role": "dealer_manager"}),
    ]


async def menu_of(person: Person) -> list[list[str]] | None:
    """The keyboard under the person's chat, as their Telegram shows it (None once the bot took it away)."""
    async with person.http.get(f"{person.api}/messages", params={"after": "0"}) as response:
        keyboard: list[list[str]] | None = (await response.json())["reply_keyboard"]
    return keyboard


async def test_an_admin_revokes_in_chat_as_the_panel_does(harness: Harness) -> None:
    admin = harness.admin
    manager, ivan, pavel = await a_check_taken_by_ivan(harness)
    assert await menu_of(ivan) is not None

    # Ivan's card in /users: «Отозвать доступ» asks first; «Отмена» changes nothing.
    await admin.send("/users")
    await admin.press("Иван", await admin.expect("Иван"))
    card = await admin.card("Иван — роли:", button="Отозвать доступ")
    await admin.press("Отозвать доступ", card)
    asked = await admin.card("Отозвать доступ: Иван?", "вернутся в общие очереди", button="Отмена")
    await admin.press("Отмена", asked)
    await admin.card("Иван — роли:", button="Отозвать доступ")
    async with harness.core.sessionmaker() as session:
        row = (await session.execute(select(User).where(User.name == "Иван"))).scalar_one()
        assert row.active

    # Confirmed: his task goes back to the pool and so to Pavel, he is told, his card offers the way back.
    await admin.press("Отозвать доступ", asked)
    await admin.card("Иван", "Доступ закрыт", button="Вернуть доступ")
    await ivan.expect("доступ к боту закрыт")
    assert await menu_of(ivan) is None, "the menu he can no longer use goes"
    await pavel.wait_for("Подтвердите наличие дефекта", "Эта задача — ваша")  # the only warehouse head left
    moved = (await admin.expect("Задачи сотрудника Иван теперь:"))["text"]  # the admin is told where it went
    assert "«Подтвердите наличие дефекта» (№1 · " in moved and moved.endswith("→ Павел"), moved
    async with harness.core.sessionmaker() as session:
        task = (await session.execute(select(Task).where(Task.key == "confirm_defect"))).scalar_one()
        pavel_id = (await session.execute(select(User.id).where(User.name == "Павел"))).scalar_one()
        assert task.status == "open" and task.assignee_id == pavel_id
        audit = list((await session.execute(select(AuditEntry).where(AuditEntry.action == "person.revoked"))).scalars())
        released = (await session.execute(select(AuditEntry).where(AuditEntry.action == "task.released"))).scalar_one()
    admin_id = released.actor_id
    assert admin_id is not None and released.data["from"] == row.id
    assert [(e.actor_id, e.data) for e in audit] == [(admin_id, {"person": row.id})]
    # The question pressed again: closed already, said so, nothing written twice.
    assert await admin.press("Отозвать доступ", asked) == "Доступ пользователя Иван уже закрыт."

    # /revoke N with no role does the same; the admin reads how to undo it.
    async with harness.core.sessionmaker() as session:
        marina = (await session.execute(select(User).where(User.name == "Марина"))).scalar_one()
    await admin.send(f"/revoke {marina.id}")
    await admin.expect("Доступ пользователя Марина закрыт", f"/restore {marina.id} вернёт доступ")
    await manager.expect("доступ к боту закрыт")
    await manager.send("▶️ Начать процесс")
    await manager.expect("доступ к боту закрыт")
    await admin.send(f"/revoke {marina.id}")
    await admin.expect("Доступ пользователя Марина уже закрыт")
    # Not an administrator (the panel offers no revoke for them either), and the usage names the new form.
    await admin.send(f"/revoke {admin_id}")
    await admin.expect("администратор: доступ администратора здесь не закрывается")
    await admin.send("/revoke")
    await admin.expect("Формат: /revoke", "без ролей закрывает человеку доступ")
    await admin.send("/users")
    await admin.press("Админ", await admin.expect("Админ"))
    own = await admin.card("Админ — роли:")
    assert not [b for b in admin.buttons(own) if "Отозвать" in b]
    async with harness.core.sessionmaker() as session:
        audit = list((await session.execute(select(AuditEntry).where(AuditEntry.action == "person.revoked"))).scalars())
    assert [(e.actor_id, e.data) for e in audit] == [(admin_id, {"person": row.id}), (admin_id, {"person": marina.id})]

    await admin.send("/help")
    assert "/revoke N без ролей — закрыть человеку доступ" in (await admin.expect("Для администраторов"))["text"]


async def an_offer_returned_to_her(manager: Person, director: Person) -> None:
    """Алина's offer goes to the general director, who returns it with a remark: correcting it is her own task."""
    await an_offer_for_the_director(manager)
    await director.press("Вернуть с замечаниями", await director.expect("Согласуйте коммерческое предложение"))
    await director.expect("Что исправить?")
    await director.send("Цена хранения завышена")
    await director.press("Подтвердить", await director.expect("Проверьте"))
    await manager.expect("Исправьте КП по замечанию директора")


async def test_a_personal_task_of_someone_who_left_goes_to_an_administrator(fulfillment: Harness) -> None:
    """The offer the director returned is its account manager's own task (no pool to go back to): when she leaves,
    it comes to an administrator, who hears why, and the admin who closed her access reads where it went — the
    case is not left waiting for someone who is gone."""
    admin, manager, director = fulfillment.admin, fulfillment.people["Алина"], fulfillment.people["Генеральный Олег"]
    await an_offer_returned_to_her(manager, director)
    # A second quote she began and left at its first question: her own unsent request, not work to hand on.
    await a_quote_left_at_its_first_question(manager)

    async with fulfillment.core.sessionmaker() as session:
        alina = (await session.execute(select(User).where(User.name == "Алина"))).scalar_one()
        admin_id = (await session.execute(select(User.id).where(User.tg_id == admin.id))).scalar_one()
    await admin.send(f"/revoke {alina.id}")
    # (the task's notice comes with the step, the answer to the command after it: in either order)
    came = (await admin.wait_for("Исправьте КП по замечанию директора", "передана вам"))["text"]
    # Closed access is what happened; that she left the company is not known, so not said.
    assert "администратор закрыл доступ: Алина" in came and "не работает" not in came, came
    await admin.wait_for("Доступ пользователя Алина закрыт")
    moved = (await admin.wait_for("Задачи сотрудника Алина теперь:"))["text"]
    assert "«Исправьте КП по замечанию директора» (№1 · ООО Ромашка: Детские игрушки) → Админ" in moved, moved
    assert moved.count("•") == 1, moved  # the unsent request stayed hers
    await fulfillment.settle()
    assert await admin.find("Новое дело") is None
    async with fulfillment.core.sessionmaker() as session:
        task = (await session.execute(select(Task).where(Task.key == "revise_offer"))).scalar_one()
    assert task.status == "open" and task.assignee_id == admin_id


async def test_the_admins_hear_of_a_task_left_with_someone_who_blocked_the_bot(fulfillment: Harness) -> None:
    """The account manager blocks the bot while the offer the director returned is her own task: it stays hers (she
    may unblock it), and the admins are told so, with how to hand it on — the case is not left waiting unseen."""
    admin, manager, director = fulfillment.admin, fulfillment.people["Алина"], fulfillment.people["Генеральный Олег"]
    await an_offer_returned_to_her(manager, director)

    await fulfillment.blocks_the_bot(manager, "Алина")
    told = (await admin.wait_for("Алина: бот заблокирован"))["text"]
    assert "Остались только за ним (ней)" in told and "/find" in told, told
    assert "• «Исправьте КП по замечанию директора» (№1 · ООО Ромашка: Детские игрушки)" in told, told
    assert "Задачи сотрудника" not in told, told  # nothing of hers went to a pool


async def test_a_pool_task_nobody_else_may_do_stays_with_someone_who_blocked_the_bot_and_says_so(
    fulfillment: Harness,
) -> None:
    """The general director, the one person of his role, blocks the bot with an offer to approve: the task goes
    back to his role's pool and so to him again. The admins read it once, among the tasks still his alone — not as
    a task that «went» to the person who blocked the bot."""
    admin, manager, director = fulfillment.admin, fulfillment.people["Алина"], fulfillment.people["Генеральный Олег"]
    await an_offer_for_the_director(manager)
    await director.expect("Согласуйте коммерческое предложение", "Эта задача — ваша")

    await fulfillment.blocks_the_bot(director, "Генеральный Олег")
    told = (await admin.wait_for("Генеральный Олег: бот заблокирован"))["text"]
    assert "Задачи сотрудника" not in told, told
    assert "Остались только за ним (ней)" in told and told.count("Согласуйте коммерческое предложение") == 1, told


async def test_grant_finds_a_person_by_telegram_id_and_a_change_that_changes_nothing_says_so(
    office: Office,  # noqa: F811
) -> None:
    """The admin copies Vera's Telegram id from a client: /grant finds her by it (not «not in the bot yet, make an
    invite»). A role she has already, or one she does not have to take, is
    said so — and she is not told her roles «changed»."""
    harness, admin = office.harness, office.harness.admin
    vera = await harness.person("Вера", "shop_manager")
    async with harness.core.sessionmaker() as session:
        vera_id = (await session.execute(select(User.id).where(User.tg_id == vera.id))).scalar_one()
    await admin.send(f"/grant {vera.id} director")
    await admin.expect("Вера — роли теперь:", "Директор")
    await vera.expect("Администратор изменил ваши роли")
    await admin.send(f"/grant {vera_id} director")
    await admin.expect("У сотрудника Вера уже есть: Директор.")
    await admin.send("/grant 123456789012345678901234 director")  # longer than any Telegram id: no one's
    await admin.expect("123456789012345678901234 ещё нет в боте")
    await admin.send(f"/revoke {vera_id} accountant")
    await admin.expect("У сотрудника Вера нет роли: Бухгалтер.")
    await harness.settle()
    texts = [m.get("text") or "" for m in await vera.bot_messages()]
    assert sum(t.startswith("🔧 Администратор изменил ваши роли") for t in texts) == 1, texts  # the real change
    async with harness.core.sessionmaker() as session:
        assert await roles_of(session, vera_id) == {"shop_manager", "director"}


async def test_a_revoked_person_reads_that_their_access_is_closed_whatever_command_button_or_search(
    harness: Harness,
) -> None:
    """Not only texts: /help used to give her the whole list of what she could do, /lang switched her language, and
    her old buttons and the inline search answered as before. One check, before every router, answers them all."""
    admin = harness.admin
    marina = await harness.person("Марина", "shop_manager")
    await marina.send("▶️ Начать процесс")
    choice = await marina.card("Какой процесс")  # her buttons from before, still in her chat
    await admin.send(f"/revoke @u{marina.id}")
    await admin.expect("Доступ пользователя Марина закрыт")
    await marina.expect("доступ к боту закрыт")

    for command in ("/help", "/lang", "/language", "/tasks", "/cancel", "/users", "/find 1", "/case 1", "/figures"):
        await marina.send(command)
        told = await marina.expect("доступ к боту закрыт")
        assert "Я веду процессы" not in told["text"] and "Language" not in told["text"], (command, told["text"])
    alert = await marina.press(choice["inline_keyboard"][0][0]["text"], choice)
    assert alert is not None and "доступ к боту закрыт" in alert
    found = await marina.inline("часы")
    assert found["results"] == [] and found["button"]["text"] == "Нет доступа к боту"
    # /start still tells her the same (and still lets someone turned away back in with a new link: its own test).
    await marina.send("/start")
    await marina.expect("доступ к боту закрыт")
    async with harness.core.sessionmaker() as session:
        language = (await session.execute(select(User.language).where(User.tg_id == marina.id))).scalar_one()
    assert language == "ru"  # /lang did nothing
