"""A text field with `contact: phone | email` must reach someone: checked wherever it is answered and kept in one
form — the seed 5 manager typing a client's number in chat gets the same refusal a site's visitor does."""

from __future__ import annotations

import pytest

from flows.values import InvalidAnswer, parse_contact
from tests.conftest import Harness


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("8 916 123-45-67", "+7 916 123-45-67"),
        ("+7 (916) 1234567", "+7 916 123-45-67"),
        ("9161234567", "+7 916 123-45-67"),
        ("+49 30 901820", "+49 30 901820"),
        # An extension as a Russian office writes and says it, however it was typed.
        ("8 (843) 212-34-56 доб. 12", "+7 843 212-34-56 доб. 12"),
        ("+7 843 2123456 ext. 12", "+7 843 212-34-56 доб. 12"),
    ],
)
def test_a_phone_number_as_people_write_it_is_kept_in_one_form(typed: str, kept: str) -> None:
    assert parse_contact("phone", typed) == kept


def test_an_extension_elsewhere_is_kept_as_the_number_library_writes_it() -> None:
    assert parse_contact("phone", "+44 20 7946 0958 ext. 7", "GB") == "+44 20 7946 0958 x7"


@pytest.mark.parametrize("typed", ["abc", "+7 900 12", "12345", "8 916 123-45-67-89-00"])
def test_what_nobody_can_call_is_refused_with_how_to_write_it(typed: str) -> None:
    with pytest.raises(InvalidAnswer) as refused:
        parse_contact("phone", typed)
    assert "+7 900 123-45-67" in refused.value.message


def test_an_address_keeps_its_name_and_loses_the_case_of_its_domain() -> None:
    assert parse_contact("email", " Anna.Petrova@Clinic.Example ") == "Anna.Petrova@clinic.example"
    for typed in ("bad", "anna@", "@clinic.example", "anna petrova@clinic.example"):
        with pytest.raises(InvalidAnswer):
            parse_contact("email", typed)


async def test_a_manager_typing_a_clients_number_in_chat_is_asked_again_until_it_is_one(harness: Harness) -> None:
    manager = await harness.person("Менеджер Ольга", "sales_manager")
    await manager.send("▶️ Начать процесс")
    await manager.press("Сделка на медоборудование", await manager.expect("Какой процесс начать?"))
    await manager.expect("Клиент (организация)")
    await manager.send("Клиника «Здоровье»")
    await manager.expect("Контактное лицо")
    await manager.send("Анна Петрова")
    question = await manager.expect("Телефон")
    assert "+7 900 123-45-67" in question["text"]  # how to write it, before anything is typed
    await manager.send("у секретаря")
    await manager.expect("Это не номер телефона")
    await manager.send("8 (916) 123 45 67")
    await manager.expect("Эл. почта")
    await manager.send("anna@")
    await manager.expect("Это не адрес электронной почты")
    await manager.send("Anna@Clinic.Example")
    await manager.press("Пропустить", await manager.expect("Запрос клиента"))
    summary = await manager.expect("Проверьте")
    assert "Телефон: +7 916 123-45-67" in summary["text"] and "Эл. почта: Anna@clinic.example" in summary["text"]
