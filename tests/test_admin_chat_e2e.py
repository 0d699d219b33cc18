"""What an admin and the staff met in chat (the konveyer demo): /cancel closes whatever question is open and says
which; commands take the words people read (an organisation's kind in Russian), say their format when given nothing,
and /tasks is «Мои задачи»."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Case, Definition
from tests.conftest import Harness
from tests.test_defect_return_e2e import register_defect


async def test_cancel_closes_the_admins_question_of_why_a_case_is_cancelled_and_says_so(harness: Harness) -> None:
    admin = harness.admin
    marina = await harness.person("Марина", "shop_manager")
    await register_defect(marina)
    async with harness.core.sessionmaker() as session:
        number = (await session.execute(select(Case.id))).scalar_one()
    await admin.send(f"/find {number}")
    card = await admin.card(f"🛠 №{number}", button="Отменить дело")
    await admin.press("Отменить дело", card)
    await admin.expect("Почему отменяется")
    # /cancel used to answer «Отменять нечего: ни форма, ни вопрос сейчас не открыты» with this question open.
    await admin.send("/cancel")
    said = await admin.expect("Вопрос закрыт")
    assert f"дело №{number} не отменяется" in said["text"] and "нечего" not in said["text"], said["text"]
    async with harness.core.sessionmaker() as session:
        case = await session.get(Case, number)
        assert case is not None and case.status != "cancelled"
    # Closed: the next text is no reason, and a second /cancel has nothing left to cancel.
    await admin.send("/cancel")
    await admin.expect("Отменять нечего")


async def test_commands_take_the_words_people_read_and_say_their_format(harness: Harness) -> None:
    admin = harness.admin
    # The kinds as the bot shows them (дилер, поставщик, клиент), in any case.
    await admin.send("/org_new дилер ООО Ромашка")
    card = await admin.expect("ООО Ромашка")
    assert "Дилер" in card["text"] and "Формат" not in card["text"], card["text"]
    await admin.send("/org_new Поставщик ООО Лютик")
    assert "Поставщик" in (await admin.expect("ООО Лютик"))["text"]
    await admin.send("/org_new склад ООО Ошибка")
    await admin.expect("Формат: /org_new дилер|поставщик|клиент")

    # /restore with no one named: the format, not «Такого человека нет» first.
    await admin.send("/restore")
    told = await admin.expect("/restore")
    assert told["text"].startswith("Формат") and "нет" not in told["text"], told["text"]

    # /tasks is «Мои задачи», as /help says.
    ivan = await harness.person("Кладовщик Иван", "warehouse_head")
    await ivan.send("/tasks")
    tasks = await ivan.expect()
    assert "Не удалось понять" not in tasks["text"], tasks["text"]
    await ivan.send("/help")
    await ivan.expect("«Мои задачи» (/tasks)")


async def test_processes_by_title_diagrams_by_their_words_no_empty_export_and_no_load_of_the_same_text(
    harness: Harness,
) -> None:
    admin = harness.admin
    # /processes: titles, versions and what to do with each — never a process's key.
    await admin.send("/processes")
    listed = await admin.expect("Процессы", "/diagram Возврат бракованных часов поставщику")
    assert "версия 1" in listed["text"] and "/export Сделка" in listed["text"], listed["text"]
    for key in harness.core.registry.library:
        assert key not in listed["text"], key

    # /diagram with a title's first words draws that process; words several titles hold offer those alone.
    await admin.send("/diagram Возврат бракованных")
    drawn = await admin.expect("Возврат бракованных часов поставщику")
    assert drawn["photos"], "the picture, not the buttons"
    await admin.send("/diagram на отгрузку")
    several = await admin.expect("Какой из них нарисовать?")
    assert admin.buttons(several) == ["Заявка дилера на отгрузку", "Заявка на отгрузку"], admin.buttons(several)

    # /export of a process with no cases says so instead of sending an empty workbook.
    await admin.send("/export Сделка")
    await admin.expect("У процесса «Сделка» пока нет дел: выгружать нечего.")
    assert await admin.documents() == []

    # The current version's own text sent again is not «загружен, версия 2» as if new.
    source = (harness.core.registry.library["defect_return"].source).encode()
    await admin.send_file("document", source, "defect_return.yaml", caption="/load")
    same = await admin.expect("совпадает с текущей версией 1: ничего не загружено")
    assert "загружен," not in same["text"]
    async with harness.core.sessionmaker() as session:
        versions = (await session.execute(select(Definition.version).where(Definition.process == "defect_return")))
        assert list(versions.scalars()) == [1]


async def test_the_director_sees_every_dealers_figures(harness: Harness) -> None:
    """Figures were the representatives' and the dealers' managers': the director read «Показатели доступны
    представителям и менеджерам дилеров». He sees the whole company's, every dealer's, as the office does."""
    director = await harness.person("Директор Пётр", "director")
    await director.send("/figures")
    told = await director.expect("Отгрузки и продажи")
    assert "доступны представителям" not in told["text"]
    await director.send("/help")
    await director.expect("/figures")
