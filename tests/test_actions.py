"""Actions are a discriminated union: the YAML key names the kind, each kind yields its own effects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from flows.model import (
    ACTION_CLASSES,
    Action,
    CompanyAction,
    EmailAction,
    NotifyAction,
    NotifyCasesAction,
    RenderAction,
    ReportAction,
    SetAction,
    StartAction,
)
from flows.runtime import BuildReport, Notify, NotifyCases, Render, SendEmail, StartCase, UpdateCompany

LIBRARY = Path(__file__).resolve().parent.parent / "flows" / "library"
ACTIONS: TypeAdapter[Any] = TypeAdapter(Action)


class FakeCase:
    """The `ActionContext` an action runs against, without an engine."""

    def __init__(self, data: dict[str, Any], refs: dict[str, Any] | None = None) -> None:
        self.data = data
        self.refs = refs or {}
        self.starter_id = 5

    def template_context(self) -> dict[str, Any]:
        return dict(self.data)

    def people(self, refs: list[str]) -> tuple[tuple[str, ...], tuple[int, ...]]:
        return tuple(r for r in refs if r != "initiator"), (1,) if "initiator" in refs else ()


@pytest.mark.parametrize(
    ("raw", "cls"),
    [
        ({"notify": ["boss"], "text": "hi"}, NotifyAction),
        ({"render": {"template": "a.docx", "to": "doc"}}, RenderAction),
        ({"set": {"x": 1}}, SetAction),
        ({"start": {"process": "p"}}, StartAction),
        ({"company": {"field": "client", "set": {"signed": True}}}, CompanyAction),
        ({"report": {"process": "p", "columns": [], "to": "f", "title": "T"}}, ReportAction),
        ({"notify_cases": {"process": "p", "text": "t"}}, NotifyCasesAction),
        ({"email": {"to": "a@b", "subject": "s", "text": "t"}}, EmailAction),
    ],
)
def test_the_key_present_chooses_the_kind(raw: dict[str, Any], cls: type) -> None:
    action = ACTIONS.validate_python({**raw, "when": "x == 1"})
    assert type(action) is cls and action.when == "x == 1"
    # A spec already built validates as itself (the tag is read from the instance).
    assert ACTIONS.validate_python(action) is action


def test_every_kind_is_in_the_union() -> None:
    kinds = [cls.kind for cls in ACTION_CLASSES]
    assert len(set(kinds)) == len(kinds) == 8


@pytest.mark.parametrize(
    "raw", [{"notify": ["a"], "text": "t", "set": {"x": 1}}, {"when": "x"}, {"text": "t"}, "notify", None]
)
def test_zero_or_two_kinds_is_one_clear_error(raw: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        ACTIONS.validate_python(raw)
    (error,) = caught.value.errors()
    assert error["type"] == "action_kind" and "exactly one of notify, render" in error["msg"]


def test_a_member_of_another_kind_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        ACTIONS.validate_python({"set": {"x": 1}, "text": "t"})  # `text` belongs to notify
    assert caught.value.errors()[0]["type"] == "extra_forbidden"


def test_every_action_of_the_library_loads_as_its_own_kind() -> None:
    seen: set[str] = set()
    for path in sorted(LIBRARY.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        for stage in raw["stages"]:
            for item in stage.get("on_enter", []):
                action = ACTIONS.validate_python(item)
                assert action.kind in item
                # Nothing is lost between the YAML and the spec.
                assert action.model_dump(exclude_defaults=True) == item
                seen.add(action.kind)
    assert {"notify", "render", "start", "report", "notify_cases", "email", "company"} <= seen


def test_each_kind_yields_its_own_effects() -> None:
    case = FakeCase({"client": {"id": 9, "name": "Ромашка"}, "note": "срочно", "email": "a@b.example", "n": 2})
    case.refs["client"] = {"id": 9, "signed": False}

    (note,) = ACTIONS.validate_python({"notify": ["boss", "initiator"], "text": "t", "attach": ["f"]}).effects(case)
    assert note == Notify(kind="text", roles=("boss",), user_ids=(1,), text="t", attach=("f",))

    (rendered,) = ACTIONS.validate_python(
        {"render": {"template": "{{ note }}.docx", "to": "doc", "name": "Акт {{ n }}"}}
    ).effects(case)
    assert rendered == Render(template="срочно.docx", to="doc", name="Акт 2")

    assert ACTIONS.validate_python({"set": {"n": 3}}).effects(case) == []
    assert case.data["n"] == 3

    (started,) = ACTIONS.validate_python(
        {"start": {"process": "other", "carry": ["note"], "map": {"count": "n"}}}
    ).effects(case)
    assert started == StartCase("other", {"note": "срочно", "count": 3}, 5)

    (company,) = ACTIONS.validate_python({"company": {"field": "client", "set": {"signed": True}}}).effects(case)
    assert company == UpdateCompany(9, {"signed": True})
    assert case.refs["client"]["signed"] is True  # later templates of the step see it

    report = ACTIONS.validate_python({"report": {"process": "p", "columns": [], "to": "f", "title": "T"}})
    assert report.effects(case) == [BuildReport(report.report)]
    notice = ACTIONS.validate_python({"notify_cases": {"process": "p", "text": "t"}})
    assert notice.effects(case) == [NotifyCases(notice.notify_cases)]

    (mail,) = ACTIONS.validate_python(
        {"email": {"to": " {{ email }} ", "subject": "Дело\n{{ n }}", "text": "{{ note }}", "attach": ["f"]}}
    ).effects(case)
    assert mail == SendEmail(to="a@b.example", subject="Дело 3", body="срочно", attach=("f",))


def test_a_company_action_without_a_company_does_nothing() -> None:
    action = ACTIONS.validate_python({"company": {"field": "client", "set": {"signed": True}}})
    assert action.effects(FakeCase({"client": None})) == []
