"""Seed 4: two dealers work in the same bot and neither ever sees the other's cases — by any path: task cards
and «My tasks», «My cases», `/case N`, case buttons with a guessed number (files, diagram), a guessed task id,
exports and notifications. Someone who joins by a general dealer link sees nothing until an admin approves
them and binds them to a dealer and a role."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from sqlalchemy import select

from admin.panel import AdminPanel
from db.models import Case, Company, StoredFile, Task, User
from services import people
from tests.chat import Person, create_person
from tests.conftest import Harness, library_with

REFUSED = "нет доступа к этому делу"


async def organisation(harness: Harness, words: str) -> int:
    """The admin adds a dealer in chat; its card comes back with its number."""
    await harness.admin.send(f"/org_new dealer {words}")
    card = await harness.admin.expect("ИНН/КПП", words.split(" region=")[0])
    number = re.match(r"№(\d+)", card["text"])
    assert number is not None
    return int(number.group(1))


async def dealer_person(harness: Harness, name: str, org_name: str, role_label: str, language: str = "ru") -> Person:
    """The admin opens the dealer's card from /orgs and presses the invite button of a role; the person joins
    (their Telegram in `language`)."""
    await harness.admin.send("/orgs")
    await harness.admin.press(org_name, await harness.admin.card("Организации", button=org_name))
    card = await harness.admin.card(org_name, "ИНН/КПП", button=role_label)
    await harness.admin.press(f"Приглашение: {role_label}", card)
    link = await harness.admin.expect("start=", org_name, role_label)
    code = re.search(r"start=(\S+)", link["text"])
    assert code is not None
    harness._next_id += 1
    person = await create_person(harness.http, harness.base, harness._next_id, name, language, label=role_label)
    await person.send(f"/start {code.group(1)}")
    await person.expect(name)
    return person


async def raise_request(manager: Person, subject: str) -> int:
    await manager.send("▶️ Начать процесс")
    await manager.press("Обращение дилера", await manager.expect("Какой процесс"))
    await manager.expect("Тема")
    await manager.send(subject)
    await manager.expect("Фото")
    await manager.photo(filename=f"{subject}.png")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    done = await manager.expect("№")
    number = re.search(r"№(\d+)", done["text"])
    assert number is not None
    return int(number.group(1))


async def texts(person: Person) -> str:
    return "\n".join((m.get("text") or m.get("caption") or "") for m in await person.bot_messages())


async def test_two_dealers_see_only_their_own_cases_by_every_path(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(library_dir=library_with(tmp_path, "dealer_request.yaml"))
    garden = await organisation(harness, "ООО Сад region=Москва inn=7701234560 kpp=770101001 price=Опт")
    tools = await organisation(harness, "ООО Инструмент region=Казань inn=1655000003")
    await harness.admin.send(f"/org_set {tools} kpp=165501001 contacts=+7_843_000-00-02")
    changed = await harness.admin.expect("ООО Инструмент", "165501001")
    assert "+7 843 000-00-02" in changed["text"]
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    alla = await dealer_person(harness, "Алла", "ООО Сад", "Менеджер дилера")
    boris = await dealer_person(harness, "Борис", "ООО Инструмент", "Менеджер дилера")
    rita = await harness.person("Рита", "representative")
    regina = await harness.person("Регина", "regional_rep")
    async with harness.core.sessionmaker() as session:
        regina_id = (await session.execute(select(User.id).where(User.name == "Регина"))).scalar_one()
    await harness.admin.send(f"/region {regina_id} Москва")
    await harness.admin.expect("Регина", "Москва")
    # Nobody is named on Garden's card, yet its requests go to Moscow's representative: the card says so.
    await harness.admin.send(f"/org {garden}")
    await harness.admin.expect("ООО Сад", "Региональный представитель: — (по региону: Регина)")

    mowers = await raise_request(anna, "Газонокосилки Сада")
    saws = await raise_request(boris, "Пилы Инструмента")
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        owners = dict((await session.execute(select(Case.id, Case.company_id))).all())
        photos = dict((await session.execute(select(StoredFile.case_id, StoredFile.id))).all())
    assert owners == {mowers: garden, saws: tools}, "a case belongs to its initiator's organisation"

    # The regional representative for Moscow is told of Garden's request (a Moscow dealer) and sees it;
    # Kazan's is not hers.
    await regina.expect("Новое обращение дилера", "Газонокосилки Сада")
    await regina.send(f"/case {mowers}")
    await regina.expect("Газонокосилки Сада", "Рассмотрение")
    await regina.send(f"/case {saws}")
    await regina.expect(REFUSED)

    # The representative office sees both; she confirms both reviews.
    for subject in ("Газонокосилки Сада", "Пилы Инструмента"):
        await rita.press("Готово", await rita.card("Рассмотрите обращение", subject, button="Готово"))
    await harness.settle()

    # The confirmation is a pool task of `dealer_manager`: Garden's two managers get Garden's, Boris his own.
    await anna.card("Подтвердите решение по обращению", "Газонокосилки Сада")
    await alla.card("Подтвердите решение по обращению", "Газонокосилки Сада")
    await boris.card("Подтвердите решение по обращению", "Пилы Инструмента")
    async with harness.core.sessionmaker() as session:
        confirm = {
            case_id: task_id
            for task_id, case_id in (
                await session.execute(select(Task.id, Task.case_id).where(Task.key == "dealer_confirm"))
            ).all()
        }

    # Guessing: Boris asks for Garden's case by number, presses its buttons, and claims its task by id.
    await boris.send(f"/case {mowers}")
    await boris.expect(REFUSED)
    last = (await boris.bot_messages())[-1]["message_id"]
    for action in ("show", "files", "diagram"):
        refusal = await boris.press_data(last, f"c:{action}:{mowers}:", unchecked=True)
        assert refusal is not None and REFUSED in refusal
    refusal = await boris.press_data(last, f"t:claim:{confirm[mowers]}:", unchecked=True)
    assert refusal is not None and REFUSED in refusal
    await anna.send(f"/case {saws}")
    await anna.expect(REFUSED)
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        task = await session.get(Task, confirm[mowers])
        assert task is not None and task.assignee_id is None, "another dealer's claim must change nothing"

    # «My tasks» and «My cases» list only their own.
    await boris.send("📋 Мои задачи")
    await boris.send("📁 Мои дела")
    await harness.settle()
    # Exports are the admins' (a dealer's /export is not a command for him).
    await boris.send("/export dealer_request")
    await harness.settle()

    # Alla, Anna's colleague, sees Garden's case; Boris sees his own.
    await alla.send(f"/case {mowers}")
    await alla.expect("Газонокосилки Сада", "Подтверждение дилером")
    await boris.send(f"/case {saws}")
    await boris.expect("Пилы Инструмента", "Подтверждение дилером")
    await harness.settle()

    # Zero leaks: nothing any of Boris's messages said or carried is Garden's, and the other way round.
    boris_saw, garden_saw = await texts(boris), await texts(anna) + await texts(alla)
    assert "Газонокосилки" not in boris_saw and f"№{mowers}" not in boris_saw
    assert "Инструмента" not in garden_saw and f"№{saws}" not in garden_saw
    assert not any(d.get("file_name", "").startswith("Газонокосилки") for d in await boris.documents())
    assert not [m for m in await boris.bot_messages() if m.get("photo")], "Garden's photo reached Boris"
    assert photos[mowers] != photos[saws]
    assert "Пилы" not in await texts(regina), "a Kazan dealer's case reached Moscow's regional representative"


async def test_a_dealers_role_with_no_organisation_sees_no_dealers_case_and_is_not_granted_again(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """A dealer's manager whose role came with no organisation (granted before grants were checked) is no dealer's
    staff: he is told of no dealer's request, gets none of their tasks and opens none of their cases. The admin cannot
    make another such person in chat or in the panel: a dealer's role comes with its organisation's invite."""
    harness = await harness_factory(library_dir=library_with(tmp_path, "dealer_request.yaml"))
    await organisation(harness, "ООО Сад region=Москва")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    rita = await harness.person("Рита", "representative")
    async with harness.core.sessionmaker() as session, session.begin():
        drifter = await people.register(
            session, tg_id=5101, name="Денис", username="denis", language="ru", now=harness.core.clock.now()
        )
        await people.grant(session, drifter.id, ["dealer_manager"])
    denis = await create_person(harness.http, harness.base, 5101, "Денис")
    await denis.send("/start")
    await denis.expect("Денис")

    mowers = await raise_request(anna, "Газонокосилки Сада")
    await rita.press("Готово", await rita.card("Рассмотрите обращение", "Газонокосилки Сада", button="Готово"))
    await anna.card("Подтвердите решение по обращению", "Газонокосилки Сада")  # the pool task of the dealer's role
    await denis.send(f"/case {mowers}")
    await denis.expect(REFUSED)
    await denis.send("📋 Мои задачи")
    await denis.send("📁 Мои дела")
    await harness.settle()
    assert "Газонокосилки" not in await texts(denis) and f"№{mowers}" not in await texts(denis)

    await harness.person("Дарья", "representative")
    async with harness.core.sessionmaker() as session:
        number = (await session.execute(select(User.id).where(User.name == "Дарья"))).scalar_one()
    await harness.admin.send(f"/grant {number} dealer_manager")
    refusal = await harness.admin.expect("Менеджер дилера", "организации")
    assert "dealer_manager" not in refusal["text"] and "/orgs" in refusal["text"], refusal["text"]
    async with harness.core.sessionmaker() as session:
        assert await people.roles_of(session, number) == {"representative"}


async def test_a_general_dealer_link_holds_the_newcomer_until_an_admin_approves(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(library_dir=library_with(tmp_path, "dealer_request.yaml"))
    await organisation(harness, "ООО Сад region=Москва")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    mowers = await raise_request(anna, "Газонокосилки Сада")

    await harness.admin.send("/dealer_link x20")
    link = await harness.admin.expect("start=")
    code = re.search(r"start=(\S+)", link["text"])
    assert code is not None
    denis = await create_person(harness.http, harness.base, 5001, "Денис", label="newcomer")
    await denis.send(f"/start {code.group(1)}")
    await denis.expect("администратор проверит")

    # Unapproved, Denis sees nothing: not the case, not its task, not the menu's lists.
    await denis.send(f"/case {mowers}")
    await denis.send("📁 Мои дела")
    await harness.settle()
    assert "Газонокосилки" not in await texts(denis)
    async with harness.core.sessionmaker() as session:
        held = (await session.execute(select(User).where(User.name == "Денис"))).scalar_one()
        assert held.awaiting_approval and not held.active and held.organisation_id is None

    # The admin's card: «Approve» for a dealer, then the role.
    card = await harness.admin.card("Денис", "Одобрить", button="Отклонить")
    await harness.admin.press("Одобрить: ООО Сад", card)
    await harness.admin.press("Менеджер дилера", await harness.admin.card("Денис", "роль", button="Менеджер дилера"))
    await denis.expect("ООО Сад", "Менеджер дилера")
    await denis.send(f"/case {mowers}")
    await denis.expect("Газонокосилки Сада")
    async with harness.core.sessionmaker() as session:
        garden = (await session.execute(select(Company.id).where(Company.name == "ООО Сад"))).scalar_one()
        approved = await session.get(User, held.id, populate_existing=True)
        assert approved is not None and approved.active and approved.organisation_id == garden

    # The panel lists the organisation with its details and people (the panel is the admins' alone).
    runner = await AdminPanel(harness.core, "organisations-panel-token").serve("127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/organisations") as response:
                assert response.status == 401, "no token, no organisations"
            async with http.get(f"{base}/organisations?token=organisations-panel-token") as response:
                page = await response.text()
            async with http.get(f"{base}/people") as response:
                people_page = await response.text()
        row = page[page.index("ООО Сад") :].split("</tr>")[0]
        assert "Дилер" in row and "Москва" in row and "Анна" in row and "Денис" in row
        # The people's list says who is bound to which dealer.
        row = people_page[people_page.index(f'data-person="{held.id}"') :].split("</tr>")[0]
        assert 'class="organisation">ООО Сад' in row
    finally:
        await runner.cleanup()
