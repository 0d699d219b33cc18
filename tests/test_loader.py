"""Definitions are checked with errors an admin can act on: file, line, and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.cli import main as cli
from flows.loader import DefinitionError, check_paths, parse_definition

LIBRARY = Path(__file__).resolve().parent.parent / "flows" / "library"

GOOD = """\
process: tiny
title: Tiny
roles: [clerk, boss]
start:
  roles: [clerk]
  form: [amount]
fields:
  amount: {type: money, label: Amount}
  due_date: {type: date, label: Due, required: false}
stages:
  - key: review
    title: Review
    tasks:
      - key: approve_it
        kind: approve
        assignee: boss
        title: Approve
        due: 2 working days
        remind: [4 hours before]
        escalate_to: [boss]
    next:
      - {to: rejected, when: "approve_it == 'reject'"}
      - {to: approved}
  - key: approved
    title: Approved
    final: true
    result: success
  - key: rejected
    title: Rejected
    final: true
    result: failure
"""


def problems_of(source: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "flow.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_library_is_valid() -> None:
    assert check_paths([LIBRARY]) == []


def test_a_good_definition_loads() -> None:
    loaded = parse_definition(GOOD, "flow.yaml")
    assert loaded.spec.stage("review").tasks[0].outcome_defs()["reject"].comment == "required"


def test_unknown_stage_points_to_its_line() -> None:
    problems = problems_of(GOOD.replace("{to: approved}", "{to: aproved}"))
    assert any(p.startswith("flow.yaml:23:") and "unknown stage 'aproved'" in p for p in problems), problems
    # What the misspelt way cuts off (the stage nobody reaches now) follows from it: not said on top of it, or one
    # mistake would come back as many lines and bury itself; fixed, the check runs again and says what is left.
    assert problems == [p for p in problems if "aproved" in p], problems
    lonely = GOOD.replace("""  - key: rejected
    title: Rejected""", """  - key: lonely
    title: Lonely
    final: true
  - key: rejected
    title: Rejected""")
    assert any("stage 'lonely' cannot be reached" in p for p in problems_of(lonely))  # with every way known, it is


def test_where_cases_begin_is_a_stage_of_the_process_checked_at_its_line() -> None:
    # A clerk's own request skips the triage site leads wait in; a lead form's cases begin at the triage.
    triaged = GOOD.replace("""stages:
  - key: review""", """leads:
  - form: site
    initiator: boss
    map: {amount: sum}
