"""Answers a form's question offers as buttons beside its options, each a value the field takes now: a date's
«Сегодня» and «Завтра» (only where its rules take that day: `services.wording.hints`), the person's own full name
(`offer: own_name`), the working day a day off's refusal names. Typing still answers the question. A pressed offer
is worked out again (`offered_value`), so a day gone by is not taken for today, nor a name since changed for the
person's; a pressed day is checked as a typed one.

The form (`tgbot.form_base.FormBase`) asks the rest of what a question offers of `QuestionOffers`, made for the
question's case: the options of a choice, a directory, a yes/no or a role's people; the value a field's `default`
offers to keep; the file a person sent when nothing asked for one, offered at the next question for a file; and the
other answers a date's offers, rules and bounds are worked out from (`around`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from flows import forms
from flows import values as field_values
from flows.context import case_context
from flows.model import FieldDef, ProcessDef, local
from flows.templating import render
from services import access, kept_files
from services import people as people_repo
from services.wording.hints import Around
from services.wording.names import entry_name
from tgbot.callbacks import FormCb
from tgbot.render import Renderer

# The key of the button offering the person's own full name (`FieldDef.offer`): the name is read again when pressed.
OWN_NAME = "own_name"
# The key of a button offering what another item of the case has in the field asked (`QuestionOffers.same_as`),
# followed by that item's index: its value is read again when pressed.
SAME = "same_"
# The kinds of field an item's question offers another item's value of, and how many such buttons at most.
SAME_KINDS = frozenset({"text", "number", "date", "document"})
MAX_SAME = 3


def offers(r: Renderer, user: User, lang: str | None, step: forms.Step, around: Around | None) -> list[tuple[str, str]]:
    """The offers of `step`'s question as (key, label). `around`: the other fields a date's rules may name and their
    values now (`QuestionOffers.around`), given for a date."""
    fdef = step.field
    if fdef is None or step.is_more:
        return []
    if fdef.type == "date":
        assert around is not None, "a date's offers are the days its rules take, which `around` names"
        return [(day.isoformat(), label) for day, label in r.date_offers(fdef, lang, around)]
    if fdef.offer == OWN_NAME:
        name = _own_name(user, fdef)
        return [(OWN_NAME, name)] if name else []
    return []


def suggested_day(r: Renderer, day: date, lang: str | None) -> str:
    """The button of a day a refusal suggests instead of the one typed (the working day after a day off)."""
    return "📅 " + field_values.format_value("date", day, lang=r.tr.lang(lang))


def pressed_day(fdef: FieldDef, key: str) -> date | None:
    """The day a date question's button names (`suggested_day`'s, or an offer's gone by); None for another key."""
    if fdef.type != "date":
        return None
    try:
        return date.fromisoformat(key)
    except ValueError:
        return None


def offered_value(user: User, fdef: FieldDef, key: str) -> Any:
    """The value of an answer `offers` gave as a button, as the case stores it."""
    if fdef.type == "date":
        return field_values.to_json("date", date.fromisoformat(key))
    return _own_name(user, fdef)


def _own_name(user: User, fdef: FieldDef) -> str | None:
    """The person's name from their profile, where the field would take it: a first name alone is no full name."""
    name = " ".join((user.name or "").split())
    if not name:
        return None
    if fdef.full_name:
        try:
            return field_values.parse_full_name(name)
        except field_values.InvalidAnswer:
            return None
    return name


