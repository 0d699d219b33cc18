"""The type checker: each mistake that used to pass the check and fail at run time (issue 9) is caught with
`file:line` and words an admin understands, in Russian or English; the library still passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from flows.loader import DefinitionError, Problem, check_paths, parse_definition

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "flows" / "library"

PURCHASE = """\
process: purchase
title: Закупка
roles: [clerk, head, cfo]
start:
  roles: [clerk]
  form: [item, amount, needed_by, supplier]
  title: "{{ item }} — {{ amount|money }}"
directories:
  suppliers:
    - {key: alpha, name: Альфа, email: a@alpha.example}
fields:
  item: {type: text, label: Что купить}
  amount: {type: money, label: Сумма}
  needed_by: {type: date, label: Нужно к}
  supplier: {type: directory, directory: suppliers, label: Поставщик}
  urgency: {type: choice, label: Срочность, options: {low: Низкая, high: Высокая}, required: false}
  items:
    type: list
    label: Позиции
    required: false
    fields:
      name: {type: text, label: Название}
      price: {type: money, label: Цена}
stages:
  - key: head
    title: Руководитель
    tasks:
      - key: head_approval
        kind: approve
        assignee: head
        title: "Согласуйте {{ item }} на {{ amount|money }} ({{ supplier.email }}, {{ urgency.label }})"
        text: "{% for it in items %}{{ it.name }}: {{ it.price|money }}{% endfor %} до {{ needed_by|date }}"
    next:
      - {to: rejected, when: "head_approval == 'reject'"}
      - {to: cfo, when: "amount > 100000 and needed_by >= today"}
      - {to: approved}
  - key: cfo
    title: Финансовый директор
    tasks:
      - {key: cfo_approval, kind: approve, assignee: cfo, title: Согласуйте}
    next:
      - {to: rejected, when: "cfo_approval == 'reject'"}
      - {to: approved}
  - key: approved
    title: Согласовано
    final: true
    result: success
    on_enter:
      - notify: [initiator]
        text: "Согласовано: {{ item }}, {{ head_approval.label }}"
      - start: {process: payment, carry: [item], map: {sum: amount}}
  - key: rejected
    title: Отклонено
    final: true
    result: failure
"""

PAYMENT = """\
process: payment
title: Оплата
roles: [clerk]
start: {roles: [clerk]}
fields:
  item: {type: text, label: Что}
  sum: {type: number, label: Сумма}
  count: {type: number, label: Количество, required: false}
stages:
  - key: pay
    title: Оплатить
    next:
      - {to: big, when: "sum > 1000"}
      - {to: small}
  - {key: big, title: Крупная, final: true}
  - {key: small, title: Мелкая, final: true}
