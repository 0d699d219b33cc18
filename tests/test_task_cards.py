"""A task's card rendered once per language and shared among its readers says to each what rendering it for
that reader alone says (issue 14: a card for a role of several people was rendered again for every member)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench.scenario import HAPPY_PATH
from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.context import case_context
from flows.items import item_approval_key, item_task_key
from flows.loader import load_file, parse_definition
from flows.runtime import CaseState, Engine, TaskState
from flows.templating import render
from services.i18n import Translator
from services.wording.files import file_count, file_fields
from tgbot.notices_base import evidence_fields
from tgbot.render import Renderer

SPEC = load_file(Path(__file__).resolve().parent.parent / "flows" / "library" / "defect_return.yaml").spec
INITIATOR, HOLDER, OTHER = 1, 2, 3


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    return Renderer(Translator(tmp_path_factory.mktemp("locales")), ZoneInfo("Europe/Moscow"))


def walked() -> Iterator[tuple[CaseState, TaskState]]:
    """Seed 1's happy path in the engine alone: after each step, the case and each of its tasks as that step's
    cards show them (done, waiting in a pool, then taken by the holder). Yielded as the case stands then."""
    engine = Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))
    case, _effects = engine.start(SPEC, INITIATOR)
    case.id = 7
    for step in HAPPY_PATH:
        task = next(t for t in case.open_tasks() if t.key == step.task)
        if task.assignee_id is None:
            engine.claim(case, task, HOLDER, {task.role or ""})
        engine.submit(case, task, step.outcome, dict(step.values), task.assignee_id or HOLDER)
        for number, fresh in enumerate(case.tasks, 1):
            fresh.id = fresh.id or number
        for shown in case.tasks[-3:]:
            yield case, shown
        waiting = next((t for t in case.open_tasks() if t.assignee_id is None and t.role), None)
        if waiting is not None:
            engine.claim(case, waiting, HOLDER, {waiting.role or ""})
            yield case, waiting


def test_a_shared_card_says_to_each_reader_what_their_own_card_says(renderer: Renderer) -> None:
    names = {INITIATOR: "Иванова", HOLDER: "Петров", OTHER: "Сидоров"}
    extra = {"case": {"id": 7, "title": "x"}, "today": datetime(2026, 12, 21, tzinfo=UTC).date()}
    states: set[str] = set()
    for case, task in walked():
        for lang in ("ru", "en", None):
            # The head rendered for the first reader of the language, then handed to the others.
            head = renderer.task_card_head(case, task, lang, extra)
            cards = {}
            for viewer in (HOLDER, OTHER):
                alone = renderer.task_card(case, task, lang, names=names, viewer_id=viewer, extra=extra)
                shared = renderer.task_card(case, task, lang, names=names, viewer_id=viewer, head=head)
                assert shared == alone
                cards[viewer] = shared
            if lang == "ru" and task.assignee_id == HOLDER and task.outcome is None:
                # The readers' own lines are not in what they share: the holder's buttons are the holder's alone.
                assert "Эта задача — ваша." in cards[HOLDER][0] and "Исполнитель: Петров." in cards[OTHER][0]
                assert cards[HOLDER][1] != cards[OTHER][1]
        states.add("held" if task.assignee_id and task.outcome is None else task.status.value)
    assert {"held", "done"} <= states


def test_the_files_counted_on_a_card_are_the_files_listed(renderer: Renderer) -> None:
    case, _task = list(walked())[-1]
    listed = renderer.files(SPEC, case.data, file_fields(SPEC), "ru")
    assert file_count(SPEC, case.data) == len(listed) >= 3
    assert file_count(SPEC, {}) == 0


def test_a_text_still_sees_the_environments_globals_and_its_context_unchanged() -> None:
    data = {"units": [{"model": "A"}, {"model": "B"}], "verdict": "repair"}
    context = case_context(SPEC, data, lang="en")
    source = "{% for i in range(2) %}{{ units[i].model }}{% endfor %} {{ verdict }} {{ verdict.key }}"
    first = render(source, context)
    assert first == render(source, context) == "AB Repair repair"
    assert set(context) >= {"units", "verdict"} and "range" not in context
    # A choice handed to many contexts is the same choice in each, in its reader's language.
    assert case_context(SPEC, data, lang="ru")["verdict"].label != context["verdict"].label


def test_a_kept_card_text_changes_with_every_value_it_reads(renderer: Renderer) -> None:
    """Card heads' texts are kept per process by the values their source reads (`Renderer.kept_template`): a later
    card over changed values — a field, a choice behind its label, a list's order, the extra context — says the
    new thing, and a card over the same values says what rendering it afresh says."""
    text = {"ru": "{{ brand }}: {% for u in units %}{{ u.model }}{% endfor %} {{ verdict }} {{ verdict_label }}"
                  " {{ case.id }} {{ today|date }}", "en": "{{ brand }} {{ verdict }}"}
    extra = {"case": {"id": 7, "title": "x"}, "today": datetime(2026, 12, 21, tzinfo=UTC).date()}
    base = {"brand": "Acme", "units": [{"model": "A"}, {"model": "B"}], "verdict": "repair", "unrelated": 1}
    variants = [
        base,
        {**base, "unrelated": 2},
        {**base, "brand": "Бренд"},
        {**base, "units": [{"model": "B"}, {"model": "A"}]},
        {**base, "verdict": "refund"},
        {k: v for k, v in base.items() if k != "brand"},
        {**base, "brand": 1},
        {**base, "brand": 1.0},
        {**base, "brand": True},
    ]
    for lang in ("ru", "en"):
        for extra_now in (extra, {**extra, "case": {"id": 8, "title": "x"}}):
            for data in variants + variants:  # the second pass reads what the first one kept
                kept = renderer.kept_template(text, SPEC, data, lang, extra_now)
                assert kept == renderer.template(text, SPEC, data, lang, extra_now)
    assert renderer.kept_template(text, SPEC, variants[3], "ru", extra).startswith("Acme: BA ")
    assert renderer.kept_template(text, SPEC, variants[0], "ru", extra) != renderer.kept_template(
        text, SPEC, variants[4], "ru", extra)


def test_an_item_approvals_card_brings_the_cases_files_whatever_card_came_before() -> None:
    """The director judging an item's move sees the case's photos with the card (its documents are behind the card's
    «📎 Files»); the logistician's form for a move sees none it does not speak of. The definitions of such tasks are
    made afresh at every call (a freed one's address is soon the next one's), so the fields kept per task must not
    be found by that address."""
    source = (Path(__file__).parent / "data" / "equipment_order.yaml").read_text(encoding="utf-8")
    client = "  client: {type: text, label: {ru: Клиент, en: Client}}\n"
    invoice = "  invoice: {type: document, label: {ru: Счёт, en: Invoice}, required: false}\n"
    shot = "  shot: {type: photo, label: {ru: Фото, en: Photo}, required: false}\n"
    assert client in source
    spec = parse_definition(
        source.replace(client, client + invoice + shot)
        .replace("roles: [manager, logistician]", "roles: [manager, logistician, director]")
        .replace("moves: [sent, cancelled]", "moves: [{to: sent, approval: director}, cancelled]"),
        "order.yaml",
    ).spec
    for index in range(50):
        assert evidence_fields(spec, "processing", item_task_key("items", index, "sent")) == []
        assert evidence_fields(spec, "processing", item_approval_key("items", index, "sent")) == ["shot"]



def test_a_moves_form_card_names_where_the_case_goes_and_says_where_it_stands(renderer: Renderer) -> None:
    """Seed 3's «✖️ Отказ» waits for the refusal's reason: a card of that form (the responsible's, when nobody asked
    it in their chat) names the stage as where the case goes, while its «Этап» line is still where it is."""
    quote = load_file(Path(__file__).resolve().parent.parent / "flows" / "library" / "fulfillment_quote.yaml").spec
    engine = Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))
    case, _effects = engine.start(quote, INITIATOR)
    answers = {"client": {"name": "ООО Ромашка"}, "contact_name": "Иван", "goods_description": "Игрушки"}
    engine.submit(case, case.open_tasks()[0], "submit", {**answers, "monthly_volume": 100}, INITIATOR)
    stage = case.stage
    engine.move(case, "refused", INITIATOR, set())
    form = next(t for t in case.open_tasks() if t.stage == "refused")
    assert case.stage == stage
    head = renderer.task_card_head(case, form, "ru").lines
    assert head[0] == "📌 Переход на этап «Отказ КП»"
    assert head[2] == f"Этап: {renderer.stage_title(quote, stage, 'ru')}"
    assert "Отказ КП" not in head[2]


def test_an_optional_field_asked_again_offers_to_keep_it_and_a_correction_to_clear_it(renderer: Renderer) -> None:
    """Asked again with a value the case has, «Пропустить» would do what «Оставить как есть» does; in a correction
    of that field an empty answer empties it, so the button says «Очистить» — not a skip that erases."""
    from flows.forms import Step
    from flows.model import FieldDef

    fields = {"note": FieldDef(type="text", label="Примечание", required=False)}

    def buttons(step: Step, correction: bool) -> list[str]:
        _text, keyboard = renderer.question(
            SPEC, fields, step, 9, "ru", options=[], collected=0, can_back=False, correction=correction
        )
        return [b["text"] for row in (keyboard or {}).get("inline_keyboard", []) for b in row]

    fresh = Step(path="note", name="note", field=fields["note"])
    again = Step(path="note", name="note", field=fields["note"], current="Хрупкое")
    assert "⏭ Пропустить" in buttons(fresh, correction=False)
    assert "⏭ Пропустить" not in buttons(again, correction=False) and "✅ Оставить как есть" in buttons(again, False)
    assert "🗑 Очистить" in buttons(again, correction=True) and "⏭ Пропустить" not in buttons(again, True)