@dataclass(frozen=True)
class QuestionOffers:
    """What a person's form offers at a question of one case, in the language they read now. `data`: the case's
    values as the form reads them (an item's form: its entry's); `company_id`: the case's organisation."""

    r: Renderer
    session: AsyncSession
    user: User
    lang: str | None
    now: datetime
    spec: ProcessDef
    data: dict[str, Any]
    company_id: int | None
    # An item's form: its list and index, and the case's data with the other items (`FormCase.case_data`).
    item: tuple[str, int] | None = None
    case_data: dict[str, Any] | None = None

    async def options(self, step: forms.Step) -> list[tuple[str, str]]:
        """The options of `step`'s question as (key, label): a choice's, a directory's entries, yes and no, a role's
        people."""
        fdef = step.field
        if fdef is None:
            return []
        if fdef.type == "choice" and fdef.options:
            return [(k, self.r.local(v, self.lang)) for k, v in fdef.options.items()]
        if fdef.type == "directory" and fdef.directory:
            return [(e.key, e.name) for e in self.spec.directories.get(fdef.directory, [])]
        if fdef.type == "bool":
            return [("1", self.r.t("Yes", self.lang)), ("0", self.r.t("No", self.lang))]
        if fdef.type == "user":
            people = await people_repo.members(self.session, fdef.role) if fdef.role else []
            # Another dealer's staff are neither offered nor named on this organisation's case.
            people = await access.reachable(self.session, people, self.company_id)
            return [(str(u.id), u.name) for u in people]
        return []

    def same_as(self, step: forms.Step) -> list[tuple[str, str]]:
        """An item's question offers what the case's other items already have in that field, a button per value
        with the item it is from («10702010/011226/0001 (Дефибриллятор)»): one customs declaration, one delivery note
        signed by the client often covers several items, and the logistician should not type or send it again.
        Only where the field is still empty (a correction asks for something else), and not for photos."""
        fdef = step.field
        if self.item is None or self.case_data is None or fdef is None or step.is_more or step.index is not None:
            return []
        if fdef.type not in SAME_KINDS or fdef.multiple or step.can_keep:
            return []
        offered: list[tuple[str, str]] = []
        shown: set[str] = set()
        for index, value, title in self._siblings(step.name):
            words = self._value_words(fdef, value)
            if not words or words in shown:
                continue
            shown.add(words)
            offered.append((f"{SAME}{index}", f"{words} ({title})"))
            if len(offered) == MAX_SAME:
                break
        return offered

    def same_value(self, step: forms.Step, key: str) -> Any:
        """The value a `same_as` button offers, read again from the item now; None if it no longer offers one."""
        if not key.startswith(SAME) or key not in dict(self.same_as(step)):
            return None
        wanted = int(key.removeprefix(SAME))
        return next((value for index, value, _title in self._siblings(step.name) if index == wanted), None)

    def _siblings(self, field: str) -> list[tuple[int, Any, str]]:
        """The case's other items with a value in `field`: (index, value, the item's name as its card says it)."""
        assert self.item is not None and self.case_data is not None
        name, own = self.item
        entries = self.case_data.get(name)
        if not isinstance(entries, list):
            return []
        fdef = self.spec.fields[name]
        track = fdef.track
        found: list[tuple[int, Any, str]] = []
        for index, entry in enumerate(entries):
            if index == own or not isinstance(entry, dict) or entry.get(field) in (None, "", [], {}):
                continue
            title = ""
            if track is not None and track.title is not None:
                title = self.r.template(track.title, self.spec, self.case_data, self.lang, {"item": entry})
            if not title:
                title = entry_name(self.r.local(fdef.entry or fdef.label, self.lang), index, len(entries),
                                   self.r.tr.lang(self.lang))  # fmt: skip
            found.append((index, entry[field], title))
        return found

    def _value_words(self, fdef: FieldDef, value: Any) -> str:
        if fdef.type == "document":  # kept as a list of the stored files' references, one for a single document
            refs = value if isinstance(value, list) else [value]
            names = [str(ref.get("name") or "") for ref in refs if isinstance(ref, dict) and ref.get("id") is not None]
            return ", ".join(name for name in names if name)
        return field_values.format_value(fdef.type, value, lang=self.r.tr.lang(self.lang))

    def defaults(self, fields: dict[str, FieldDef], names: list[str], draft: dict[str, Any]) -> None:
        """A field with nothing to keep yet offers its `default`, worked out from the case (the chosen supplier's
        address): kept with one button, or replaced by typing."""
        current: dict[str, Any] = draft.setdefault("current", {})
        lang = self.r.tr.lang(self.lang)
        for name in names:
            fdef = fields.get(name)
            if fdef is None or fdef.default is None or current.get(name):
                continue
            context = case_context(self.spec, self.data, lang=lang)
            offered = " ".join(render(local(fdef.default, lang), context).split())
            if offered:
                current[name] = offered
        if not current:
            draft.pop("current")

    def around(
        self, fields: dict[str, FieldDef], draft: dict[str, Any], step: forms.Step
    ) -> tuple[dict[str, FieldDef], dict[str, Any]]:
        """The other fields a question's date rules and bounds may name, and their values now: the form's answers
        over the case's, and for a list entry its own fields first."""
        known = {**self.data, **draft["values"]}
        if step.index is None:
            return fields, known
        entry_fields = fields[step.name].fields or {}
        entries = draft["values"].get(step.name) or []
        entry = entries[step.index] if step.index < len(entries) else {}
        return {**fields, **entry_fields}, {**known, **entry}

    def kept(
        self,
        task_id: int,
        step: forms.Step,
        draft: dict[str, Any],
        text: str,
        keyboard: dict[str, Any] | None,
        step_no: int,
    ) -> tuple[str, dict[str, Any] | None]:
        """A question for a file, to a person who sent one when nothing asked for it (`services.kept_files`): it is
        offered in the same message, «use it» or «send another»."""
        if not step.is_file or step.field is None or forms.collected_files(draft, step) or not self.user.kept_files:
            return text, keyboard
        files = kept_files.fitting(kept_files.kept(self.user, self.now), step.field)
        if not files:
            return text, keyboard
        offer = (
            self.r.t("📎 Use the file you sent earlier?", self.lang) if len(files) == 1
            else self.r.t("📎 Use the files you sent earlier (%(n)s)?", self.lang, n=len(files))
        )  # fmt: skip
        row = [
            {"text": self.r.t("✅ Use it", self.lang),
             "callback_data": FormCb(action="kept", task_id=task_id, arg="use", step=step_no).pack()},
            {"text": self.r.t("📤 Send another", self.lang),
             "callback_data": FormCb(action="kept", task_id=task_id, arg="new", step=step_no).pack()},
        ]  # fmt: skip
        rows = list((keyboard or {}).get("inline_keyboard", []))
        return f"{text}\n\n{offer}", {**(keyboard or {}), "inline_keyboard": [row, *rows]}
