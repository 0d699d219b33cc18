"""Invites an admin makes fit whom they are for: an organisation switched off takes no new people (no invite
buttons on its card, a link made before refused when used); a dealer's roles come only with its organisation,
the company's own roles only without one — and an invite stored before that was checked, mixing them, gives nothing
when used: the person is told to ask for a new link, the admins what to make instead."""

from __future__ import annotations

import re

from sqlalchemy import select

from db.models import Invite, User
from services import people
from tests.chat import create_person
from tests.conftest import Harness
from tests.test_organisations_e2e import dealer_person, organisation
from tests.test_panel_actions import Office, office  # noqa: F401 (the fixture)


async def test_a_switched_off_organisation_takes_no_new_people(harness: Harness) -> None:
    admin = harness.admin
    garden = await organisation(harness, "ООО Сад region=Москва")
    await dealer_person(harness, "Лев", "ООО Сад", "Менеджер дилера")
    # A link made while it worked, kept for later.
    await admin.send(f"/org {garden}")
    old_card = await admin.card("ООО Сад", button="Приглашение: Менеджер дилера")
    await admin.press("Приглашение: Менеджер дилера", old_card)
    code = re.search(r"start=(\S+)", (await admin.expect("start=", "ООО Сад"))["text"])
    assert code is not None

    await admin.send(f"/org {garden}")
    await admin.press("Отключить", await admin.expect("ООО Сад", "ИНН/КПП"))
    card = await admin.expect("ООО Сад", "Отключена")
    assert not [b for b in admin.buttons(card) if "Приглашение" in b], "no invite buttons on its card"
    await admin.send(f"/org {garden}")
    card = await admin.expect("ООО Сад", "Отключена")
    assert not [b for b in admin.buttons(card) if "Приглашение" in b]

    # The old card's button is refused in words; the link made before is refused to whoever opens it.
    await admin.press("Приглашение: Сервисник дилера", old_card)
    await admin.expect("«ООО Сад» отключена", f"/org {garden}")
    harness._next_id += 1
    late = await create_person(harness.http, harness.base, harness._next_id, "Опоздавший")
    await late.send(f"/start {code.group(1)}")
    await late.expect("организацию, которая отключена")
    async with harness.core.sessionmaker() as session:
        assert (await session.execute(select(User).where(User.name == "Опоздавший"))).scalar_one_or_none() is None
        lev = (await session.execute(select(User).where(User.name == "Лев"))).scalar_one()

    # Its people, switched off with it, come back only once it works again.
    await admin.send(f"/restore {lev.id}")
    await admin.expect("«ООО Сад», а она отключена: сначала включите её")


async def test_an_invite_gives_a_dealers_roles_only_with_its_organisation(office: Office) -> None:  # noqa: F811
    """The company's own roles (a director) never come with a dealer's organisation, and a dealer's roles never
    without one: the panel and the chat refuse such an invite, saying which roles and what to do instead."""
    harness, admin = office.harness, office.harness.admin
    garden = await organisation(harness, "Сад и Парк region=Москва")

    form = {"csrf": office.csrf, "role": "director", "organisation": str(garden), "uses": "1"}
    response = await office.post("people/invite", data=form)
    page = await response.text()
    assert response.status == 400 and 'id="invite-link"' not in page
    error = page[page.index('id="invite-error"') :].split("</p>")[0]
    assert "Директор" in error and "без организации" in error

    response = await office.post("people/invite", data={"csrf": office.csrf, "role": "dealer_manager", "uses": "1"})
    page = await response.text()
    assert response.status == 400 and 'id="invite-link"' not in page
    error = page[page.index('id="invite-error"') :].split("</p>")[0]
    assert "Менеджер дилера" in error and "организаци" in error

    # Both together, with the organisation: the director is named.
    form = {"csrf": office.csrf, "role": ["dealer_manager", "director"], "organisation": str(garden), "uses": "1"}
    response = await office.post("people/invite", data=form)
    assert response.status == 400 and "Директор" in (await response.text()).split('id="invite-error"')[1][:400]

    # In chat, a dealer's role without its organisation.
    await admin.send("/invite dealer_manager")
    refused = await admin.expect("Менеджер дилера", "/orgs")
    assert "start=" not in refused["text"]
    await admin.send("/invite director dealer_staff")
    refused = await admin.expect("Сотрудник дилера", "/orgs")
    assert "start=" not in refused["text"]
    # What fits still works: the company's roles alone, a dealer's role on its organisation's card.
    await admin.send("/invite director")
    await admin.expect("start=")
    assert (await office.post("people/invite", data={**form, "role": "dealer_manager"})).status == 200
    async with harness.core.sessionmaker() as session:
        invites = list((await session.execute(select(Invite).order_by(Invite.created_at))).scalars())
    assert [(i.roles, i.organisation_id) for i in invites] == [(["director"], None), (["dealer_manager"], garden)]


