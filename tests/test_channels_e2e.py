"""Notification channels, end to end: the admin switches channels per kind of notification in the panel, an
accountant's new invoice comes by Telegram and SMS (through a local server speaking SMS.ru's API), and stops
coming by SMS when its SMS is switched off while Telegram goes on; people who blocked the bot get it by the
fallback channels — an SMS for the one with a phone, an e-mail for the one without — and what could not reach
someone is listed in the panel, never dropped in silence."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from admin.panel import AdminPanel
from db.models import User
from tests.chat import Person
from tests.conftest import Harness, library_with
from tests.smsru import SmsRuServer

API_ID = "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"
TOKEN = "panel-token-for-channel-tests"


class Mailbox:
    def __init__(self) -> None:
        self.received: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it so
        self.received.append(envelope)
        return "250 OK"


@dataclass
class Office:
    harness: Harness
    gateway: SmsRuServer
    mailbox: Mailbox
    panel: str
    http: aiohttp.ClientSession
    csrf: str = ""

    async def post(self, path: str, form: dict[str, str]) -> str:
        async with self.http.post(f"{self.panel}/{path}", data={"csrf": self.csrf, **form}) as response:
            assert response.status == 200, await response.text()
            return await response.text()

    async def refused(self, path: str, form: dict[str, str]) -> str:
        async with self.http.post(f"{self.panel}/{path}", data={"csrf": self.csrf, **form}) as response:
            assert response.status == 400
            return await response.text()

    async def page(self) -> str:
        async with self.http.get(f"{self.panel}/notifications") as response:
            assert response.status == 200
            return await response.text()

    async def person_id(self, name: str) -> int:
        async with self.harness.core.sessionmaker() as session:
            return (await session.execute(select(User.id).where(User.name == name))).scalar_one()


@pytest.fixture
async def office(harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path) -> AsyncIterator[Office]:
    gateway = SmsRuServer(API_ID)
    await gateway.start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    harness = await harness_factory(
        library_dir=library_with(tmp_path, "invoice_payment.yaml"),
        sms_provider="smsru",
        smsru_api_id=API_ID,
        smsru_url=gateway.url,
        sms_sender="Konveyer",
        sms_retry_base=0.05,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_from="office@konveyer.example",
        smtp_starttls=False,
    )
    await harness.person("Ольга", "manager")
    await harness.person("Анна", "accountant")
    await harness.person("Борис", "accountant")
    runner = await AdminPanel(harness.core, TOKEN).serve("127.0.0.1", 0)
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            office = Office(harness, gateway, mailbox, f"http://127.0.0.1:{port}/admin", http)
            async with http.get(f"{office.panel}/?token={TOKEN}") as response:
                csrf = re.search(r'name="csrf" value="([^"]+)"', await response.text())
            assert csrf is not None
            office.csrf = csrf.group(1)
            yield office
    finally:
        await runner.cleanup()
        controller.stop()
        await gateway.stop()


async def raise_invoice(manager: Person, supplier: str) -> int:
    await manager.send("▶️ Начать процесс")
    await manager.press("Оплата счёта", await manager.expect("Какой процесс"))
    await manager.expect("Поставщик")
    await manager.send(supplier)
    await manager.expect("Сумма")
    await manager.send("48 000")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    done = await manager.expect("№")
    number = re.search(r"№(\d+)", done["text"])
    assert number is not None
    return int(number.group(1))


def switches(kind: str, *on: str, fallback: tuple[str, ...] = ()) -> dict[str, str]:
    form = {f"{kind}.{channel}": "on" for channel in on}
    form.update({f"{kind}.fallback{i}": channel for i, channel in enumerate(fallback, start=1)})
    return form


async def test_switching_a_kinds_sms_off_stops_its_sms_while_telegram_goes_on(office: Office) -> None:
    harness, gateway = office.harness, office.gateway
    manager, anna = harness.people["Ольга"], harness.people["Анна"]
    await office.post(f"notifications/people/{await office.person_id('Анна')}", {"phone": "8 (916) 123-45-67"})
    await office.post("notifications/channels", switches("task_assigned", "telegram", "sms"))
    # The SMS's template, checked when saved: a mistake is refused with what is wrong, and nothing changes.
    template = "notifications/templates/task_assigned/sms"
    refused = await office.refused(template, {"source": "{{ task }}: {{ amount }}"})
    # In the panel's language, with what the kind has.
    assert "неизвестные переменные: amount" in refused and "case_number" in refused
    assert "строка 1" in await office.refused(template, {"source": "{{ task }"})
    await office.post(template, {"source": "{{ organisation or 'Офис' }}: «{{ task }}», дело №{{ case_number }}"})

    number = await raise_invoice(manager, "ООО Ромашка")
    await anna.card("Оплатите счёт", "Ромашка", button="Взять")
    await harness.settle()
    assert [(s.to, s.text, s.sender) for s in gateway.sent] == [
        ("79161234567", f"Офис: «Оплатите счёт», дело №{number}", "Konveyer")
    ]
    # Boris has no phone: not skipped in silence, the panel says so.
    failures = (await office.page()).split('id="failures"')[1]
    assert "Борис" in failures and "no phone number" in failures

    await office.post("notifications/channels", switches("task_assigned", "telegram"))
    await raise_invoice(manager, "ООО Лютик")
    await anna.card("Оплатите счёт", "Лютик", button="Взять")
    await harness.settle()
    assert len(gateway.sent) == 1  # no SMS for the second invoice, the Telegram card came


async def test_people_who_blocked_the_bot_get_the_fallback_sms_or_e_mail(office: Office) -> None:
    harness, gateway = office.harness, office.gateway
    anna_id, boris_id = await office.person_id("Анна"), await office.person_id("Борис")
    await office.post(f"notifications/people/{anna_id}", {"phone": "+7 916 123 45 67"})
    await office.post(f"notifications/people/{boris_id}", {"email": "boris@office.example"})
    await office.post("notifications/channels", switches("task_assigned", "telegram", fallback=("sms", "email")))
    await harness.blocks_the_bot(harness.people["Анна"], "Анна")
    await harness.blocks_the_bot(harness.people["Борис"], "Борис")

    number = await raise_invoice(harness.people["Ольга"], "ООО Ромашка")
    await harness.settle()
    assert [s.to for s in gateway.sent] == ["79161234567"]  # Anna: by SMS
    assert f"№{number}" in gateway.sent[0].text
    (mail,) = office.mailbox.received  # Boris has no phone: by e-mail
    assert mail.rcpt_tos == ["boris@office.example"]
    message = message_from_bytes(mail.content, policy=policy.default)
    assert message["Subject"] == f"Новая задача: Оплатите счёт (дело №{number})"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Борис" in text and "Ромашка" in text and "<p>" in html and "Ромашка" in html

    failures = (await office.page()).split('id="failures"')[1]
    assert failures.count("the person blocked the bot") == 2
    assert "no phone number" in failures  # Boris's SMS, tried before his e-mail


async def test_an_english_reader_gets_her_sms_and_e_mail_in_english(office: Office) -> None:
    harness, gateway = office.harness, office.gateway
    emma = await harness.person("Emma", "accountant", language="en")
    await harness.person("Brian", "accountant", language="en")
    await office.post(f"notifications/people/{await office.person_id('Emma')}", {"phone": "+7 916 555 44 33"})
    await office.post(f"notifications/people/{await office.person_id('Brian')}", {"email": "brian@office.example"})
    await office.post("notifications/channels", switches("task_assigned", "telegram", "sms", fallback=("email",)))
    await harness.blocks_the_bot(harness.people["Brian"], "Brian")

    number = await raise_invoice(harness.people["Ольга"], "ООО Ромашка")
    await emma.card("Pay the invoice", "Ромашка", button="Take")
    await harness.settle()
    # Her SMS and his e-mail are worded in English around the task's English title; the Russian accountants, who
    # have no phone, get none of it.
    assert [(s.to, s.text) for s in gateway.sent] == [
        ("79165554433", f"Task “Pay the invoice” on case #{number}, due Dec 22, 2026 18:00")
    ]
    (mail,) = office.mailbox.received
    message = message_from_bytes(mail.content, policy=policy.default)
    assert message["Subject"] == f"New task: Pay the invoice (case #{number})"
    assert "Pay the invoice" in message.get_body(preferencelist=("plain",)).get_content()