"""


def line_of(source: str, snippet: str) -> int:
    """The 1-based line of the first line containing `snippet` (the line the checker must point at)."""
    for number, line in enumerate(source.splitlines(), start=1):
        if snippet in line:
            return number
    raise AssertionError(f"{snippet!r} is not in the source")


def problems_of(source: str, file: str = "flow.yaml") -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, file)
    return caught.value.problems


def library_problems(tmp_path: Path, **sources: str) -> list[Problem]:
    for name, source in sources.items():
        (tmp_path / f"{name}.yaml").write_text(source, encoding="utf-8")
    return check_paths([tmp_path])


def assert_one(problems: list[Problem], file: str, line: int, *words: str) -> Problem:
    matching = [p for p in problems if p.file.endswith(file) and p.line == line]
    assert matching, f"no problem at {file}:{line}; got {[str(p) for p in problems]}"
    for word in words:
        assert any(word in p.message for p in matching), f"{word!r} not in {[str(p) for p in matching]}"
    return matching[0]


def test_the_good_definitions_and_the_library_pass(tmp_path: Path) -> None:
    parse_definition(PURCHASE, "purchase.yaml")
    assert library_problems(tmp_path, purchase=PURCHASE, payment=PAYMENT) == []
    assert check_paths([LIBRARY]) == []


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        # the bug of the issue, the other way round: money against a text never compares
        ("amount > 100000 and", "amount > '100000' and", ("an amount of money", "a text", "by size")),
        ("amount > 100000 and", "amount == 'много' and", ("never equal",)),
        ("needed_by >= today", "needed_by >= 5", ("a date", "a number")),
        ("needed_by >= today", "needed_by >= item", ("a date", "a text")),
        ("amount > 100000 and", "amount + item > 1 and", ("cannot be combined",)),
        ("amount > 100000 and", "len(amount) > 1 and", ("len() cannot take",)),
    ],
)
def test_comparing_values_of_incompatible_types(old: str, new: str, words: tuple[str, ...]) -> None:
    source = PURCHASE.replace(old, new)
    assert_one(problems_of(source), "flow.yaml", line_of(source, new), *words)


def test_comparing_an_outcome_with_a_value_it_never_has() -> None:
    source = PURCHASE.replace("cfo_approval == 'reject'", "cfo_approval == 'rejected'")
    problem = assert_one(problems_of(source), "flow.yaml", line_of(source, "'rejected'"), "never 'rejected'")
    assert "approve, reject" in problem.message
    source = PURCHASE.replace("cfo_approval == 'reject'", "urgency in ['low', 'hihg']")
    assert_one(problems_of(source), "flow.yaml", line_of(source, "'hihg'"), "never 'hihg'")
    source = PURCHASE.replace("cfo_approval == 'reject'", "supplier == 'beta'")
    assert_one(problems_of(source), "flow.yaml", line_of(source, "'beta'"), "never 'beta'", "alpha")


def test_unknown_names_in_conditions_and_templates() -> None:
    source = PURCHASE.replace("amount > 100000", "amout > 100000")
    assert_one(problems_of(source), "flow.yaml", line_of(source, "amout"), "'amout'", "did you mean 'amount'")
    source = PURCHASE.replace("Согласовано: {{ item }}", "Согласовано: {{ itme }}")
    assert_one(problems_of(source), "flow.yaml", line_of(source, 'text: "Согласовано'), "'itme'")
    source = PURCHASE.replace("{{ it.price|money }}", "{{ it.cost|money }}")
    assert_one(problems_of(source), "flow.yaml", line_of(source, "it.cost"), "no 'cost'", "name, price")
    source = PURCHASE.replace("{{ urgency.label }}", "{{ urgency.title }}")
    assert_one(problems_of(source), "flow.yaml", line_of(source, "urgency.title"), "no 'title'")
    source = PURCHASE.replace("{{ supplier.email }}", "{{ supplier.phone }}")
    assert_one(problems_of(source), "flow.yaml", line_of(source, "supplier.phone"), "no 'phone'", "email")


def test_an_unknown_template_filter() -> None:
    source = PURCHASE.replace('"{{ item }} — {{ amount|money }}"', '"{{ item }} — {{ amount|rubles }}"')
    assert_one(problems_of(source), "flow.yaml", line_of(source, "rubles"), "unknown filter 'rubles'")


def test_a_map_or_carry_between_types_that_do_not_match(tmp_path: Path) -> None:
    # money -> number is fine (the good pair above passes); text -> number is not.
    source = PURCHASE.replace("map: {sum: amount}", "map: {sum: item}")
    problems = library_problems(tmp_path, purchase=source, payment=PAYMENT)
    assert_one(problems, "purchase.yaml", line_of(source, "map: {sum: item}"), "'item' (a text)", "'sum'")
    # carried by name: a field of the same name with another type
    payment = PAYMENT.replace("item: {type: text, label: Что}", "item: {type: date, label: Что}")
    problems = library_problems(tmp_path, purchase=PURCHASE, payment=payment)
    assert_one(problems, "purchase.yaml", line_of(PURCHASE, "start: {process: payment"), "'item'", "a date")
    # a choice handed to a choice that lacks one of its options
    source = PURCHASE.replace("map: {sum: amount}", "map: {sum: amount, level: urgency}")
    payment = PAYMENT.replace(
        "  count: {type", "  level: {type: choice, label: L, options: {low: Low}, required: false}\n  count: {type"
    )
    problems = library_problems(tmp_path, purchase=source, payment=payment)
    assert_one(problems, "purchase.yaml", line_of(source, "level: urgency"), "high")


def test_a_start_of_a_process_that_does_not_exist(tmp_path: Path) -> None:
    problems = library_problems(tmp_path, purchase=PURCHASE)  # no payment.yaml in the folder
    assert_one(problems, "purchase.yaml", line_of(PURCHASE, "process: payment"), "unknown process 'payment'")
    # A file sent alone is checked against the processes already loaded (names, or their definitions).
    with pytest.raises(DefinitionError) as caught:
        parse_definition(PURCHASE, "purchase.yaml", known={"defect_return": None})
    assert_one(caught.value.problems, "purchase.yaml", line_of(PURCHASE, "process: payment"), "'payment'")
    assert parse_definition(PURCHASE, "purchase.yaml", known={"payment": None}).key == "purchase"
    payment = parse_definition(PAYMENT, "payment.yaml").spec
    source = PURCHASE.replace("map: {sum: amount}", "map: {total: amount}")
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "purchase.yaml", known={"payment": payment})
    assert_one(caught.value.problems, "purchase.yaml", line_of(source, "total: amount"), "no field 'total'")
    # and by `konveyer check` with known processes
    (tmp_path / "purchase.yaml").write_text(PURCHASE, encoding="utf-8")
    assert check_paths([tmp_path / "purchase.yaml"], known={"payment": payment}) == []
    assert check_paths([tmp_path / "purchase.yaml"], known={})[0].message.startswith("unknown process 'payment'")


def test_a_stage_that_cannot_reach_a_final_stage() -> None:
    source = PURCHASE.replace(
        """      - {to: rejected, when: "cfo_approval == 'reject'"}
      - {to: approved}""",
        """      - {to: cfo}""",
    )
    problem = assert_one(problems_of(source), "flow.yaml", line_of(source, "key: cfo"), "'cfo'", "final stage")
    assert "could never end" in problem.message


def test_wait_and_due_must_read_date_fields() -> None:
    source = PURCHASE.replace("assignee: cfo, title:", "assignee: cfo, due: 2 working days from amount, title:")
    assert_one(problems_of(source), "flow.yaml", line_of(source, "from amount"), "'amount'", "not a date field")


def test_report_columns_and_totals_are_checked_against_the_other_process(tmp_path: Path) -> None:
    source = PURCHASE.replace(
        "      - notify: [initiator]",
        "      - report: {process: payment, columns: [{field: summ, label: S}], totals: [item], to: file, title: R}\n"
        "      - notify: [initiator]",
    ).replace("  items:\n", "  file: {type: document, label: F, required: false}\n  items:\n")
    problems = library_problems(tmp_path, purchase=source, payment=PAYMENT)
    line = line_of(source, "report: {process")
    assert_one(problems, "purchase.yaml", line, "no field 'summ'")
    assert_one(problems, "purchase.yaml", line, "'item' is not a number or money field")


def test_a_total_kept_in_a_field_sums_a_figure_into_a_figure(tmp_path: Path) -> None:
    """`totals_to` keeps a sum of the reported cases in a field of this case (a production head's kilos): the sum is
    of a number or money field of theirs, kept in a number or money field of this one — not a text summed, nor a sum
    kept in a date."""
    source = PURCHASE.replace(
        "      - notify: [initiator]",
        "      - report: {process: payment, columns: [{field: sum, label: S}],"
        " totals_to: {item: amount, sum: needed_by}, to: file, title: R}\n"
        "      - notify: [initiator]",
    ).replace("  items:\n", "  file: {type: document, label: F, required: false}\n  items:\n")
    line = line_of(source, "report: {process")
    kept_in_a_date = library_problems(tmp_path, purchase=source, payment=PAYMENT)
    assert_one(kept_in_a_date, "purchase.yaml", line, "'needed_by' is not a money or number field")
    a_text_summed = source.replace("totals_to: {item: amount, sum: needed_by}", "totals_to: {item: amount}")
    problems = library_problems(tmp_path, purchase=a_text_summed, payment=PAYMENT)
    assert_one(problems, "purchase.yaml", line, "'item' is not a number or money field of process 'payment'")
    fine = source.replace("totals_to: {item: amount, sum: needed_by}", "totals_to: {sum: amount}")
    assert library_problems(tmp_path, purchase=fine, payment=PAYMENT) == []


@pytest.mark.parametrize(
    ("broken", "words"),
    [
        ("  item: {type: text, label: Что: купить}", "quotes"),
        ("  item: {type: text, label: Что купить", "close every"),
        ("    title: Руководитель\n   tasks:", "indentation"),
        ('  item: {type: text, label: "Что\\q"}', "backslash"),
        ("  item: {type: text, label: [Что, купить}", "not closed"),
        ("  item:\t{type: text, label: Что}", "tabs"),
    ],
)
def test_yaml_syntax_errors_point_at_the_line_in_plain_words(broken: str, words: str) -> None:
    original = broken.splitlines()[-1].strip().split(":")[0]
    target = next(line for line in PURCHASE.splitlines() if line.strip().startswith(original + ":"))
    source = PURCHASE.replace(target if "\n" not in broken else "    title: Руководитель\n    tasks:", broken, 1)
    (problem,) = problems_of(source)
    assert problem.message.startswith("not valid YAML: ") and words in problem.message
    # the line of the mistake, or the one just after it where the parser noticed
    assert line_of(source, broken.splitlines()[-1]) <= problem.line <= line_of(source, broken.splitlines()[-1]) + 1


def test_messages_are_in_the_admins_language() -> None:
    with (ROOT / "services" / "locales" / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="ru")

    def russian(msgid: str) -> str:
        message = catalog.get(msgid)
        return str(message.string) if message is not None and message.string else msgid

    source = PURCHASE.replace("cfo_approval == 'reject'", "cfo_approval == 'rejected'").replace(
        "needed_by >= today", "needed_by >= 5"
    )
    texts = [p.translated(russian) for p in problems_of(source)]
    assert any("никогда не бывает 'rejected'" in t for t in texts), texts
    assert any("дата" in t and "число" in t for t in texts), texts  # type names are translated too
    assert all(t.startswith("flow.yaml:") for t in texts)
    assert [p.translated(lambda m: m) for p in problems_of(source)] == [str(p) for p in problems_of(source)]
    (yaml_problem,) = problems_of(PURCHASE.replace("label: Что купить}", "label: Что: купить}"))
    assert "ошибка в YAML: внутри { … } ожидалась запятая" in yaml_problem.translated(russian)
    (shape,) = problems_of(PURCHASE.replace("options: {low: Низкая, high: Высокая}", "label2: x"))
    assert "неизвестный ключ «label2»" in shape.translated(russian)
    # A value of the wrong shape is named where the YAML has it (a stage by its key) and said in the admin's words,
    # not in pydantic's English with its internal path.
    for broken, said in (
        (("      - key: head_approval\n        kind: approve", "      - key: head_approval\n        kind: approval"),
         "flow.yaml:29: stages → head → tasks → head_approval → kind: допустимо одно из: form, approve, choice, "
         "confirm"),
        (("required: false}", "required: maybe}"), "flow.yaml:16: fields → urgency → required: нужно true или false"),
        (("roles: [clerk, head, cfo]", "roles: clerk"), "flow.yaml:3: roles: нужен список, например [a, b]"),
    ):
        (wrong,) = problems_of(PURCHASE.replace(*broken))
        assert wrong.translated(russian) == said, wrong.translated(russian)
        assert "Input should" not in str(wrong) and ".0." not in str(wrong), wrong
    # A text Jinja cannot read is said in the admin's words, not in Jinja's English.
    for broken, said in (
        ("{{ item ", "{{ или {% не закрыты"),
        ("{{ item name }}", "больше одного имени"),
        ("{% if item %}x", "{% if %} не закрыт"),
        ("{% blah %}", "неизвестный {% … %}"),
    ):
        (unread,) = problems_of(PURCHASE.replace('"{{ item }} — {{ amount|money }}"', f'"{broken}"'))
        text = unread.translated(russian)
        assert said in text and "текст не читается" in text and "expected" not in text, text


def test_every_checker_message_has_a_russian_translation() -> None:
    with (ROOT / "services" / "locales" / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="ru")
    missing: list[str] = []
    for module in ("typecheck.py", "loader.py", "model.py", "values.py", "forms.py"):
        text = (ROOT / "flows" / module).read_text(encoding="utf-8")
        for msgid in re.findall(r'\b_\(\s*"((?:[^"\\]|\\.)*)"\s*\)', text):
            msgid = msgid.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
            message = catalog.get(msgid)
            if message is None or not message.string:
                missing.append(f"{module}: {msgid}")
    assert missing == []


@pytest.mark.parametrize("limit", [".inf", "-.inf", ".nan"])
def test_number_limits_are_finite(limit: str) -> None:
    source = PURCHASE.replace(
        "  amount: {type: money, label: Сумма}", f"  amount: {{type: money, label: Сумма, max: {limit}}}"
    )
    assert_one(problems_of(source), "flow.yaml", line_of(source, "max: "), "must be numbers")


def test_a_template_that_cannot_be_read() -> None:
    source = PURCHASE.replace('"{{ item }} — {{ amount|money }}"', '"{{ item }} — {% for x in %}"')
    problem = assert_one(problems_of(source), "flow.yaml", line_of(source, "{% for x in %}"), "cannot be read")
    assert "line 1 of the text" in problem.message



def test_a_line_ending_with_a_tag_would_run_into_the_next() -> None:
    """`{% endif %}` at the end of a line that says something eats the line's break: the warehouse's «Правки
    клиента: …» and «Нажмите «Начать работу»…» came as one line. A tag alone on its line is fine."""
    text = '"{% for it in items %}{{ it.name }}: {{ it.price|money }}{% endfor %} до {{ needed_by|date }}"'
    glued = "|\n          {% if urgency %}Срочно: {{ urgency.label }}{% endif %}\n          Проверьте цену."
    source = PURCHASE.replace(text, glued)
    problem = assert_one(problems_of(source), "flow.yaml", line_of(source, "text: |"), "“{% endif %}” ends line 1")
    with (ROOT / "services" / "locales" / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="ru")
    said = problem.translated(lambda msgid: str(catalog[msgid].string) if catalog.get(msgid) else msgid)
    assert "строка 2 текста продолжает строку 1 без переноса" in said, said
    cut = "\n          "
    apart = glued.replace("{% if urgency %}", "{% if urgency %}" + cut).replace("{% endif %}", cut + "{% endif %}")
    parse_definition(PURCHASE.replace(text, apart), "flow.yaml")


def test_a_field_of_every_entry_is_checked_as_the_entrys_field(tmp_path: Path) -> None:
    """`each(items, 'payment_method')` (seed 5's payment terms, asked per way the items are paid) is read as a list
    of the entries' field: a field they lack, a value the choice never has and a list that is not one are said."""
    medical = (LIBRARY / "medical_order.yaml").read_text(encoding="utf-8")
    qualification = (LIBRARY / "medical_qualification.yaml").read_text(encoding="utf-8")
    condition = "'deferred' in each(items, 'payment_method')"
    assert condition in medical
    for wrong, words in (
        ("'deferred' in each(items, 'payment_metod')", ("no field 'payment_metod'", "payment_method")),
        ("'postponed' in each(items, 'payment_method')", ("never 'postponed'", "deferred, letter_of_credit")),
        ("'deferred' in each(client, 'payment_method')", ("each() cannot take a text",)),
        ("'deferred' in each(items, payment_method)", ("in quotes",)),
    ):
        found = library_problems(tmp_path, medical_order=medical.replace(condition, wrong),
                                 medical_qualification=qualification)  # fmt: skip
        assert found and all(any(w in p.message for p in found) for w in words), [str(p) for p in found]


def test_a_lists_total_line_is_read_as_any_text(tmp_path: Path) -> None:
    medical = (LIBRARY / "medical_order.yaml").read_text(encoding="utf-8")
    qualification = (LIBRARY / "medical_qualification.yaml").read_text(encoding="utf-8")
    line = "ru: \"Итого: {{ items|total('price', 'quantity')|money }} ₽"
    assert line in medical
    found = library_problems(tmp_path, medical_order=medical.replace(line, line.replace("|money", "|rubles")),
                             medical_qualification=qualification)  # fmt: skip
    assert any("rubles" in p.message for p in found), [str(p) for p in found]
    with pytest.raises(DefinitionError) as caught:
        parse_definition(medical.replace("  client: {type: text,", "  client: {type: text, total: Итого,"), "m.yaml")
    assert any("only a list field may have a 'total'" in p.message for p in caught.value.problems)
