"""What a person who reads English sees: dates and times in the English way, numbers marked «#», not «№», and the
case's steps told once, in words that read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from db.models import Case
from tests.chat import Person
from tests.conftest import Harness, library_with
from tests.test_defect_return_e2e import register_defect


async def register_two_watches(manager: Person) -> None:
    """An English-reading shop manager files a return of two watches, in English from the first question on."""
    await manager.send("▶️ Start a process")
    await manager.press("Return of defective watches", await manager.expect("Which process"))
    await manager.press("Альфа", await manager.expect("Supplier"))
    await manager.expect("Quantity")
    await manager.send("2")
    question = await manager.expect("Purchase sum")
    assert "125,000 or 1,250.50" in question["text"], question["text"]  # the amount as an English reader writes it
    await manager.send("250,000")
    await manager.expect("Brand")
    await manager.send("Longines")
    await manager.expect("Incoming document number")
    await manager.send("IN-42")
    await manager.expect("Employee's full name")
    await manager.send("Maria Ivanova")
    question = await manager.expect("Date the goods arrived")
    assert "«" not in question["text"] and "“today”" in question["text"], question["text"]
    await manager.send("18.12.2026")
    for number in (1, 2):
        await manager.expect(f"Watch #{number}: Model")
        await manager.send(f"L2.793.{number}")
        await manager.expect(f"Watch #{number}: Serial")
        await manager.send(f"SN-{number}")
        await manager.expect(f"Watch #{number}: Defect description")
        await manager.send("Runs slow")
        await manager.expect(f"Watch #{number}: Photos of the defect")
        await manager.photo()
        await manager.photo()
        received = await manager.expect("Received: 2")
        assert "“Done”" in received["text"] and "«" not in received["text"], received["text"]
        await manager.press("Done", received)
    summary = await manager.expect("Please check")
    assert "Watch #2:" in summary["text"] and "№" not in summary["text"], summary["text"]
    assert "2 photos" in summary["text"] and "photo(s)" not in summary["text"], summary["text"]
    await manager.press("Confirm", summary)
    await manager.expect("is registered")


async def test_an_english_reader_reads_deadlines_and_the_digest_in_the_english_way(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Ольга", "shop_admin")
    service = await harness.person("Sergey", "service_manager", language="en")
    russian = await harness.person("Сергей", "service_manager")
    await register_defect(manager, arrival="18.12.2026")

    # The service manager's card: due a working day later (Tuesday 22 December, 18:00), in his way of writing it.
    card = await service.card("Move the goods to the service warehouse in 1C")
    assert "Due: Dec 22, 2026 18:00" in card["text"], card["text"]
    assert "22.12.2026" not in card["text"], card["text"]
    # His Russian-reading colleague of the same role reads the same deadline the Russian way.
    same = await russian.card("Переместите товар на склад сервиса в 1С")
    assert "Срок: 22.12.2026 18:00" in same["text"], same["text"]

    # The digest he asks for is dated his way too.
    await service.send("/digest")
    await service.press("Send now", await service.expect("digest"))
    digest = await service.expect("📊 Digest, Dec 21, 2026 10:00")
    assert "21.12.2026" not in digest["text"], digest["text"]


REPAIR = """
process: repair_job
title: {ru: Ремонт, en: Repair job}
roles: [clerk, engineer]
start:
  roles: [clerk]
  form: [device]
  title: {ru: "Ремонт: {{ device }}", en: "Repair: {{ device }}"}
fields:
  device: {type: text, label: {ru: Устройство, en: Device}}
  diagnosis: {type: text, label: {ru: Диагноз, en: Diagnosis}}
  invoice: {type: text, label: {ru: Номер счёта, en: Invoice number}}
stages:
  - key: diagnosis
    title: {ru: Диагностика, en: Diagnosis}
    tasks:
      - key: diagnose
        kind: confirm
        assignee: engineer
        title: {ru: Поставьте диагноз, en: Diagnose the device}
        fields: [diagnosis]
    next: repair
  - key: repair
    title: {ru: Ремонт, en: Repair}
    tasks:
      - key: repaired
        kind: approve
        assignee: engineer
        title: {ru: "Устройство исправно?", en: "Is the device fixed?"}
        outcomes:
          approve: {label: {ru: "✅ Исправно", en: "✅ Fixed"}}
          reject:
            label: {ru: "↩️ Вернуть на диагностику", en: "↩️ Back to diagnosis"}
            done: {ru: Возвращено на диагностику, en: Sent back to diagnosis}
            comment: optional
    next:
      - {to: payment, when: "repaired == 'approve'"}
      - {to: diagnosis}
  - key: payment
    title: {ru: Ожидаем оплату, en: Awaiting payment}
    tasks:
      - key: paid
        kind: confirm
        assignee: initiator
        title: {ru: Отметьте оплату, en: Mark the invoice paid}
        fields: [invoice]
    next: paid
  - key: paid
    title: {ru: Оплачено, en: Paid}
    final: true
    result: success
    on_enter:
      - notify: [initiator]
        text: {ru: "Оплата получена, заявка закрыта.", en: "Paid; the request is closed."}
