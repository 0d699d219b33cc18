"""A definition's own parts in words for people: who does a task, when it is due, what a condition asks.
Used by the diagrams and the BPMN export, so an admin reads «Срок: 5 раб. дн. после «Дата поступления»»
and «Подтвердите дефект = Отклонить», never `arrival_date` or `confirm_defect == 'reject'`."""

from __future__ import annotations

import ast
from collections.abc import Mapping

from babel.dates import get_day_names

from flows.deadlines import Deadline, DeadlineError, Span, parse_deadline
from flows.i18n import _
from flows.model import CALL_RESULTS, ORGANISATION_PREFIX, FieldDef, FollowDef, LocalText, ProcessDef, StageDef, TaskDef
from flows.values import date_text
from services.wording import Wording
from services.wording.names import words_of_key

_SPANS = {
    ("minutes", False): _("%(n)s min"),
    ("hours", False): _("%(n)s h"),
    ("hours", True): _("%(n)s working h"),
    ("days", False): _("%(n)s day(s)"),
    ("days", True): _("%(n)s working day(s)"),
    ("weeks", False): _("%(n)s week(s)"),
}
_COMPARE = {ast.Eq: "=", ast.NotEq: "≠", ast.Lt: "<", ast.LtE: "≤", ast.Gt: ">", ast.GtE: "≥"}
_ARITHMETIC = {ast.Add: "+", ast.Sub: "−", ast.Mult: "×", ast.Div: "/"}
_CALLS = {"len": _("number of %(what)s"), "sum": _("sum of %(what)s"), "any": _("any of %(what)s")}
_RESULTS = {"success": _("success"), "failure": _("failure"), "cancelled": _("cancelled")}
assert set(_RESULTS) == set(CALL_RESULTS)