stages:
  - key: triage
    title: Triage
    tasks:
      - {key: look, kind: confirm, assignee: clerk, title: Look}
    next: review
  - key: review""").replace("  form: [amount]\n", "  form: [amount]\n  stage: review\n")
    assert parse_definition(triaged, "flow.yaml").spec.start.stage == "review"

    misspelt = problems_of(triaged.replace("stage: review", "stage: reveiw"))
    assert any(p.startswith("flow.yaml:7:") and "unknown stage 'reveiw'" in p for p in misspelt), misspelt
    assert misspelt == [p for p in misspelt if "reveiw" in p], misspelt  # nothing it cuts off said on top of it
    final = problems_of(triaged.replace("map: {amount: sum}", "map: {amount: sum}\n    stage: approved"))
    assert any(
        p.startswith("flow.yaml:15:") and "cannot begin at the final stage 'approved'" in p for p in final
    ), final
    # The leads' own stage beside the start's: nothing enters the triage any more, and the check says so.
    nobody = problems_of(triaged.replace("map: {amount: sum}", "map: {amount: sum}\n    stage: review"))
    assert any("stage 'triage' cannot be reached from 'review'" in p for p in nobody), nobody
    # The shape failing elsewhere, the stage to begin at is still checked.
    broken = problems_of(triaged.replace("stage: review", "stage: reveiw").replace("kind: approve", "kind: aprove"))
    assert any(p.startswith("flow.yaml:7:") and "unknown stage 'reveiw'" in p for p in broken), broken


def test_a_report_compares_itself_only_with_what_another_report_wrote() -> None:
    source = (LIBRARY / "weekly_orders.yaml").read_text(encoding="utf-8")
    assert parse_definition(source, "weekly_orders.yaml").spec.compared_reports() == {"preorders_report"}
    # A document field people upload (the purchase calculation) has no report's rows to compare with.
    wrong = source.replace("changes_since: preorders_report", "changes_since: purchase_calc_file", 1)
    problems = problems_of(wrong)
    line = wrong[: wrong.index("changes_since: purchase_calc_file")].count("\n") + 1
    assert problems == [
        f"flow.yaml:{line}: no report of this process writes 'purchase_calc_file', so there is nothing to compare "
        "with (reports write: final_report, preorders_report, updated_report)"
    ], problems


def test_unknown_role_field_and_type() -> None:
    source = GOOD.replace("assignee: boss", "assignee: bos").replace("form: [amount]", "form: [amount, amont]")
    source = source.replace("{type: date,", "{type: dat,").replace("{to: approved}", "{to: aproved}")
    # A shape error in one place (the field's type) does not hide the mistakes of names elsewhere: all in one
    # round, in the order of their lines, so an admin does not fix one only to be shown the next.
    problems = problems_of(source)
    assert [p.split(":")[1] for p in problems] == ["6", "9", "16", "23"], problems
    text = "\n".join(problems)
    assert "flow.yaml:9:" in text and "dat" in text  # the bad type, on the field's line
    assert "flow.yaml:16: unknown role 'bos'" in text
    assert "flow.yaml:6: unknown field 'amont'" in text
    assert "flow.yaml:23: unknown stage 'aproved'" in text
    # With the type fixed, the full check says the same of the names (and nothing is said twice).
    fixed = problems_of(source.replace("{type: dat,", "{type: date,"))
    assert sorted(fixed) == sorted(p for p in problems if ":9:" not in p), fixed


def test_half_valid_definitions_are_checked_without_crashing() -> None:
    """What cannot be read is skipped by the checks of names, never guessed: broken roles, stages, tasks and
    fields give their shape errors alone, and a stage without a readable key calls no way to a stage unknown."""
    broken = [
        GOOD.replace("roles: [clerk, boss]", "roles: clerk"),
        GOOD.replace("  - key: approved", "  - key: [approved]"),
        GOOD.replace("assignee: boss", "assignee: [boss]").replace("{type: date,", "{type: dat,"),
        GOOD.replace("fields:\n", "fields: [x]\n").replace("  amount: {type: money, label: Amount}\n", "")
        .replace("  due_date: {type: date, label: Due, required: false}\n", ""),
        GOOD.replace("stages:\n", "stages: 5\nold:\n"),
        GOOD.replace("    next:\n      - {to: rejected,", "    next: 7\n    nxt:\n      - {to: rejected,"),
        GOOD.replace("start:\n  roles: [clerk]", "start: [clerk]\nx:\n  roles: [clerk]"),
    ]
    for source in broken:
        problems = problems_of(source)
        names = ("unknown role", "unknown stage", "unknown field")
        assert problems and not any(name in p for p in problems for name in names), problems
    assert any(":16: unknown role 'bos'" in p for p in problems_of(GOOD.replace("assignee: boss", "assignee: bos")
                                                                        .replace("roles: [clerk]", "roles: clerk")))


def test_a_task_for_the_organisations_own_person_names_one_of_the_roles() -> None:
    """`organisation:<role>`: the person the case's organisation names, of a role of the process (else its pool).
    A role the process lacks is said on the task's line, on a sound and on a half-valid definition alike."""
    own = GOOD.replace("assignee: boss", "assignee: organisation:boss")
    assert parse_definition(own, "flow.yaml").spec.task("review", "approve_it").assignee == "organisation:boss"
    said = "flow.yaml:16: 'organisation:bos' names an unknown role (roles: boss, clerk)"
    wrong = own.replace("organisation:boss", "organisation:bos")
    assert problems_of(wrong) == [said]
    assert said in problems_of(wrong.replace("{type: date,", "{type: dat,"))  # a shape error on line 9


def test_a_person_field_is_checked_alike_on_a_sound_and_a_half_valid_definition() -> None:
    """A task given to `field:<name>` needs a user field there: the full check and the check of names on a
    definition whose shape failed elsewhere say it in the same words, and a field whose own type cannot be read is
    not called the wrong one (its type error says what is wrong)."""
    given = GOOD.replace("assignee: boss", "assignee: field:amount")
    said = "flow.yaml:16: 'field:amount' does not name a person field"
    assert problems_of(given) == [said]
    assert said in problems_of(given.replace("{type: date,", "{type: dat,"))  # a shape error on line 9
    manager = given.replace("field:amount", "field:manager").replace(
        "  due_date:", "  manager: {type: user, label: Manager}\n  due_date:"
    )
    parse_definition(manager, "flow.yaml")
    assert not any("person field" in p for p in problems_of(manager.replace("{type: date,", "{type: dat,")))
    assert not any("person field" in p for p in problems_of(manager.replace("{type: user,", "{type: usr,")))
    nobody = problems_of(manager.replace("field:manager", "field:nobody").replace("{type: date,", "{type: dat,"))
    assert "flow.yaml:17: 'field:nobody' does not name a person field" in nobody, nobody


