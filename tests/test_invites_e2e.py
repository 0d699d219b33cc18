"""Invites an admin makes fit whom they are for: an organisation switched off takes no new people (no invite
buttons on its card, a link made before refused when used); a dealer's roles come only with its organisation,
the company's own roles only without one — and an invite stored before that was checked, mixing them, gives nothing
when used: the person is told to ask for a new link, the admins what to make instead."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from sqlalchemy import select

from app.container import build_core
from app.settings import Settings
from db.models import Invite, User
from services import people
from services.wording.names import ROLES
from tests.chat import create_person
from tests.conftest import Harness
from tests.revisions import indexes_down_and_up
from tests.test_organisations_e2e import dealer_person, organisation
from tests.test_panel_actions import Office, office  # noqa: F401 (the fixture)

LIBRARY = Path(__file__).resolve().parent.parent / "flows" / "library"


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
    """A role /invite does not know is named, with how /invite is typed and the company's roles by their names
    alone (a dealer's come from /orgs); a number of uses outside 1…1000 is refused with the bounds, no link made."""
    admin = harness.admin
    await admin.send("/invite shop_managr")
    typo = await admin.expect("Неизвестные роли: shop_managr.", "/invite роль1 роль2")
    assert "от 1 до 1000" in typo["text"] and "Менеджер магазина\n" in typo["text"]
    assert "Менеджер дилера" not in typo["text"] and "/orgs" in typo["text"]
    assert not role_keys(typo["text"].replace("shop_managr", "")), typo["text"]

    for uses in ("x0", "x1000000"):
        await admin.send(f"/invite shop_manager {uses}")
        refused = await admin.expect(f"{uses} вне этих границ")
        assert "от 1 до 1000" in refused["text"] and "start=" not in refused["text"]
    await admin.send("/invite shop_manager x1000")
    await admin.expect("start=", "1000")
    async with harness.core.sessionmaker() as session:
        assert [i.max_uses for i in (await session.execute(select(Invite))).scalars()] == [1000]


def role_keys(text: str, lang: str = "ru") -> set[str]:
    """The internal role keys (`shop_manager`, `admin`) a text shows: none may reach a person. (In English a
    one-word key is a word too: «Head of security».)"""
    return {w for w in re.findall(r"[A-Za-z_0-9]+", text) if "_" in w or (lang == "ru" and w in ROLES)}


async def test_an_admin_invites_by_pressing_roles_and_how_many_people(harness: Harness) -> None:
    """/invite alone: one message with the company's roles as buttons by their names, how many people the link is
    for and «administrator»; each press changes that message in place, «Create link» turns it into the link, which
    gives a newcomer the roles pressed."""
    admin = harness.admin
    welcome = await admin.find("Вы администратор")  # the first admin is pointed to it
    assert welcome is not None and "командой /invite — роли выбираются кнопками" in welcome["text"], welcome
    await admin.send("/invite")
    picker = await admin.card("Создать ссылку", button="Создать ссылку")
    buttons = admin.buttons(picker)
    wanted = {"Менеджер магазина", "Бухгалтер", "⭐ Администратор", "✅ 1 человек", "5 человек", "20 человек"}
    assert wanted | {"🔗 Создать ссылку"} <= set(buttons), buttons
    assert not [b for b in buttons if "дилера" in b], "a dealer's roles are invited on its organisation's card"
    assert not role_keys(picker["text"] + " ".join(buttons)), (picker["text"], buttons)

    await admin.press("Менеджер магазина", picker)
    picker = await admin.wait_for("Роли: Менеджер магазина")
    await admin.press("Директор", picker)
    picker = await admin.wait_for("Роли: Директор, Менеджер магазина")
    await admin.press("Бухгалтер", picker)
    picker = await admin.wait_for("Роли: Бухгалтер, Директор, Менеджер магазина")
    await admin.press("✅ Директор", picker)  # pressed by mistake: pressed again, it is off
    picker = await admin.wait_for("Роли: Бухгалтер, Менеджер магазина")
    await admin.press("5 человек", picker)
    picker = await admin.wait_for("Роли: Бухгалтер, Менеджер магазина", "Человек: 5")
    buttons = admin.buttons(picker)
    assert {"✅ Бухгалтер", "✅ Менеджер магазина", "Директор", "✅ 5 человек", "1 человек"} <= set(buttons), buttons
    assert not role_keys(picker["text"] + " ".join(buttons))

    await admin.press("Создать ссылку", picker)
    link = await admin.wait_for("start=", "Бухгалтер, Менеджер магазина", "5")
    assert link["message_id"] == picker["message_id"], "the link comes in the message pressed, not a new one"
    assert not admin.buttons(link) and "Код:" in link["text"] and not role_keys(link["text"].split("https:")[0])
    pickers = [m for m in await admin.bot_messages() if "Создать ссылку" in (m.get("text") or "")]
    assert not pickers, "every press changed the one message"
    code = re.search(r"start=(\S+)", link["text"])
    assert code is not None

    harness._next_id += 1
    nina = await create_person(harness.http, harness.base, harness._next_id, "Нина")
    await nina.send(f"/start {code.group(1)}")
    await nina.expect("Ваши роли: Бухгалтер, Менеджер магазина.")
    async with harness.core.sessionmaker() as session:
        nina_id = (await session.execute(select(User.id).where(User.name == "Нина"))).scalar_one()
        assert await people.roles_of(session, nina_id) == {"accountant", "shop_manager"}
        invite = (await session.execute(select(Invite))).scalar_one()
    assert (invite.max_uses, invite.make_admin, invite.organisation_id) == (5, False, None)

    # What is typed still works as before, roles by their names.
    await admin.send("/invite Работник склада x5")
    await admin.expect("start=", "Работник склада", "5")


async def test_create_link_pressed_twice_makes_one_link(harness: Harness) -> None:
    """«Создать ссылку» tapped twice at once, pressed again later on a copy its Telegram had not yet updated, or
    delivered by Telegram twice: one invite is made for the message, and each press shows that same link — a second
    link nobody asked for would let more people in than the admin chose."""
    admin = harness.admin
    await admin.send("/invite")
    picker = await admin.card("Создать ссылку", button="Создать ссылку")
    await admin.press("Бухгалтер", picker)
    picker = await admin.wait_for("Роли: Бухгалтер")
    create = next(k["callback_data"] for row in picker["inline_keyboard"] for k in row if "Создать" in k["text"])

    # A double tap: both presses reach the bot before the message shows the link.
    answers = await asyncio.gather(
        admin.press_data(picker["message_id"], create), admin.press_data(picker["message_id"], create, unchecked=True)
    )
    assert sum("уже создана" in (said or "") for said in answers) == 1, answers
    link = await admin.wait_for("start=", "Бухгалтер")
    assert link["message_id"] == picker["message_id"]
    await harness.settle()
    assert [m["text"] for m in await admin.bot_messages() if "start=" in (m.get("text") or "")] == [link["text"]]

    # Pressed again later on the old copy, and that press delivered twice (one update_id): the same link, and a
    # role pressed there does not turn the link back into a choice.
    async with harness.http.post(f"{harness.base}/sandbox/api/faults", json={"kind": "duplicate", "count": 1}) as r:
        assert r.status == 200
    told = await admin.press_data(picker["message_id"], create, unchecked=True)
    assert told is not None and "уже создана" in told, told
    role = next(k["callback_data"] for row in picker["inline_keyboard"] for k in row if k["text"] == "Директор")
    told = await admin.press_data(picker["message_id"], role, unchecked=True)
    assert told is not None and "уже создана" in told, told
    await harness.settle()
    shown = next(m for m in await admin.bot_messages() if m["message_id"] == picker["message_id"])
    assert shown["text"] == link["text"] and not admin.buttons(shown), shown
    assert [m["text"] for m in await admin.bot_messages() if "start=" in (m.get("text") or "")] == [link["text"]]
    async with harness.core.sessionmaker() as session:
        invites = list((await session.execute(select(Invite))).scalars())
    assert [(i.roles, i.max_uses) for i in invites] == [(["accountant"], 1)]
    assert f"start={invites[0].code}" in link["text"]


async def test_two_workers_pressing_one_pickers_create_link_at_once_store_one_invite(
    tmp_path: Path, database_url: str
) -> None:
    """Two bot workers taking the same «Создать ссылку» at once (each its own transaction): the database lets one
    invite be made for the picker message, and both read that one — no worker's memory is relied on."""
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    try:
        now = core.clock.now()
        async with core.sessionmaker() as session, session.begin():
            admin = User(tg_id=501, name="Админ", language="ru", is_admin=True, active=True, created_at=now)
            session.add(admin)
            await session.flush()
            admin_id = admin.id

        async def press(roles: list[str]) -> str:
            async with core.sessionmaker() as session, session.begin():
                made = await people.create_invite(session, roles=roles, created_by=admin_id, now=now, picker_ref=7)
                return made.code

        codes = await asyncio.gather(press(["accountant"]), press(["accountant"]))
        async with core.sessionmaker() as session:
            stored = [(i.code, i.picker_ref) for i in (await session.execute(select(Invite))).scalars()]
    finally:
        await core.close()
    assert codes[0] == codes[1] and stored == [(codes[0], 7)], (codes, stored)


async def test_the_invites_picker_key_comes_with_its_revision_and_goes_with_it(empty_database_url: str) -> None:
    """0044_invite_picker adds the unique index over an invite's maker and picker message; its downgrade drops it
    and no other, and the upgrade brings it back."""
    at_head, before, again = await indexes_down_and_up(
        empty_database_url, "invites", "0043_catalog_unit_code", at="0044_invite_picker"
    )
    assert "ux_invites_picker" not in before and again == at_head
    assert before == {name: index for name, index in at_head.items() if name != "ux_invites_picker"}
    assert at_head["ux_invites_picker"]["column_names"] == ["created_by", "picker_ref"]
    assert at_head["ux_invites_picker"]["unique"]


async def test_an_admin_invites_another_admin_by_pressing_and_reads_the_picker_in_english(harness: Harness) -> None:
    """«Administrator» alone makes a link for an administrator; the new one, reading English, gets the same
    message in English; someone who is not an administrator gets no such message, and its buttons do nothing."""
    admin = harness.admin
    await admin.send("/invite")
    picker = await admin.card("Создать ссылку", button="Создать ссылку")
    told = await admin.press("Создать ссылку", picker)  # nothing chosen yet: said, no link made
    assert told is not None and "Отметьте" in told, told
    await admin.press("⭐ Администратор", picker)
    picker = await admin.wait_for("Роли: Администратор")
    await admin.press("Создать ссылку", picker)
    link = await admin.wait_for("start=", "Администратор")
    code = re.search(r"start=(\S+)", link["text"])
    assert code is not None

    harness._next_id += 1
    john = await create_person(harness.http, harness.base, harness._next_id, "John", language="en")
    await john.send(f"/start {code.group(1)}")
    await john.expect("John", "administrator")
    await john.send("/invite")
    picker = await john.card("Create link", button="Create link")
    buttons = john.buttons(picker)
    wanted = {"Shop manager", "Accountant", "⭐ Administrator", "✅ 1 person", "5 people", "🔗 Create link"}
    assert wanted <= set(buttons), buttons
    assert not role_keys(picker["text"] + " ".join(buttons), "en"), (picker["text"], buttons)
    await john.press("Accountant", picker)
    picker = await john.wait_for("Roles: Accountant")
    await john.press("20 people", picker)
    picker = await john.wait_for("Roles: Accountant", "People: 20")
    await john.press("Create link", picker)
    await john.wait_for("start=", "Accountant", "20")

    marina = await harness.person("Марина", "shop_manager")
    await marina.send("/invite")
    said = await marina.expect("")
    assert "start=" not in said["text"] and not marina.buttons(said)
    # The admin's «Create link» pressed by someone else (a client made it up): refused, nothing made.
    data = next(key["callback_data"] for row in picker["inline_keyboard"] for key in row if "Create" in key["text"])
    told = await marina.press_data(said["message_id"], data, unchecked=True)
    assert told is not None and "start=" not in told
    async with harness.core.sessionmaker() as session:
        made = [(i.roles, i.max_uses, i.make_admin) for i in (await session.execute(select(Invite))).scalars()]
    assert sorted(made, key=str) == sorted([([], 1, True), (["accountant"], 20, False), (["shop_manager"], 1, False)],
                                           key=str)


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


async def test_an_invite_pressed_after_a_process_brought_new_roles_is_chosen_again(harness: Harness) -> None:
    """The roles the buttons stand for are those there were when the message was made: once a process loaded since
    brings another role, a press is not read against the new list (it could give a role nobody pressed) — the admin
    is told, and the message shows the roles there are now, none chosen."""
    admin = harness.admin
    await admin.send("/invite")
    picker = await admin.card("Создать ссылку", button="Создать ссылку")
    await admin.press("Директор", picker)
    picker = await admin.wait_for("Роли: Директор")

    source = (LIBRARY / "defect_return.yaml").read_text(encoding="utf-8")
    changed = source.replace("roles: [shop_manager, shop_admin,", "roles: [auditor, shop_manager, shop_admin,", 1)
    assert changed != source
    await admin.send_file("document", changed.encode(), "defect_return.yaml", caption="/load")
    await admin.expect("версия 2")

    told = await admin.press("Менеджер магазина", picker)
    assert told is not None and "Список ролей изменился" in told, told
    picker = await admin.wait_for("Роли: —", "Создать ссылку")
    chosen = [b for b in admin.buttons(picker) if b.startswith("✅")]
    assert "Auditor" in admin.buttons(picker) and chosen == ["✅ 1 человек"], admin.buttons(picker)
    await admin.press("Менеджер магазина", picker)
    picker = await admin.wait_for("Роли: Менеджер магазина")
    await admin.press("Создать ссылку", picker)
    await admin.wait_for("start=", "роли: Менеджер магазина,")
    async with harness.core.sessionmaker() as session:
        assert [i.roles for i in (await session.execute(select(Invite))).scalars()] == [["shop_manager"]]


async def test_an_organisation_written_with_its_own_quotes_is_named_as_written(harness: Harness) -> None:
    """A dealer registered as ООО "Сад" is named as it is written in what the admin is told, not put in a second pair
    of quotes («ООО "Сад"»)."""
    admin = harness.admin
    garden = await organisation(harness, 'ООО "Сад" region=Москва')
    await dealer_person(harness, "Лев", 'ООО "Сад"', "Менеджер дилера")
    await admin.send(f"/org {garden}")
    old_card = await admin.card('ООО "Сад"', button="Приглашение: Менеджер дилера")
    await admin.send(f"/org {garden}")
    await admin.press("Отключить", await admin.expect('ООО "Сад"', "ИНН/КПП"))
    await admin.expect('ООО "Сад"', "Отключена")

    await admin.press("Приглашение: Сервисник дилера", old_card)
    refused = await admin.expect("отключена: новых людей она не принимает", f"/org {garden}")
    assert refused["text"].startswith('Организация ООО "Сад" отключена'), refused["text"]
    async with harness.core.sessionmaker() as session:
        lev = (await session.execute(select(User).where(User.name == "Лев"))).scalar_one()
    await admin.send(f"/restore {lev.id}")
    refused = await admin.expect("а она отключена: сначала включите её")
    assert 'сотрудник организации ООО "Сад", а она отключена' in refused["text"], refused["text"]