class DefinitionWords:
    """Labels of one process's parts in one language."""

    def __init__(
        self,
        wording: Wording,
        spec: ProcessDef,
        lang: str,
        titles: Mapping[str, LocalText],
        children: Mapping[str, ProcessDef] | None = None,
    ) -> None:
        self.w = wording
        self.spec = spec
        self.lang = wording.tr.lang(lang)
        self.titles = titles  # other processes' titles (calls and hand-offs name them)
        self.children = children or {}  # other processes' definitions (a stage following child cases names theirs)
        self.tasks: dict[str, TaskDef] = {t.key: t for s in spec.stages for t in s.tasks}
        self.called = {s.key: s for s in spec.stages if s.call is not None}

    def t(self, message: str, **params: object) -> str:
        return self.w.t(message, self.lang, **params)

    def local(self, text: LocalText | None) -> str:
        return self.w.tr.local(text, self.lang)

    def beginnings(self) -> dict[str, list[str]]:
        """The stages cases begin at (`ProcessDef.beginnings`), each with the ways a case begins there in words:
        «начато вручную» (the menu, a hand-off, a call), «заявка с сайта», «по расписанию»; in the definition's
        order."""
        said = {"start": self.t("started by hand"), "schedule": self.t("on the schedule")}
        ways = [(key, said.get(way) or self.t("a lead from the site")) for way, key in self.spec.beginnings()]
        found: dict[str, list[str]] = {}
        for stage in self.spec.stages:
            for key, words in ways:
                if key == stage.key and words not in found.setdefault(key, []):
                    found[key].append(words)
        return {key: words for key, words in found.items() if words}

    def quoted(self, text: str) -> str:
        """A name quoted as the reader's language does: «Дата поступления», “Arrival date”."""
        return self.t("“%(text)s”", text=text)

    def field(self, name: str, fields: Mapping[str, FieldDef] | None = None) -> str:
        fdef = (fields if fields is not None else self.spec.fields).get(name)
        return self.local(fdef.label) if fdef else words_of_key(name)

    def process(self, key: str) -> str:
        return self.local(self.titles[key]) if key in self.titles else words_of_key(key)

    def stage(self, key: str) -> str:
        return self.w.stage_title(self.spec, key, self.lang)

    def role(self, who: str, for_each: str | None = None) -> str:
        """A role, a person of the case (initiator, responsible, a user field), or the entry's person."""
        if who == "initiator":
            return self.t("Initiator")
        if who == "responsible":
            return self.t("Responsible")
        if who.startswith("field:"):
            return self.field(who.removeprefix("field:"))
        if who.startswith(ORGANISATION_PREFIX):
            role = self.w.role(who.removeprefix(ORGANISATION_PREFIX), self.lang)
            return self.t("%(role)s of the organisation", role=role)
        if who.startswith("item:"):
            entry = self._entry_fields(for_each)
            return self.t("the entry's “%(field)s”", field=self.field(who.removeprefix("item:"), entry))
        return self.w.role(who, self.lang)

    def followers(self, stage: StageDef) -> list[StageDef]:
        """The stages the case goes on to as the slowest item or child case moves: from a stage that follows
        items or children, the others following the same; from a stage calling a process for each entry, those
        following its children (drawn as arrows from `stage`)."""
        if stage.follows is not None:
            followed = (stage.follows.list, stage.follows.calls)
        elif stage.call is not None and stage.call.for_each is not None:
            followed = (None, stage.key)  # the calling stage itself: its children move the case on
        else:
            return []
        return [
            s
            for s in self.spec.stages
            if s is not stage and s.follows is not None and (s.follows.list, s.follows.calls) == followed
        ]

    def all_cancelled(self, stage: StageDef) -> tuple[str, str] | None:
        """From a stage following items whose track names an `all_cancelled` stage: that stage and the arrow's
        words («every item cancelled»)."""
        if stage.final or stage.follows is None or stage.follows.list is None:
            return None
        listed = self.spec.fields.get(stage.follows.list)
        track = listed.track if listed is not None else None
        if track is None or track.all_cancelled is None:
            return None
        return track.all_cancelled, self.t("every item cancelled")

    def followed(self, follows: FollowDef) -> str:
        """What a following stage waits for: «the items reach «Отправлен»», «the sub-processes reach «Принят»»."""
        if follows.list is not None:
            track = self.spec.fields[follows.list].track
            stage = words_of_key(follows.at_least)
            if track is not None and follows.at_least in {s.key for s in track.stages}:
                stage = self.local(track.stage(follows.at_least).title)
            return self.t("the items reach “%(stage)s”", stage=stage)
        caller = self.called.get(follows.calls or "")
        child = self.children.get(caller.call.process) if caller is not None and caller.call is not None else None
        stage = self.w.stage_title(child, follows.at_least, self.lang) if child else words_of_key(follows.at_least)
        return self.t("the sub-processes reach “%(stage)s”", stage=stage)

    def roles(self, roles: list[str]) -> str:
        return ", ".join(self.role(r) for r in roles)

    def _entry_fields(self, list_field: str | None) -> Mapping[str, FieldDef]:
        fdef = self.spec.fields.get(list_field or "")
        return (fdef.fields or {}) if fdef else {}

    # --- deadlines ------------------------------------------------------------------------------------------

    def span(self, span: Span, amount_field: str | None = None) -> str:
        """`5 working days` → «5 раб. дн.»; a number of the case's field is named by its label («Отсрочка, дней»)."""
        amount: object = int(span.amount) if float(span.amount).is_integer() else span.amount
        if amount_field is not None:
            amount = self.quoted(self.field(amount_field))
        return self.t(_SPANS.get((span.unit, span.working), _SPANS[(span.unit, False)]), n=amount)

    def deadline(self, text: str) -> str:
        """`5 working days from arrival_date` → «5 раб. дн. после «Дата поступления»»."""
        try:
            parsed = parse_deadline(text)
        except DeadlineError:
            return text  # the loader refuses such a definition; never reached for a loaded one
        return self._deadline(parsed)

    def _deadline(self, d: Deadline) -> str:
        at = d.at.strftime("%H:%M") if d.at else ""
        if d.kind == "relative" and d.span is not None:
            span = self.span(d.span, d.amount_field)
            if d.field is None:
                said = self.t("within %(span)s", span=span)
            else:
                message = _("%(span)s after “%(field)s”") if d.sign > 0 else _("%(span)s before “%(field)s”")
                said = self.t(message, span=span, field=self.field(d.field))
            # «from the return or the arrival»: the later event counts once it happened.
            for other in d.or_fields:
                said = self.t("%(deadline)s (without it, “%(field)s”)", deadline=said, field=self.field(other))
            if d.otherwise is not None:  # the client's deferral, or five working days without one
                otherwise = self._deadline(d.otherwise)
                said = self.t("%(deadline)s (while it is empty, %(otherwise)s)", deadline=said, otherwise=otherwise)
            return said
        if d.kind == "field" and d.field is not None:
            name = self.field(d.field)
            return self.t("“%(field)s”, %(time)s", field=name, time=at) if at else self.quoted(name)
        if d.kind == "weekly" and d.weekday is not None:
            day = str(get_day_names("wide", locale=self.lang)[d.weekday])
            day = self.t("next week's %(day)s", day=day) if d.next_week else day
            return f"{day}, {at}" if at else day
        if d.kind == "absolute" and d.day is not None:
            return f"{date_text(d.day, self.lang)} {at}".strip()
        return d.text

    # --- conditions -----------------------------------------------------------------------------------------

    def condition(self, source: str, for_each: str | None = None) -> str:
        """`payment_terms == 'prepaid'` → «Условия оплаты = Предоплата»; `item.x` reads the entry's fields."""
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError:
            return source  # the loader refuses it; never reached for a loaded definition
        return _Phrase(self, self._entry_fields(for_each)).say(tree.body)


