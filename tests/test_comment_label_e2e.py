"""An outcome's comment is asked by the name its definition gives it (`comment_label`): the reviewer who sends a
report back is asked «Что исправить», and the summary he confirms says so; an outcome of the definition's own that
names none is asked for a plain comment, even one whose button reads as the approval's «Отклонить» — only the
approval's own rejection asks for «Причина отказа» (`tests/test_form_answers_e2e.py` and others), by its option,
not by a guess from the button's words."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from flows.effects import TaskState
from flows.form_shape import form_shape
from flows.loader import parse_definition
from tests.conftest import Harness, library_with
from tests.panel_pages import case_fields

DATA = Path(__file__).parent / "data"


async def test_a_report_sent_back_asks_what_to_fix_and_a_head_turning_it_down_is_asked_for_a_comment(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(library_dir=library_with(tmp_path, "report_review.yaml"))
    author = await harness.person("Автор Ирина", "author")
    reviewer = await harness.person("Проверяющий Павел", "reviewer")
    head = await harness.person("Head Helen", "head", language="en")

    await author.send("▶️ Начать процесс")
    await author.press("Проверка отчёта", await author.expect("Какой процесс"))
    await author.expect("Отчёт")
    await author.send("Продажи за квартал: 12 сделок")
    await author.press("Подтвердить", await author.expect("Проверьте"))

    # The reviewer sends it back: asked what to fix, by the outcome's own words, and confirms it as that.
    await reviewer.press("Вернуть на доработку", await reviewer.card("Проверьте отчёт", button="Вернуть"))
    question = await reviewer.expect("Что исправить")
    assert "Комментарий" not in question["text"], question["text"]
    await reviewer.send("Добавьте цифры за март")
    summary = await reviewer.expect("Проверьте")
    assert "Что исправить: Добавьте цифры за март" in summary["text"], summary["text"]
    await reviewer.press("Подтвердить", summary)
    task = await author.card("Исправьте отчёт", button="Готово")
    assert "Что исправить: Добавьте цифры за март" in task["text"], task["text"]
    await author.press("Готово", task)

    await reviewer.press("Согласовать", await reviewer.card("Проверьте отчёт", button="Согласовать"))

    # The head, reading English, turns it down by the definition's own «Reject»: a comment, not a reason for
    # rejection, and an optional one.
    await head.press("Reject", await head.card("Sign the report off", button="Reject"))
    question = await head.expect("Comment")
    assert "Reason for rejection" not in question["text"], question["text"]
    assert "Skip" in " ".join(head.buttons(question)), head.buttons(question)
    await head.send("Numbers do not add up")
    summary = await head.expect("Please check")
    assert "Comment: Numbers do not add up" in summary["text"], summary["text"]
    await head.press("Confirm", summary)
    await author.expect("Отчёт отклонён")

    # The panel's history says each comment by the name it was asked with, in the panel's language.
    history = await case_fields(harness, 1, "ru", start='id="history"', until="</ul>")
    assert "(Возвращено на доработку); Что исправить: Добавьте цифры за март" in history, history
    assert "(Отклонено); Комментарий: Numbers do not add up" in history, history
    english = await case_fields(harness, 1, "en", start='id="history"', until="</ul>")
    assert "(Sent back for rework); What to fix: Добавьте цифры за март" in english, english


def test_the_approvals_own_rejection_asks_its_reason_in_each_language() -> None:
    """`approve`'s own «Отклонить» carries «Причина отказа» / «Reason for rejection» as its `comment_label`; the
    reviewer's «Вернуть на доработку» its «Что исправить»; the head's own «Отклонить» none, so «Комментарий»."""
    spec = parse_definition((DATA / "report_review.yaml").read_text(encoding="utf-8"), "report_review.yaml").spec

    def asked(stage: str, key: str, outcome: str) -> object:
        fields, names = form_shape(spec, TaskState(key=key, stage=stage, visit=1, kind="approve"), outcome)
        assert names[-1] == f"{key}_comment", names
        return fields[f"{key}_comment"].label

    assert asked("review", "check_report", "reject") == {"ru": "Причина отказа", "en": "Reason for rejection"}
    assert asked("review", "check_report", "rework") == {"ru": "Что исправить", "en": "What to fix"}
    assert asked("sign_off", "head_approval", "reject") == {"ru": "Комментарий", "en": "Comment"}
