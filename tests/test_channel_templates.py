"""The templates of notifications: every shipped default renders for its kind; an admin's template with a
syntax error, an unknown variable or a filter that does not exist is refused with what is wrong; templates
run sandboxed, and an e-mail's HTML escapes what people wrote."""

from __future__ import annotations

import re

import pytest

from flows.values import utf16_length
from services import channels, tg_html
from services.outbox import MAX_TEXT


@pytest.mark.parametrize("shipped", [channels.DEFAULTS, channels.DEFAULTS_EN], ids=["ru", "en"])
@pytest.mark.parametrize("kind", channels.KINDS)
def test_every_default_template_renders_for_its_kind(kind: str, shipped: dict[str, dict[str, str]]) -> None:
    variables = {name: f"<{name}>" for name in channels.VARIABLES[kind]}
    variables["text"] = "Первая строка\nВторая <b>строка</b>"
    for part in channels.ALL_PARTS:
        source = shipped[kind][part]
        channels.check(kind, part, source)
        rendered = channels.render(source, part, variables)
        assert rendered.strip()
        # An English reader's e-mail and SMS: the words around the bot's own are English, never «Дело №».
        assert shipped is channels.DEFAULTS or not re.search("[А-Яа-яЁё№«»]", source), source
    html = channels.render(shipped[kind]["html"], "html", variables)
    assert "<p>Вторая &lt;b&gt;строка&lt;/b&gt;</p>" in html  # people's words are escaped, lines kept


@pytest.mark.parametrize(
    ("kind", "source", "said"),
    [
        ("reminder", "{{ task }", "line 1: unexpected '}'"),
        ("reminder", "Срок {{ due }}\n{% if %}", "line 2"),
        ("digest", "{{ task }}", "unknown variable(s): task; this kind has: person, organisation, text"),
        ("stage_change", "{{ stage|shout }}", "No filter named 'shout'"),
        ("notify", "{{ text.__class__.__mro__ }}", "SecurityError"),
        ("notify", "   ", "empty"),
    ],
)
def test_a_wrong_template_is_refused_with_what_is_wrong(kind: str, source: str, said: str) -> None:
    with pytest.raises(channels.TemplateProblem) as problem:
        channels.check(kind, "sms", source)
    assert said in str(problem.value)


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("<b>{{ task }}", "<b> is never closed"),
        ("<b><i>{{ task }}</b></i>", "</b> comes where </i> should"),
        ("{{ task }}</u>", "</u> closes a tag that was never opened"),
        ("<font>{{ task }}</font>", "Telegram does not know the tag <font>"),
        ("{{ task }} < {{ due }}", "write &lt; for the sign"),
        ('<a name="x">{{ task }}</a>', "needs its address"),
        ("<span>{{ task }}</span>", "only as a spoiler"),
        ("{{ text|safe }}", "“safe” is not allowed"),
        ("{% if false %}{{ task }}{% endif %}", "empty message"),
        ("x" * 3001, "at most 3000 characters"),
    ],
)
def test_a_telegram_template_telegram_would_refuse_is_refused(source: str, said: str) -> None:
    for part in channels.PARTS[channels.TELEGRAM]:
        with pytest.raises(channels.TemplateProblem) as problem:
            channels.check("reminder", part, source)
        assert said in str(problem.value)


def test_a_telegram_template_escapes_what_people_wrote_and_keeps_its_own_html() -> None:
    source = '<b>{{ task }}</b> <a href="https://example.com/?a=1&amp;b=2">↗</a>\n{{ text }}'
    channels.check("reminder", "telegram_ru", source)
    shown = channels.render(source, "telegram_ru", {"task": "<i>Счёт</i> & co", "text": "a < b"})
    assert shown == '<b>&lt;i&gt;Счёт&lt;/i&gt; &amp; co</b> <a href="https://example.com/?a=1&amp;b=2">↗</a>\na &lt; b'
    assert tg_html.problem(shown) is None
    # The shipped Telegram template is the bot's own wording, whatever the language.
    assert channels.telegram_part("en") == "telegram_en" and channels.telegram_part(None) == "telegram_ru"
    assert all(channels.DEFAULTS[kind]["telegram_ru"] == "{{ text }}" for kind in channels.KINDS)


def test_the_problems_are_told_in_the_panels_language() -> None:
    with pytest.raises(channels.TemplateProblem) as problem:
        channels.check("reminder", "telegram_ru", "<b>{{ task }}")
    words = {
        "Telegram would refuse it: %(problem)s": "Не примет: %(problem)s",
        "<%(tag)s> is never closed": "<%(tag)s> открыт",
    }
    assert problem.value.translated(lambda m, **p: words[m] % p) == "Не примет: <b> открыт"


def test_a_long_html_message_is_cut_with_its_tags_closed_and_opened_again() -> None:
    line = "<b>Позиция</b> <i>" + "слово &amp; " * 30 + "</i>"
    text = "<blockquote>" + "\n".join(f"{n}. {line}" for n in range(40)) + "</blockquote>"
    assert utf16_length(text) > MAX_TEXT
    parts = tg_html.split(text, MAX_TEXT)
    assert len(parts) > 1
    for part in parts:
        assert utf16_length(part) <= MAX_TEXT and tg_html.problem(part) is None
        assert part.startswith("<blockquote>") and part.endswith("</blockquote>")
    visible = "".join(re.sub(r"<[^>]+>", "", part) for part in parts)
    assert visible.replace("\n", "") == re.sub(r"<[^>]+>", "", text).replace("\n", "")
    # A single line longer than a message is cut between words, never inside an entity.
    long = "<b>" + "&amp;" * 2000 + " " + "я" * 5000 + "</b>"
    parts = tg_html.split(long, MAX_TEXT)
    assert all(utf16_length(p) <= MAX_TEXT and tg_html.problem(p) is None for p in parts)
    assert all(not re.search(r"&[a-z]*$", re.sub(r"</?b>", "", p)) for p in parts)
    assert "".join(re.sub(r"</?b>", "", p) for p in parts) == "&amp;" * 2000 + " " + "я" * 5000
