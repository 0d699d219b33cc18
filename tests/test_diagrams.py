"""Process diagrams say everything in words: every stage and every role by its label, conditions on the arrows
in labels, and no key of the definition anywhere a person could read it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from flows.loader import load_library
from flows.model import ProcessDef, local
from services.diagrams import CURRENT, START_NODE, ProcessDiagram, render, stage_node
from services.i18n import Translator
from services.wording import Wording
from services.words import DefinitionWords

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = load_library(str(ROOT / "flows" / "library"))
TITLES = {key: loaded.spec.title for key, loaded in LIBRARY.items()}


@pytest.fixture(scope="module")
def wording(tmp_path_factory: pytest.TempPathFactory) -> Wording:
    return Wording(Translator(tmp_path_factory.mktemp("mo")), ZoneInfo("Europe/Moscow"))


def words_of(wording: Wording, spec: ProcessDef, lang: str = "ru") -> DefinitionWords:
    return DefinitionWords(wording, spec, lang, TITLES)


def svg_text(svg: bytes) -> str:
    """What a person reads in the drawing: the text of every <text> element, in one line."""
    root = etree.fromstring(svg)
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    return " ".join(" ".join(texts).split())


def keys_of(spec: ProcessDef) -> Iterator[str]:
    yield spec.process
    yield from spec.roles
    yield from spec.start.roles
    for name, fdef in spec.fields.items():
        yield name
        yield from (fdef.options or {})
        yield from (fdef.fields or {})
    for stage in spec.stages:
        yield stage.key
        for task in stage.tasks:
            yield task.key
            yield task.assignee.split(":")[-1]
            yield from task.escalate_to
            yield from task.outcome_defs()
        for move in stage.moves:
            yield from move.roles


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("process", sorted(LIBRARY))
def test_every_stage_and_role_is_drawn_by_its_label_and_no_key_shows(wording: Wording, process: str) -> None:
    spec = LIBRARY[process].spec
    words = words_of(wording, spec)
    text = svg_text(render(ProcessDiagram(words).graph(), "svg"))

    for stage in spec.stages:
        assert one_line(local(stage.title)) in text, f"stage {stage.key} is not drawn"
        for task in stage.tasks:
            assert one_line(local(task.title)) in text
            role = words.role(task.assignee, task.for_each)
            assert role and role != task.assignee and role in text, f"{task.assignee} is not named in words"
            for escalated in task.escalate_to:
                assert words.role(escalated) in text
    for starter in spec.start.roles:
        assert words.role(starter) in text
    for key in set(keys_of(spec)):
        # A key shows as a whole word only where a person would read a raw key («shop_manager», «reject»).
        assert not re.search(rf"(?<![\w]){re.escape(key)}(?![\w])", text), f"the key {key!r} shows in the drawing"


def test_conditions_waits_deadlines_and_parallel_blocks_are_in_words(wording: Wording) -> None:
    deal = svg_text(render(ProcessDiagram(words_of(wording, LIBRARY["meat_deal"].spec)).graph(), "svg"))
    assert "«Условия оплаты» = «Предоплата»" in deal  # the arrow to «Ждём оплату»
    assert "иначе" in deal  # and the other one
    assert "Ждёт до: «Плановая дата отгрузки», 08:00" in deal
    assert "срок: в течение 1 раб. дн." in deal
    assert "Параллельно; дальше, когда готовы все:" in deal

    weekly = svg_text(render(ProcessDiagram(words_of(wording, LIBRARY["weekly_orders"].spec)).graph(), "svg"))
    assert "по одной на каждую запись «Производства», параллельно" in weekly
    assert "«Начальник производства» записи" in weekly  # `assignee: item:head` — the entry's person
    assert "срок: пятница, 10:00" in weekly
    # A task given per entry only where its condition holds: the entry's field and its option named in words.
    produces = (
        "(«Сколько кг выпустит производство №1», если «Начальник производства» = «Начальник производства 1», иначе "
        "«Сколько кг выпустит производство №2») ≠ 0"
    )
    assert produces in weekly, weekly

    english = svg_text(render(ProcessDiagram(words_of(wording, LIBRARY["meat_deal"].spec, "en")).graph(), "svg"))
    # English quotes names as English does; «…» is Russian's.
    assert "“Payment terms” = “Prepaid”" in english and "otherwise" in english and "«" not in english


def test_a_sub_process_call_is_drawn_with_the_called_process_by_its_title(wording: Wording) -> None:
    library = load_library(str(ROOT / "tests" / "data"))
    titles = {key: loaded.spec.title for key, loaded in library.items()}
    spec = library["client_order"].spec
    dot = ProcessDiagram(DefinitionWords(wording, spec, "ru", titles)).graph()
    text = svg_text(render(dot, "svg"))
    called = local(library["client_check"].spec.title)
    assert f"Подпроцесс «{called}»" in text and "вызывает и ждёт" in text
    assert "client_check" not in text


def node_attributes(source: str, node: str) -> str:
    match = re.search(rf"^\s*{node} \[(.*?)\]$", source, re.MULTILINE | re.DOTALL)
    assert match, f"no node {node} in the DOT"
    return match.group(1)


def test_the_current_stage_is_the_one_highlighted(wording: Wording) -> None:
    spec = LIBRARY["defect_return"].spec
    index = 2
    source = ProcessDiagram(words_of(wording, spec)).graph(current=spec.stages[index].key).source
    highlight = f"penwidth={CURRENT['penwidth']}"
    assert highlight in node_attributes(source, stage_node(index))
    others = [stage_node(i) for i in range(len(spec.stages)) if i != index] + [START_NODE]
    assert all(highlight not in node_attributes(source, node) for node in others)


def test_a_stage_that_follows_child_cases_is_reached_by_an_arrow_named_by_the_childs_stage(wording: Wording) -> None:
    library = load_library(str(ROOT / "tests" / "data"))
    specs = {key: loaded.spec for key, loaded in library.items()}
    titles = {key: spec.title for key, spec in specs.items()}
    spec = specs["positions_request"]
    diagram = ProcessDiagram(DefinitionWords(wording, spec, "ru", titles, specs))
    source = diagram.graph().source
    calling = spec.stages.index(spec.stage("approvals"))
    following = spec.stages.index(spec.stage("signing"))
    assert re.search(rf"^\s*{stage_node(calling)} -> {stage_node(following)} \[", source, re.MULTILINE)
    child_stage = local(specs["position_approval"].stage("signing").title)
    text = svg_text(render(diagram.graph(), "svg"))
    assert f"подпроцессы дошли до «{child_stage}»" in " ".join(text.split())


def test_stages_that_follow_items_are_joined_by_arrows_named_by_the_items_stage(wording: Wording) -> None:
    spec = LIBRARY["medical_order"].spec
    source = ProcessDiagram(words_of(wording, spec)).graph().source
    followers = [i for i, stage in enumerate(spec.stages) if stage.follows is not None]
    first, second = followers[0], followers[1]
    assert re.search(rf"^\s*{stage_node(first)} -> {stage_node(second)} \[", source, re.MULTILINE)
    assert "позиции дошли до" in source


def test_a_deal_started_by_hand_is_drawn_beginning_at_the_qualification_and_a_lead_at_new(wording: Wording) -> None:
    spec = LIBRARY["medical_order"].spec
    diagram = ProcessDiagram(words_of(wording, spec))
    source = diagram.graph().source
    qualification = spec.stages.index(spec.stage("qualification"))
    assert re.search(rf"^\s*{START_NODE} -> {stage_node(qualification)} \[label=\"начато вручную\"\]", source, re.M)
    assert re.search(rf"^\s*{START_NODE} -> {stage_node(0)} \[label=\"заявка с сайта\"\]", source, re.M)
    english = ProcessDiagram(words_of(wording, spec, "en")).graph().source
    assert "started by hand" in english and "a lead from the site" in english
    # A process whose cases all begin at its first stage keeps its one plain arrow.
    plain = ProcessDiagram(words_of(wording, LIBRARY["defect_return"].spec)).graph().source
    assert re.search(rf"^\s*{START_NODE} -> {stage_node(0)}$", plain, re.M), plain


def test_seed_one_ends_well_when_there_is_no_defect(wording: Wording) -> None:
    """The goods are sound and go back on sale: that ending is drawn as a success, not as a failure."""
    text = svg_text(render(ProcessDiagram(words_of(wording, LIBRARY["defect_return"].spec)).graph(), "svg"))
    assert "неудача" not in text, text
    assert text.count("Конец: успех") == 3, text  # no defect, returned by offset, goods in the shop


def test_seed_one_draws_the_suppliers_deadline_from_the_latest_arrival(wording: Wording) -> None:
    text = svg_text(render(ProcessDiagram(words_of(wording, LIBRARY["defect_return"].spec)).graph(), "svg"))
    said = "5 раб. дн. после «Дата возврата из ремонта» (пока это поле пусто — считая от «Дата поступления товара»)"
    assert said in text, text