class _Phrase:
    """One condition's syntax tree said in labels."""

    def __init__(self, words: DefinitionWords, entry: Mapping[str, FieldDef]) -> None:
        self.words = words
        self.entry = entry

    def say(self, node: ast.expr) -> str:
        w = self.words
        if isinstance(node, ast.BoolOp):
            joiner = w.t("and") if isinstance(node.op, ast.And) else w.t("or")
            return f" {joiner} ".join(self._part(v) for v in node.values)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return w.t("not %(what)s", what=self._part(node.operand))
            return "−" + self._part(node.operand)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.BinOp):
            sign = _ARITHMETIC.get(type(node.op), "?")
            return f"{self._part(node.left)} {sign} {self._part(node.right)}"
        if isinstance(node, ast.IfExp):
            parts = {"a": self.say(node.body), "c": self.say(node.test), "b": self.say(node.orelse)}
            return w.t("%(a)s if %(c)s, else %(b)s", **parts)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            what = ", ".join(self.say(a) for a in node.args)
            message = _CALLS.get(node.func.id)
            return w.t(message, what=what) if message else w.t("all of %(what)s", what=what)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "item":
                return w.quoted(w.field(node.attr, self.entry))
            return f"{self.say(node.value)} · {words_of_key(node.attr).lower()}"
        if isinstance(node, ast.Subscript):
            return f"{self.say(node.value)} №{self.say(node.slice)}"
        if isinstance(node, (ast.List, ast.Tuple)):
            return ", ".join(self.say(e) for e in node.elts)
        if isinstance(node, ast.Constant):
            return self._constant(node.value, None)
        return "…"

    def _part(self, node: ast.expr) -> str:
        text = self.say(node)
        return f"({text})" if isinstance(node, (ast.BoolOp, ast.IfExp)) else text

    def _name(self, name: str) -> str:
        w = self.words
        if name in w.spec.fields:
            return w.quoted(w.field(name))
        if name in w.tasks:
            return w.quoted(w.local(w.tasks[name].title))
        if name in w.called:
            return w.quoted(w.local(w.called[name].title))
        if name.endswith("_comment") and name.removesuffix("_comment") in w.tasks:
            return w.t("the comment on “%(task)s”", task=w.local(w.tasks[name.removesuffix("_comment")].title))
        known = {"today": _("today"), "now": _("now"), "started_on": _("the start date"), "item": _("the entry")}
        return w.t(known[name]) if name in known else words_of_key(name)

    def _compare(self, node: ast.Compare) -> str:
        w = self.words
        parts, left = [self._part(node.left)], node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            subject = left.id if isinstance(left, ast.Name) else None
            value = self._value(right, subject, self._entry_field(left))
            if isinstance(op, (ast.In, ast.NotIn)):
                message = _("is one of: %(values)s") if isinstance(op, ast.In) else _("is none of: %(values)s")
                parts.append(w.t(message, values=value))
            elif isinstance(op, (ast.Is, ast.IsNot)):
                parts.append("=" if isinstance(op, ast.Is) else "≠")
                parts.append(value)
            else:
                parts += [_COMPARE.get(type(op), "?"), value]
            left = right
        return " ".join(parts)

    def _entry_field(self, node: ast.expr) -> FieldDef | None:
        """The entry's field `item.<name>` reads: its options are said by their labels, never as keys."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "item":
            return self.entry.get(node.attr)
        return None

    def _value(self, node: ast.expr, subject: str | None, entry_field: FieldDef | None = None) -> str:
        """A literal read in the terms of what it is compared with: an outcome's or an option's label."""
        if isinstance(node, ast.Constant):
            return self._constant(node.value, subject, entry_field)
        if isinstance(node, (ast.List, ast.Tuple)):
            return ", ".join(self._value(e, subject, entry_field) for e in node.elts)
        return self.say(node)

    def _constant(self, value: object, subject: str | None, entry_field: FieldDef | None = None) -> str:
        w = self.words
        if value is None:
            return w.t("empty")
        if isinstance(value, bool):
            return w.t("yes") if value else w.t("no")
        if isinstance(value, str) and entry_field is not None and entry_field.options and value in entry_field.options:
            return w.quoted(w.local(entry_field.options[value]))
        if isinstance(value, str) and subject is not None:
            if subject in w.tasks:
                outcome = w.tasks[subject].outcome_defs().get(value)
                if outcome is not None:
                    return w.quoted(w.local(outcome.label))
            if subject in w.called and value in _RESULTS:
                return w.quoted(w.t(_RESULTS[value]))
            fdef = w.spec.fields.get(subject)
            if fdef is not None and fdef.options and value in fdef.options:
                return w.quoted(w.local(fdef.options[value]))
            if fdef is not None and fdef.directory:
                entry = w.spec.directory_entry(fdef.directory, value)
                if entry is not None:
                    return w.quoted(entry.name)
        if isinstance(value, str):
            return w.quoted(value)
        return str(value)
