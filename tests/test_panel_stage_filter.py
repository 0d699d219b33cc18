"""The cases list's stage filter tells processes apart: a letter and a memo both have a stage keyed `writing`, and
an admin who asks for the letters being written gets those, not the memos. Each stage is offered by its title, and
where two processes share a stage's key or title, with the process's title too. Over real HTTP."""

from __future__ import annotations

import re

from sqlalchemy import select

from db.models import Case
from tests.chat import Person
from tests.test_panel_actions import GOOD, Office, load_letter, start_letter, the_case
from tests.test_panel_actions import office as office  # the fixture: the bot with its panel, an admin logged in

# The office's memo: written by a clerk like a letter, its first stage keyed `writing` as the letter's is.
MEMO = (
    GOOD.replace("process: office_letter", "process: office_memo")
    .replace("{ru: Письмо на бланке, en: Letter on the letterhead}", "{ru: Служебная записка, en: Memo}")
    .replace('"Письмо: {{ subject }}"', '"Записка: {{ subject }}"')
    .replace("{ru: Подготовка письма, en: Writing}", "{ru: Подготовка записки, en: Writing}")
)


async def start_memo(clerk: Person, subject: str) -> None:
    await clerk.send("▶️ Начать процесс")
    await clerk.press("Служебная записка", await clerk.expect("Какой процесс"))
    await clerk.expect("Тема письма")
    await clerk.send(subject)
    await clerk.press("Подтвердить", await clerk.expect("Проверьте"))


def options(page: str) -> dict[str, str]:
    stage_select = page[page.index('<select name="stage"') :].split("</select>")[0]
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', stage_select))


async def test_the_letters_being_written_are_not_the_memos_being_written(office: Office) -> None:
    await load_letter(office)
    assert (await office.post("processes/upload", text=MEMO, action="load")).status == 303
    clerk = await office.harness.person("Анна", "clerk")
    await start_letter(clerk, "Аренда склада")
    await start_memo(clerk, "Отпуск в июле")
    await office.harness.settle()
    letter = await the_case(office, "Аренда склада")
    async with office.harness.core.sessionmaker() as session:
        memo = (await session.execute(select(Case).where(Case.process == "office_memo"))).scalar_one()
    assert letter.stage == memo.stage == "writing"

    offered = options(await office.page(""))
    # The same key in two processes: two choices, each saying whose stage it is.
    assert offered["office_letter:writing"] == "Подготовка письма (Письмо на бланке)"
    assert offered["office_memo:writing"] == "Подготовка записки (Служебная записка)"
    assert "writing" not in offered  # no merged choice by the bare key

    page = await office.page("", stage="office_letter:writing")
    assert f'data-case="{letter.id}"' in page and f'data-case="{memo.id}"' not in page
    assert 'value="office_letter:writing" selected' in page  # the choice stays shown
    page = await office.page("", stage="office_memo:writing")
    assert f'data-case="{memo.id}"' in page and f'data-case="{letter.id}"' not in page

    # Within one process the stages need no process's title, and an old link's bare key means that process's stage.
    offered = options(await office.page("", process="office_memo"))
    assert offered["office_memo:writing"] == "Подготовка записки" and "office_letter:writing" not in offered
    page = await office.page("", process="office_letter", stage="writing")
    assert f'data-case="{letter.id}"' in page and f'data-case="{memo.id}"' not in page
