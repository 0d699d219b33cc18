"""The templates of notifications: every shipped default renders for its kind; an admin's template with a
syntax error, an unknown variable or a filter that does not exist is refused with what is wrong; templates
run sandboxed, and an e-mail's HTML escapes what people wrote."""

from __future__ import annotations

import pytest

from services import channels


@pytest.mark.parametrize("kind", channels.KINDS)
def test_every_default_template_renders_for_its_kind(kind: str) -> None:
    variables = {name: f"<{name}>" for name in channels.VARIABLES[kind]}
    variables["text"] = "Первая строка\nВторая <b>строка</b>"
    for part in channels.ALL_PARTS:
        source = channels.DEFAULTS[kind][part]
        channels.check(kind, part, source)
        rendered = channels.render(source, part, variables)
        assert rendered.strip()
    html = channels.render(channels.DEFAULTS[kind]["html"], "html", variables)
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