def test_deadline_that_cannot_be_read() -> None:
    problems = problems_of(GOOD.replace("due: 2 working days", "due: two days please"))
    assert any(p.startswith("flow.yaml:18:") for p in problems), problems


def test_condition_with_unknown_name_and_bad_yaml() -> None:
    problems = problems_of(GOOD.replace("approve_it == 'reject'", "aprove_it == 'reject'"))
    assert any("aprove_it" in p and p.startswith("flow.yaml:22:") for p in problems), problems
    # A bracket left open, a key without its colon: said at the line where it began, not at the next one, where
    # the parser noticed.
    problems = problems_of("process: [unclosed\n")
    assert problems[0].startswith("flow.yaml:1: not valid YAML"), problems
    problems = problems_of(GOOD.replace("    title: Review\n", "    title Review\n"))
    assert problems[0].startswith("flow.yaml:12: not valid YAML"), problems


def test_a_quote_left_open_is_said_where_it_was_opened() -> None:
    # YAML lets a quoted text run over lines: the title's quote, never closed, takes the lines after it as its text
    # until the next quote in the file (the condition's, line 22) closes it, and the parser gives up only there.
    source = GOOD.replace("title: Tiny\n", 'title: "Заявка\n')
    (said,) = problems_of(source)
    assert said == (
        "flow.yaml:2: not valid YAML: the quote opened on this line is never closed (its text ran on to line 22)"
    ), said
    # In single quotes: closed by the first quote of 'reject' on the same line.
    (said,) = problems_of(GOOD.replace("title: Tiny\n", "title: 'Заявка\n"))
    assert said.startswith("flow.yaml:2: not valid YAML: the quote opened on this line is never closed"), said
    # Inside { … }, a field's label.
    (said,) = problems_of(GOOD.replace("label: Amount}", 'label: "Amount}'))
    assert said.startswith("flow.yaml:8: not valid YAML: the quote opened on this line is never closed"), said
    # No quote after it: the text runs to the end of the file.
    (said,) = problems_of(GOOD.replace("title: Tiny\n", 'title: "Заявка\n').replace('"approve_it == \'reject\'"', "x"))
    assert said == "flow.yaml:2: not valid YAML: the quote opened on this line is never closed", said
    # In the admin's language.
    with (LIBRARY.parent.parent / "services/locales/ru/LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po, locale="ru")
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "flow.yaml")
    (problem,) = caught.value.problems
    russian = problem.translated(lambda msgid: str(catalog[msgid].string) if catalog.get(msgid) else msgid)
    assert russian == "flow.yaml:2: ошибка в YAML: кавычка, открытая в этой строке, не закрыта (текст в кавычках " \
        "продолжился до строки 22)", russian
    # A text in quotes that runs over lines on purpose is no mistake, and a mistake after it is said where it is.
    fine = GOOD.replace("title: Tiny\n", 'title: "Заявка\n  на закупку"\n')
    assert parse_definition(fine, "flow.yaml").spec.title == "Заявка на закупку"
    (said,) = problems_of(fine.replace("    title: Review\n", "    title Review\n"))
    assert said.startswith("flow.yaml:13: not valid YAML"), said


