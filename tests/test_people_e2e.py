"""Joining: the admin invites with a role, strangers and used links are refused, each in their language."""

from __future__ import annotations

import re

from tests.chat import create_person
from tests.conftest import Harness


async def test_stranger_and_bad_links_are_refused_politely(harness: Harness) -> None:
    stranger = await create_person(harness.http, harness.base, 777, "Незнакомец")
    await stranger.send("/start")
    await stranger.expect("по приглашению")
    await stranger.send("покажи задачи")
    await stranger.expect("администратор")
    await stranger.send("/start not-a-real-code")
    await stranger.expect("недействительна")


async def test_an_invite_is_used_once_and_gives_its_role(harness: Harness) -> None:
    await harness.admin.send("/invite shop_manager")
    link = await harness.admin.expect("start=")
    code = re.search(r"start=(\S+)", link["text"])
    assert code is not None
    first = await create_person(harness.http, harness.base, 801, "Марина")
    await first.send(f"/start {code.group(1)}")
    welcome = await first.expect("Марина")
    # The role by its title, never by its key.
    assert "Ваши роли: Менеджер магазина." in welcome["text"] and "shop_manager" not in welcome["text"]
    assert welcome.get("reply_keyboard"), "the menu comes with the welcome"
    second = await create_person(harness.http, harness.base, 802, "Ещё кто-то")
    await second.send(f"/start {code.group(1)}")
    await second.expect("уже использована")


async def test_unknown_role_in_an_invite_is_explained(harness: Harness) -> None:
    await harness.admin.send("/invite shop_managr")
    answer = await harness.admin.expect("shop_managr")
    # The roles there are, by their names, help to fix the typo.
    assert "Менеджер магазина" in answer["text"] and "shop_manager" not in answer["text"]


async def test_english_speaker_gets_english(harness: Harness) -> None:
    john = await harness.person("John", "shop_manager", language="en")
    await john.send("▶️ Start a process")
    await john.press("Return of defective", await john.expect("Which process"))
    question = await john.expect("Supplier")
    assert "Cancel" in " ".join(john.buttons(question))


async def test_an_admin_invited_without_a_role_is_greeted_as_an_admin(harness: Harness) -> None:
    """`/invite admin`: the newcomer has no role, and is told they are an administrator, not «Ваши роли: —»."""
    await harness.admin.send("/invite admin")
    code = re.search(r"start=(\S+)", (await harness.admin.expect("start="))["text"])
    assert code is not None
    newcomer = await create_person(harness.http, harness.base, 803, "Ольга")
    await newcomer.send(f"/start {code.group(1)}")
    welcome = (await newcomer.expect("Ольга"))["text"]
    assert "Ваши роли: администратор" in welcome and "—" not in welcome
    await newcomer.send("/start")  # back again: the same
    assert "Ваши роли: администратор" in (await newcomer.expect("С возвращением"))["text"]
