"""A person revoked in the panel is told plainly that their access is closed, whatever they send; the admin sees
it in /users, is told how to restore them when granting a role, an invite link does not reopen it, and the admin
restores them — in chat (/restore, or the button on their /users card) or in the panel — audited like the revoke."""

from __future__ import annotations

from sqlalchemy import select

from db.models import AuditEntry, User
from tests.chat import Person, create_person
from tests.conftest import Harness
from tests.test_panel_actions import Office, office  # noqa: F401 (the fixture)


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


async def test_someone_turned_away_at_a_dealer_link_is_not_restored(harness: Harness) -> None:
    """Restoring gives back what an admin took; someone never let in (a general dealer link, «Отклонить») has
    nothing to get back and would come in as the company's own person with no organisation: refused."""
    admin = harness.admin
    await admin.send("/dealer_link x5")
    code = (await admin.expect("start="))["text"].split("start=")[1].split()[0]
    denis = await create_person(harness.http, harness.base, 5301, "Денис")
    await denis.send(f"/start {code}")
    await denis.expect("администратор проверит")
    await admin.press("Отклонить", await admin.card("Денис", "Одобрить", button="Отклонить"))
    async with harness.core.sessionmaker() as session:
        held = (await session.execute(select(User).where(User.tg_id == 5301))).scalar_one()
    await admin.send(f"/restore {held.id}")
    await admin.expect("Денис", "восстанавливать нечего")
    async with harness.core.sessionmaker() as session:
        denied = await session.get(User, held.id)
        assert denied is not None and not denied.active