async def test_invite_explains_itself_and_its_bounds(harness: Harness) -> None:
    """/invite alone explains how it is typed and lists the roles by their names (and keys to type); a number
    of uses outside 1…1000 is refused with the bounds, no link made."""
    admin = harness.admin
    await admin.send("/invite")
    usage = await admin.expect("/invite роль1 роль2")
    assert "Неизвестные роли" not in usage["text"] and "от 1 до 1000" in usage["text"]
    assert "Менеджер магазина — shop_manager" in usage["text"]
    assert "dealer_manager" not in usage["text"] and "/orgs" in usage["text"]

    await admin.send("/invite shop_managr")
    typo = await admin.expect("Неизвестные роли: shop_managr.")
    assert "Менеджер магазина — shop_manager" in typo["text"]

    for uses in ("x0", "x1000000"):
        await admin.send(f"/invite shop_manager {uses}")
        refused = await admin.expect(f"{uses} вне этих границ")
        assert "от 1 до 1000" in refused["text"] and "start=" not in refused["text"]
    await admin.send("/invite shop_manager x1000")
    await admin.expect("start=", "1000")
    async with harness.core.sessionmaker() as session:
        assert [i.max_uses for i in (await session.execute(select(Invite))).scalars()] == [1000]


async def test_an_old_invite_mixing_the_companys_roles_and_a_dealers_gives_nothing(harness: Harness) -> None:
    """Invites made before they were checked are still stored: one for a dealer with the director's role among the
    dealer's, one for no organisation with a dealer's role beside a shop manager's. Opened, neither grants anything
    (not even the half that would fit) nor is used up; the person reads to ask for a new link, each admin is told
    what the link gives, what is wrong with it and what to make instead."""
    admin = harness.admin
    garden = await organisation(harness, "ООО Сад region=Москва")
    marina = await harness.person("Марина", "shop_manager")
    async with harness.core.sessionmaker() as session, session.begin():
        now = harness.clock.now()
        mixed = await people.create_invite(
            session, roles=["dealer_manager", "director"], created_by=None, now=now, organisation_id=garden, max_uses=5
        )
        unbound = await people.create_invite(
            session, roles=["shop_manager", "dealer_staff"], created_by=None, now=now, max_uses=5
        )
        codes = mixed.code, unbound.code

    harness._next_id += 1
    gleb = await create_person(harness.http, harness.base, harness._next_id, "Глеб")
    await gleb.send(f"/start {codes[0]}")
    told = await gleb.expect("воспользоваться нельзя", "попросите у него новую ссылку")
    assert "Добро пожаловать" not in told["text"]
    warned = await admin.expect("⚠️ Глеб", "старую ссылку-приглашение", "ничего не выдано")
    assert "на Менеджер дилера, Директор — ООО Сад" in warned["text"]
    assert "Директор — роли самой компании" in warned["text"] and "без организации" in warned["text"]
    assert "director" not in warned["text"] and "dealer_manager" not in warned["text"]

    # Someone already in keeps what they had: welcomed back, the link's roles not added, the admins told.
    await marina.send(f"/start {codes[1]}")
    back = await marina.expect("С возвращением, Марина", "воспользоваться нельзя")
    assert "Сотрудник дилера" not in back["text"]
    warned = await admin.expect("⚠️ Марина", "Сотрудник дилера — роли дилера", "/orgs")

    async with harness.core.sessionmaker() as session:
        assert (await session.execute(select(User).where(User.name == "Глеб"))).scalar_one_or_none() is None
        marina_id = (await session.execute(select(User.id).where(User.name == "Марина"))).scalar_one()
        assert await people.roles_of(session, marina_id) == {"shop_manager"}
        stored = [await session.get(Invite, code) for code in codes]
    assert [invite.uses for invite in stored if invite is not None] == [0, 0]


async def test_grant_and_invite_take_roles_by_their_names_and_a_stranger_is_invited_not_granted(
    harness: Harness,
) -> None:
    admin = harness.admin
    # Someone who never joined: /grant says so and how to invite them, not «Неизвестные роли: —».
    await admin.send("/grant @jsmith Менеджер магазина")
    told = await admin.expect("@jsmith ещё нет в боте", "/invite Менеджер магазина")
    assert "Неизвестные роли" not in told["text"], told["text"]
    # The command it suggests works: a role by its name, with a space, quoted or not.
    await admin.send("/invite Менеджер магазина")
    await admin.expect("start=", "Менеджер магазина")
    await admin.send("/invite «Бухгалтер» x2")
    await admin.expect("start=", "Бухгалтер")

    marina = await harness.person("Марина", "shop_manager")
    async with harness.core.sessionmaker() as session:
        number = (await session.execute(select(User.id).where(User.tg_id == marina.id))).scalar_one()
    await admin.send(f"/grant {number} бухгалтер")
    await admin.expect("Марина", "Бухгалтер", "Менеджер магазина")
    # A word that names no role: which one, and the roles there are, by their names.
    await admin.send(f"/grant {number} кладовщик")
    unknown = await admin.expect("Неизвестные роли: кладовщик.", "Роли: ")
    assert "Работник склада" in unknown["text"] and "warehouse_worker" not in unknown["text"], unknown["text"]
    async with harness.core.sessionmaker() as session:
        assert await people.roles_of(session, number) == {"shop_manager", "accountant"}


async def test_the_admin_who_made_an_invite_hears_who_joined_by_it(harness: Harness) -> None:
    gleb = await harness.person("Глеб", "shop_manager", "accountant")
    told = await harness.admin.expect("👋 Приглашение принято: Глеб")
    assert f"@u{gleb.id}" in told["text"] and "Бухгалтер, Менеджер магазина" in told["text"], told["text"]