def test_konveyer_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("{to: approved}", "{to: nowhere}"), encoding="utf-8")
    assert cli(["check", str(good)]) == 0
    assert cli(["check", "--lang", "en", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:23: unknown stage 'nowhere'" in out


def test_konveyer_check_speaks_the_admins_language_and_counts_on_a_line_of_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Russian on a Russian terminal: every mistake of the file at once, then how many, in words; English on
    another locale, as scripts read it before."""
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        GOOD.replace("{type: date,", "{type: dat,").replace("assignee: boss", "assignee: bos")
        .replace("{to: approved}", "{to: nowhere}"),
        encoding="utf-8",
    )
    assert cli(["check", str(bad)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [line.split(":")[1] for line in lines] == ["9", "16", "23"], lines
    assert "неизвестная роль «bos»" in lines[1] and "неизвестный этап «nowhere»" in lines[2]
    assert captured.err == "3 ошибки\n"
    assert cli(["check", "--lang", "en", str(bad)]) == 1
    assert capsys.readouterr().err == "3 problems\n"
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    assert cli(["check", str(good)]) == 0
    assert capsys.readouterr().out == "ошибок в определениях процессов нет\n"
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert cli(["check", str(bad)]) == 1
    assert capsys.readouterr().err == "3 problems\n"


BILINGUAL = """\
process: leave
title: {ru: Отпуск, en: Leave}
roles: [clerk, boss]
start:
  roles: [clerk]
  form: [days, kind]
  title: "{{ days }}"
fields:
  days: {type: number, label: {ru: Сколько дней, en: How many days}, unit: дн}
  kind:
    type: choice
    label: {ru: Отпуск, en: Leave}
    options: {paid: {ru: Оплачиваемый, en: Paid}, unpaid: За свой счёт}
stages:
  - key: review
    title: Согласование
    tasks:
      - key: approve_it
        kind: approve
        assignee: boss
        title: {ru: Согласуйте отпуск, en: Approve the leave}
        text: "{{ days }} — {{ kind }}"
    on_enter:
      - notify: [initiator]
        text: {ru: "Заявка на {{ days }} дн. у руководителя"}
    next: done
  - key: done
    title: {ru: Согласовано, en: Approved}
    final: true
    result: success
"""


def test_konveyer_check_warns_of_a_text_an_english_reader_would_get_in_russian(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A company with English-speaking staff writes its definitions in both languages; a stage's title, an option,
    a notice or a unit left in Russian only would reach those people in Russian. `konveyer check` says where, as a
    warning: the definition is sound and loads, so the exit code stays 0."""
    leave = tmp_path / "leave.yaml"
    leave.write_text(BILINGUAL, encoding="utf-8")

    def line(text: str) -> int:
        return next(n for n, row in enumerate(BILINGUAL.splitlines(), 1) if text in row)

    assert cli(["check", "--lang", "en", str(leave)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{leave}:{line('unit: дн')}: warning: fields → days → unit is in Russian only: a person reading English "
        "gets it in Russian; add 'en:' ({ru: …, en: …})",
        f"{leave}:{line('unpaid: За свой счёт')}: warning: fields → kind → options → unpaid is in Russian only: a "
        "person reading English gets it in Russian; add 'en:' ({ru: …, en: …})",
        f"{leave}:{line('title: Согласование')}: warning: stages → review → title is in Russian only: a person "
        "reading English gets it in Russian; add 'en:' ({ru: …, en: …})",
        f"{leave}:{line('Заявка на')}: warning: stages → review → on_enter → #1 → text is in Russian only: a person "
        "reading English gets it in Russian; add 'en:' ({ru: …, en: …})",
        "all definitions are valid",
    ], captured.out  # not the case's title nor the task's text: templates with no Russian word in them
    assert captured.err == "4 warnings\n"
    parse_definition(BILINGUAL, "leave.yaml")  # it loads as it is

    assert cli(["check", "--lang", "ru", str(leave)]) == 0
    said = capsys.readouterr()
    assert f"{leave}:{line('title: Согласование')}: предупреждение: stages → review → title — только по-русски" in (
        said.out
    ), said.out
    assert said.err == "4 предупреждения\n"

    # A mistake and a warning: both said, counted apart, and the mistake fails the check.
    broken = tmp_path / "broken.yaml"
    broken.write_text(GOOD.replace("{to: approved}", "{to: nowhere}"), encoding="utf-8")
    assert cli(["check", "--lang", "en", str(leave), str(broken)]) == 1
    assert capsys.readouterr().err == "1 problem, 4 warnings\n"


def test_a_definition_in_russian_only_is_not_warned_of(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A company that works in Russian writes plain texts everywhere: nothing in it is meant for an English reader,
    and a warning on every text would bury the ones that matter. The shipped library is bilingual throughout."""
    russian = tmp_path / "leave.yaml"
    only_russian = BILINGUAL.replace("{ru: Отпуск, en: Leave}", "Отпуск").replace(
        "{ru: Сколько дней, en: How many days}", "Сколько дней").replace(
        "{ru: Оплачиваемый, en: Paid}", "Оплачиваемый").replace(
        "{ru: Согласуйте отпуск, en: Approve the leave}", "Согласуйте отпуск").replace(
        "{ru: Согласовано, en: Approved}", "Согласовано")  # fmt: skip
    assert "en:" not in only_russian
    russian.write_text(only_russian, encoding="utf-8")
    assert cli(["check", "--lang", "en", str(russian)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "all definitions are valid\n" and captured.err == ""
    assert cli(["check", "--lang", "en", str(LIBRARY)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "all definitions are valid\n" and captured.err == ""


def test_konveyer_check_points_at_each_new_construct(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A call for each entry, the stages that follow its children, and `on_change`, checked in a folder as an admin
    runs `konveyer check`: every mistake at its file and line."""
    data = Path(__file__).parent / "data"
    folder = tmp_path / "processes"
    folder.mkdir()
    child = (data / "position_approval.yaml").read_text(encoding="utf-8")
    (folder / "position_approval.yaml").write_text(child, encoding="utf-8")
    source = (data / "positions_request.yaml").read_text(encoding="utf-8")
    parent = folder / "positions_request.yaml"
    parent.write_text(source, encoding="utf-8")
    assert cli(["check", str(folder)]) == 0

    def line(text: str, of: str) -> int:
        return next(n for n, row in enumerate(of.splitlines(), 1) if text in row)

    broken = source.replace("back: {item.verdict: verdict}", "back: {item.verdikt: verdict}").replace(
        "on_change: [add, cancel_removed]", "on_change: [add, drop]"
    )
    parent.write_text(broken, encoding="utf-8")
    assert cli(["check", "--lang", "en", str(folder)]) == 1
    out = capsys.readouterr().out
    assert f"{parent}:{line('on_change: [add, drop]', broken)}: " in out  # not one of add, cancel_removed, ignore

    broken = source.replace("back: {item.verdict: verdict}", "back: {item.verdikt: verdict}")
    parent.write_text(broken, encoding="utf-8")
    assert cli(["check", "--lang", "en", str(folder)]) == 1
    assert f"{parent}:{line('item.verdikt', broken)}: unknown field 'item.verdikt'" in capsys.readouterr().out

    broken = source.replace("at_least: signing}", "at_least: sign}")
    parent.write_text(broken, encoding="utf-8")
    assert cli(["check", "--lang", "en", str(folder)]) == 1
    assert (
        f"{parent}:{line('at_least: sign}', broken)}: process 'position_approval' has no stage 'sign'"
        in capsys.readouterr().out
    )

    follows = "    follows: {calls: approvals, at_least: signing}\n"
    broken = source.replace(follows, follows + "    next: approved\n")
    parent.write_text(broken, encoding="utf-8")
    assert cli(["check", "--lang", "en", str(folder)]) == 1
    assert "a stage that follows child cases has no tasks, 'next' or 'moves'" in capsys.readouterr().out


def test_a_site_form_fills_the_start_forms_required_fields_and_names_its_contacts_among_them() -> None:
    """A lead must reach the first stage: a required start field the form does not post would leave every lead
    waiting at its start form; a contact to check must be a text field the form posts."""
    site = "leads:\n  - form: site\n    initiator: clerk\n    map: {amount: sum}\n"
    assert parse_definition(GOOD.replace("stages:\n", site + "stages:\n", 1), "flow.yaml").spec.leads[0].form == "site"

    unfilled = site.replace("map: {amount: sum}", "map: {due_date: due}")
    problems = problems_of(GOOD.replace("stages:\n", unfilled + "stages:\n", 1))
    assert any("the start form's required field 'amount' is not filled by the form" in p for p in problems), problems

    contacts = site + "    contacts: {amount: phone, due_date: email}\n"
    problems = problems_of(GOOD.replace("stages:\n", contacts + "stages:\n", 1))
    assert any("'amount' is not a text field the form fills" in p for p in problems), problems  # money, not text
    assert any("'due_date' is not a text field the form fills" in p for p in problems), problems  # not in the map


def test_a_case_title_is_one_template_or_one_per_language_each_checked() -> None:
    """`start.title` as any other text: a plain template, or {ru: …, en: …}, every language's template checked."""
    title = '  title: {ru: "Счёт на {{ amount|money }}", en: "Bill for {{ amount|money }}"}\n'
    per_language = GOOD.replace("  form: [amount]\n", "  form: [amount]\n" + title)
    assert parse_definition(per_language, "flow.yaml").spec.start.title == {
        "ru": "Счёт на {{ amount|money }}", "en": "Bill for {{ amount|money }}"
    }
    problems = problems_of(per_language.replace("Bill for {{ amount|money }}", "Bill for {{ amont }}"))
    assert any(p.startswith("flow.yaml:7:") and "amont" in p for p in problems), problems
    problems = problems_of(per_language.replace("Bill for {{ amount|money }}", "Bill for {{ amount|money }"))
    assert any(p.startswith("flow.yaml:7:") for p in problems), problems


def test_a_default_is_offered_only_for_text_and_its_template_is_read() -> None:
    """`default:` offers a value worked out from the case (the supplier's address): a text, its names checked."""
    source = """process: shipment
title: Отправка
roles: [clerk]
start: {roles: [clerk], form: [supplier]}
directories:
  suppliers:
    - {key: alpha, name: Альфа, address: Москва}
fields:
  supplier: {type: directory, directory: suppliers, label: Поставщик}
  address: {type: text, fresh: true, label: Адрес}
  boxes: {type: number, label: Коробки}
stages:
  - key: pack
    title: Упаковка
    tasks:
      - key: ship
        kind: confirm
        assignee: clerk
        title: Отправьте
        fields: [{field: address, default: "{{ supplier.adres }}"}, {field: boxes, default: "1"}]
    next: done
  - {key: done, title: Готово, final: true}
"""
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "shipment.yaml")
    said = [str(p) for p in caught.value.problems]
    assert any(":20:" in p and "supplier has no 'adres'" in p for p in said), said
    assert any(":20:" in p and "only a text field may have a 'default'" in p for p in said), said
    fixed = source.replace("supplier.adres", "supplier.address").replace(', {field: boxes, default: "1"}', "")
    spec = parse_definition(fixed, "shipment.yaml").spec
    assert spec.fields["address"].fresh and spec.stages[0].tasks[0].fields[0].default == "{{ supplier.address }}"


def test_a_full_name_is_a_text_fields_option() -> None:
    source = GOOD.replace("stages:\n", "  signer: {type: number, full_name: true, label: Подписант}\nstages:\n", 1)
    assert any("only a text field without a 'contact' may be a 'full_name'" in p for p in problems_of(source))


def test_an_outcomes_done_words_come_in_every_language_of_its_button() -> None:
    outcomes = """        escalate_to: [boss]
        outcomes:
          reject:
            label: {ru: Вернуть с замечаниями, en: Return with remarks}
            done: %s
"""
    said = GOOD.replace("        escalate_to: [boss]\n", outcomes % "{ru: Возвращено с замечаниями}")
    assert any("'done' lacks the languages its label has: en" in p for p in problems_of(said)), problems_of(said)
    assert any("'done' is empty" in p for p in problems_of(GOOD.replace("        escalate_to: [boss]\n",
                                                                     outcomes % '" "')))
    fine = parse_definition(GOOD.replace("        escalate_to: [boss]\n", outcomes % "{ru: Возвращено, en: Returned}"),
                            "flow.yaml")
    assert fine.spec.stage("review").tasks[0].outcome_defs()["reject"].done == {"ru": "Возвращено", "en": "Returned"}


def test_an_outcomes_comment_is_asked_by_its_comment_label_checked_like_its_other_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`comment_label` is what an outcome's comment is asked as: `konveyer check` refuses one on an outcome that
    asks no comment, an empty one and one lacking a language of its button, each at its line."""
    outcomes = """        escalate_to: [boss]
        outcomes:
          rework:
            label: {ru: Вернуть с замечаниями, en: Return with remarks}
%s"""
    flow = tmp_path / "flow.yaml"

    def checked(lines: str) -> str:
        source = GOOD.replace("        escalate_to: [boss]\n", outcomes % lines)
        flow.write_text(source, encoding="utf-8")
        assert cli(["check", "--lang", "en", str(flow)]) == 1
        line = next(n for n, row in enumerate(source.splitlines(), 1) if "comment_label" in row)
        out = capsys.readouterr().out
        assert f"{flow}:{line}: " in out, out
        return out

    assert "'comment_label' names the comment an outcome asks for: add 'comment: required'" in checked(
        "            comment_label: {ru: Что исправить, en: What to fix}\n"
    )
    assert "'comment_label' is empty" in checked("            comment: required\n            comment_label: ' '\n")
    assert "'comment_label' lacks the languages its outcome's label has: en" in checked(
        "            comment: required\n            comment_label: Что исправить\n"
    )
    assert "must be a text, or a text per language" in checked(
        "            comment: required\n            comment_label: [Что, исправить]\n"
    )
    named = "            comment: required\n            comment_label: {ru: Что исправить, en: What to fix}\n"
    fine = parse_definition(GOOD.replace("        escalate_to: [boss]\n", outcomes % named), "flow.yaml")
    asked = fine.spec.stage("review").tasks[0].outcome_defs()
    assert asked["rework"].comment_label == {"ru": "Что исправить", "en": "What to fix"}
    # The approval's own «Отклонить» asks for the reason by that option too, not by a guess from its button.
    assert asked["reject"].comment_label == {"ru": "Причина отказа", "en": "Reason for rejection"}


def test_a_lists_line_is_a_lists_option_and_its_template_reads_the_entry() -> None:
    """`line:` says how one entry of a list reads on a summary (one numbered line): only a list has one, and its
    template names the entry's fields, checked as any text."""
    lines = (
        "  lines:\n    type: list\n    label: Lines\n    line: \"{{ item.name }} × {{ item.qty }}\"\n"
        "    fields:\n      name: {type: text, label: Name}\n      qty: {type: number, label: Quantity}\n"
    )
    source = GOOD.replace("stages:\n", lines + "stages:\n", 1)
    assert parse_definition(source, "flow.yaml").spec.fields["lines"].line == "{{ item.name }} × {{ item.qty }}"
    problems = problems_of(source.replace("item.qty }}", "item.quantity }}"))
    assert any(p.startswith("flow.yaml:13:") and "quantity" in p for p in problems), problems
    bad = GOOD.replace("label: Amount}", 'label: Amount, line: "{{ amount }}"}')
    assert any("only a list field may have a 'line'" in p for p in problems_of(bad))


def test_a_label_that_follows_the_case_is_checked_as_any_text_and_reads_its_else_where_no_case_is_at_hand() -> None:
    """A field's label may be a template over the case («Дата получения замены» after an exchange): its names are
    checked as any text's, an entry's field may not have one, and without a case it reads as its `else`."""
    templated = "label: \"{% if approve_it == 'reject' %}Срок исправления{% else %}Срок{% endif %}\""
    source = GOOD.replace("label: Due,", templated + ",")
    spec = parse_definition(source, "flow.yaml").spec
    assert spec.fields["due_date"].label == "Срок", spec.fields["due_date"]
    problems = problems_of(source.replace("{% if approve_it", "{% if aprove_it"))
    assert any(p.startswith("flow.yaml:9:") and "aprove_it" in p for p in problems), problems
    entry = '  lines:\n    type: list\n    label: Lines\n    fields:\n      name: {type: text, label: "{{ amount }}"}\n'
    problems = problems_of(GOOD.replace("stages:\n", entry + "stages:\n", 1))
    assert any(p.startswith("flow.yaml:14:") and "cannot read the case" in p for p in problems), problems


def test_a_task_done_when_taken_is_a_confirm_task_that_asks_nothing() -> None:
    """«✋ Взять» as the whole task (a lead put in work): only for a confirm task without fields; its one button and
    its card's result say so."""
    taking = "        escalate_to: [boss]\n        done_when_taken: true\n"
    approve = GOOD.replace("        escalate_to: [boss]\n", taking)
    assert any("'done_when_taken' belongs to a confirm task" in p for p in problems_of(approve)), problems_of(approve)
    confirm = approve.replace("kind: approve", "kind: confirm").replace("approve_it == 'reject'", "amount > 1000")
    taken = parse_definition(confirm, "flow.yaml").spec.stage("review").tasks[0]
    assert taken.done_when_taken
    assert {k: (o.label["ru"], (o.done or {})["ru"]) for k, o in taken.outcome_defs().items()} == {
        "done": ("✋ Взять в работу", "✋ Взято в работу")}
    asking = confirm.replace(taking, taking + "        fields: [due_date]\n")
    assert any("'done_when_taken' belongs to a confirm task" in p for p in problems_of(asking)), problems_of(asking)


def test_what_a_case_is_worth_is_a_money_field() -> None:
    """`amount:` names the field a director's digest adds up per process: a money field, or it is said."""
    worth = GOOD.replace("stages:\n", "amount: amount\nstages:\n", 1)
    assert parse_definition(worth, "flow.yaml").spec.amount == "amount"
    dated = GOOD.replace("stages:\n", "amount: due_date\nstages:\n", 1)
    assert any("flow.yaml:10" in p and "'due_date' is not a money field" in p for p in problems_of(dated)), (
        problems_of(dated))
    missing = GOOD.replace("stages:\n", "amount: total\nstages:\n", 1)
    assert any("'total' is not a money field" in p for p in problems_of(missing)), problems_of(missing)


def test_an_item_stages_notice_names_its_people_and_reads_the_item() -> None:
    """An item stage's `on_enter` tells the case's people or `item_workers` (who worked on the item), in words over
    `item`: a person it cannot name, or a field the entry lacks, is said at its line."""
    lines = (
        "  lines:\n    type: list\n    label: Lines\n"
        "    fields:\n      name: {type: text, label: Name}\n      why: {type: text, label: Why}\n"
        "    track:\n      stages:\n        - {key: open, title: Open, moves: [dropped]}\n"
        "        - key: dropped\n          title: Dropped\n          requires: [why]\n"
        "          on_enter:\n            - notify: [responsible, item_workers]\n"
        '              text: "{{ item.name }}: {{ item.why }}"\n'
    )
    source = GOOD.replace("stages:\n", lines + "stages:\n", 1)
    notice = parse_definition(source, "flow.yaml").spec.fields["lines"].track.stages[1].on_enter[0]  # type: ignore[union-attr]
    assert notice.notify == ["responsible", "item_workers"]
    problems = problems_of(source.replace("item_workers]", "item_worker]").replace("item.why", "item.reason"))
    assert any("unknown role 'item_worker'" in p and "item_workers" in p for p in problems), problems
    assert any("reason" in p for p in problems), problems


def test_a_stage_names_the_roles_that_cancel_the_case_there() -> None:
    """`cancel: {by: [...]}`: who cancels the case outright at the stage (the initiator's press asks them); a role
    the process does not have is said at its line."""
    source = GOOD.replace("    title: Review\n", "    title: Review\n    cancel: {by: [boss], once_sent: true}\n")
    rule = parse_definition(source, "flow.yaml").spec.stage("review").cancel
    assert rule is not None and rule.by == ["boss"] and rule.once_sent
    problems = problems_of(source.replace("by: [boss]", "by: [bos]"))
    assert any("unknown role 'bos'" in p for p in problems), problems


def test_a_bound_naming_what_the_process_lacks_is_refused_with_a_clear_error() -> None:
    """`at_most`/`at_least`: a number or an amount of the case; `konveyer check` says which bound is wrong and why,
    against its line: a field the process lacks, one that is no amount, the field itself, an expression the person
    would be told nothing of (no label), a bound on a date."""
    fields = """\
  amount: {type: money, label: Amount, at_most: budgett}
  budget: {type: money, label: Budget, required: false, at_least: note}
  note: {type: text, label: Note, required: false}
  fee: {type: money, label: Fee, required: false, at_most: "fee * 2"}
  rate: {type: number, label: Rate, required: false, at_most: "budget / 100"}
  due_date: {type: date, label: Due, required: false}
"""
    source = GOOD.replace(
        "  amount: {type: money, label: Amount}\n  due_date: {type: date, label: Due, required: false}\n", fields
    )
    said = problems_of(source)
    assert said == [
        "flow.yaml:8: 'budgett': this process has no field or task 'budgett'; did you mean 'budget'?",
        "flow.yaml:9: 'at_least: note' is a text, not a number or an amount",
        "flow.yaml:11: 'at_most' of 'fee' cannot be worked out of the field itself",
        "flow.yaml:12: 'at_most: budget / 100' needs a 'label': how the person is told what the bound is",
    ], said
    (said,) = problems_of(GOOD.replace("due_date: {type: date,", "due_date: {type: date, at_most: amount,"))
    assert "'at_least' and 'at_most' belong to a number or money field" in said, said
    labelled = source.replace("budgett", "budget").replace("at_least: note", "at_least: amount").replace(
        '"budget / 100"', '{value: "budget / 100", label: a hundredth of the budget}'
    ).replace('"fee * 2"', "budget")
    assert parse_definition(labelled, "flow.yaml").spec.fields["rate"].at_most is not None


def test_a_field_named_like_a_function_is_still_a_field_its_conditions_read() -> None:
    """A process may call a field `total` (order_request's positions do) though conditions have `total()`: a
    field asked on a condition over itself is refused by its name all the same."""
    source = GOOD.replace(
        "  amount: {type: money, label: Amount}\n",
        "  amount: {type: money, label: Amount}\n"
        '  total: {type: money, label: Total, required: false, ask_if: "total > 0"}\n',
    )
    said = problems_of(source)
    assert said == ["flow.yaml:9: 'total' cannot be asked on a condition over itself"], said