"""


async def test_each_step_is_told_once_where_the_case_then_stands(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    library = library_with(tmp_path)
    (library / "repair_job.yaml").write_text(REPAIR, encoding="utf-8")
    harness = await harness_factory(library_dir=library)
    clerk = await harness.person("Clerk Anna", "clerk", language="en")
    engineer = await harness.person("Engineer Sergey", "engineer", language="en")
    await clerk.send("▶️ Start a process")
    await clerk.press("Repair job", await clerk.expect("Which process"))
    await clerk.expect("Device")
    await clerk.send("Laptop")
    await clerk.press("Confirm", await clerk.expect("Please check"))
    await clerk.expect("is registered")

    # The engineer's diagnosis moves the case on to the repair, whose card comes to him: it says where the case
    # stands, and no «Done» follows it naming a stage the case may have left by the time it arrives.
    await engineer.press("Done", await engineer.card("Diagnose the device", button="Done"))
    await engineer.expect("Diagnosis")
    await engineer.send("A broken hinge")
    await engineer.press("Confirm", await engineer.expect("Please check"))
    card = await engineer.expect("Is the device fixed?", "Stage: Repair")
    await engineer.wait_for("Diagnose the device", "✅ Done (Engineer Sergey)")
    # Not fixed yet: back to diagnosis; his card of the decision says what he decided, as its result in his words.
    await engineer.press("Back to diagnosis", card)
    await engineer.press("Skip", await engineer.expect("Comment"))
    await engineer.press("Confirm", await engineer.expect("Please check"))
    await engineer.wait_for("Is the device fixed?", "↩️ Sent back to diagnosis (Engineer Sergey)")
    await engineer.press("Done", await engineer.card("Diagnose the device", button="Done"))
    await engineer.send("The hinge replaced")
    await engineer.press("Confirm", await engineer.expect("Please check"))
    await engineer.press("Fixed", await engineer.card("Is the device fixed?", button="Fixed"))
    await engineer.wait_for("Is the device fixed?", "✅ Fixed (Engineer Sergey)")

    # The clerk marks the invoice paid, which closes the case: she is told so once, with the stage's own words.
    await clerk.press("Done", await clerk.card("Mark the invoice paid", button="Done"))
    await clerk.expect("Invoice number")
    await clerk.send("INV-7")
    await clerk.press("Confirm", await clerk.expect("Please check"))
    closed = await clerk.expect("🏁 Case closed")
    assert "Paid; the request is closed." in closed["text"], closed["text"]
    await harness.settle()
    # Where a step's own card came to him, no «Done» followed it; «Fixed», which asks nothing and hands the case to
    # the clerk, is followed by one saying where the case went and whom it waits for (a notice alone flashes away).
    # Her closing is said once.
    his = [m["text"] or "" for m in await engineer.bot_messages()]
    assert [text for text in his if text.startswith("✅ Done.")] == [
        "✅ Done. #1 · Repair: Laptop — stage: Awaiting payment. Waiting for: Clerk Anna."
    ], his
    said = his + [m["text"] or "" for m in await clerk.bot_messages()]
    assert not [text for text in said[len(his):] if text.startswith("✅ Done.")], said
    assert len([text for text in said if "Case closed" in text or "request is closed" in text]) == 1, said


async def test_an_english_reader_files_a_return_in_english_marks_and_words(harness: Harness) -> None:
    manager = await harness.person("Maria", "shop_manager", language="en")
    await harness.person("Ольга", "shop_admin")
    service = await harness.person("Sergey", "service_manager", language="en")
    await register_two_watches(manager)

    # The case and its watches are numbered «#», the amount read as she wrote it (250,000, not 250).
    card = await service.card("Move the goods to the service warehouse in 1C", button="Done")
    assert "#1 · Longines, 2 pcs" in card["text"] and "№" not in card["text"], card["text"]
    async with harness.core.sessionmaker() as session:
        case = await session.get(Case, 1)
    assert case is not None and case.data["purchase_sum"] == "250000.00", case.data


async def test_registering_a_case_is_one_message_before_the_card_it_gives(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """A foreman who registers a repair and diagnoses it himself: «registered» comes first, with the process's own
    notice to him in it (not a second message), and the card of his task after it — not the other way round."""
    library = library_with(tmp_path)
    told = """    title: {ru: Диагностика, en: Diagnosis}
    on_enter:
      - notify: [engineer]
        text: {ru: "Новое устройство: {{ device }}", en: "A device came in: {{ device }}"}
"""
    (library / "repair_job.yaml").write_text(
        REPAIR.replace("    title: {ru: Диагностика, en: Diagnosis}\n", told), encoding="utf-8"
    )
    harness = await harness_factory(library_dir=library)
    foreman = await harness.person("Foreman Oleg", "clerk", "engineer", language="en")
    await foreman.send("▶️ Start a process")
    await foreman.press("Repair job", await foreman.expect("Which process"))
    await foreman.expect("Device")
    await foreman.send("Laptop")
    await foreman.press("Confirm", await foreman.expect("Please check"))
    registered = await foreman.expect("is registered", "A device came in: Laptop")
    card = await foreman.expect("Diagnose the device")
    assert card["message_id"] > registered["message_id"]
    await harness.settle()
    heard = [m["text"] for m in await foreman.bot_messages() if m["message_id"] > registered["message_id"] - 1]
    assert sum("A device came in" in t for t in heard) == 1, heard
    assert sum("is registered" in t for t in heard) == 1, heard


async def test_a_request_still_being_filled_is_named_by_its_process_in_english_too(harness: Harness) -> None:
    """A sales manager who reads English starts a deal, picks the client and looks at «My cases» before finishing:
    the request he is filling is listed as a «Deal» — as a Russian reader sees «Сделка» — not as its title made of
    answers not given yet («, shipping»)."""
    manager = await harness.person("Anton", "sales_manager", language="en")
    await manager.send("▶️ Start a process")
    await manager.press("Deal", await manager.expect("Which process"))
    await manager.expect("Client")
    await manager.send("Мясной Двор")
    await manager.press("Create", await manager.expect("Create"))
    await manager.expect("Volume, production 1")
    await manager.send("📁 My cases")
    listed = await manager.expect("Your cases")
    assert "#1 · Deal — Filling in the request" in listed["text"], listed["text"]
    assert ", shipping" not in " ".join([listed["text"], *manager.buttons(listed)]), manager.buttons(listed)
