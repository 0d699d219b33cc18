"""Notices about a case: the engine's notices (a definition's text, the case closed, reminders, overdue tasks and
escalations), a task handed over or its deadline moved, a field corrected (of the case or of an item), the stage
changed, a list of cases, a step that failed (the person and the admins told) and a draft closed for age."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from db.models import Case, TaskCard, User
from flows.items import entry_fields, entry_of
from flows.model import CANCEL_REASON
from flows.runtime import FieldCorrected, Notify, TaskState, is_empty
from flows.status import CaseStatus
from services import outbox
from services import people as people_repo
from services.cases.cancelling import NOT_GIVEN
from services.cases.state import Loaded
from tgbot import menu_view
from tgbot.notices_base import NoticesBase, notice_comment_files


class CaseNotices(NoticesBase):
    async def notify(self, loaded: Loaded, effect: Notify, recipients: Sequence[User]) -> None:
        names = await self._names(loaded, (loaded.closed_by,) if effect.kind == "closed" else ())
        kind = NOTICE_KINDS.get(effect.kind, "notify")
        # The notice's words per reader's language, worded for the first reader of each: its text (a template
        # of the definition) and its variables are the same for all the others.
        worded: dict[tuple[str, bool, tuple[str, ...]], tuple[str, dict[str, Any] | None, dict[str, Any]]] = {}
        state = loaded.state
        quoted = notice_comment_files(state.spec, effect.text) if effect.kind == "text" else []
        for user in recipients:
            if effect.kind == "closed" and (loaded.row.id, user.id) in self.told_closed:
                continue  # the final stage's own notice to them already said the case is closed
            # The final stage's notice to someone who will hear the case closed is that one message, not two.
            closing = (
                effect.kind == "text"
                and effect.item is None  # one item's news is not the case's closing line
                and state.status == CaseStatus.DONE
                and user.id in (state.initiator_id, state.responsible_id)
            )
            if closing:
                self.told_closed.add((loaded.row.id, user.id))
            lang = self.renderer.tr.lang(user.language)
            # The process's own words on a cancel to someone who hears it cancelled: in this message.
            said, files = self._cancel_words(loaded, user) if effect.kind == "closed" else ((), ())
            if (lang, closing, said) not in worded:
                text, keyboard = self._notice(loaded, effect, user.language, names, closing=closing, said=said)
                if effect.task is not None:
                    shared = self._task_vars(loaded, effect.task, user.language)
                    holder = names.get(effect.task.assignee_id or 0)
                    shared["holder"] = holder or self.renderer.role(effect.task.role, user.language)
                else:
                    shared = self._case_vars(loaded, user.language)
                worded[lang, closing, said] = text, keyboard, shared
            text, keyboard, shared = worded[lang, closing, said]
            plan = await self.channels.plan(kind, user)
            variables = {**shared, "text": text}
            row = None
            if plan.telegram:
                # The files the notice brings first, its words and their button last (as a task's card).
                await self._send_files(loaded, user, [*effect.attach, *quoted, *files])
                row = await self._telegram(kind, user, variables, keyboard)
            await self.channels.deliver(plan, variables, case_id=loaded.row.id, telegram_row=row)

    def _cancel_words(self, loaded: Loaded, user: User) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The process's own words on the case's cancel to this person (its `on_cancel` notices), kept for the
        message that tells them of the cancel (`effects.notify`), and the files they bring. Taken: said once."""
        notices = loaded.cancel_words.pop(user.id, [])
        state, lang = loaded.state, user.language
        said = tuple(
            self.renderer.kept_template(n.text, state.spec, state.data, lang, {**self._extra(loaded, lang),
                                                                               **self._values(n, lang)})
            for n in notices
        )  # fmt: skip
        return said, tuple(name for n in notices for name in n.attach)

    async def own_words(self, loaded: Loaded, user: User) -> tuple[str, ...]:
        notices, loaded.own_words = loaded.own_words, []
        state, lang = loaded.state, user.language
        said = tuple(
            self.renderer.kept_template(n.text, state.spec, state.data, lang, {**self._extra(loaded, lang),
                                                                               **self._values(n, lang)})
            for n in notices
        )  # fmt: skip
        files = [name for n in notices for name in (*n.attach, *notice_comment_files(state.spec, n.text))]
        await self._send_files(loaded, user, files)
        return said

    async def own_words_apart(self, loaded: Loaded, user: User) -> None:
        notices, loaded.own_words = loaded.own_words, []
        for notice in notices:
            await self.notify(loaded, notice, [user])

    async def cancel_words(self, loaded: Loaded, user: User) -> tuple[str, ...]:
        said, files = self._cancel_words(loaded, user)
        await self._send_files(loaded, user, files)
        return said

    def _values(self, effect: Notify, lang: str | None) -> dict[str, Any]:
        """What the moment adds to a notice's words, in the reader's language: the cancel's reason is the person's
        words, or the system's in each language (a sub-process cancelled with its parent); never empty, so that no
        «Причина: » stands with nothing after it."""
        values = {k: self.renderer.tr.local(v, lang) if isinstance(v, dict) else v for k, v in effect.values}
        if CANCEL_REASON in values and not values[CANCEL_REASON]:
            values[CANCEL_REASON] = self.renderer.t(NOT_GIVEN, lang)
        return values

    @staticmethod
    def _reason_unsaid(loaded: Loaded, said: Sequence[str]) -> str | None:
        """The cancel's reason for the system's own lines, unless the process's words to the reader quote it."""
        reason = loaded.closed_reason
        return reason if reason and not any(reason in words for words in said) else None

    def _notice(
        self,
        loaded: Loaded,
        effect: Notify,
        lang: str,
        names: dict[int, str],
        *,
        closing: bool = False,
        said: Sequence[str] = (),
    ) -> tuple[str, dict[str, Any] | None]:
        renderer, state = self.renderer, loaded.state
        case_name = renderer.case_name(state, lang)
        if effect.kind == "text":
            extra = {**self._extra(loaded, lang), **self._values(effect, lang)}  # an on_cancel's words: its reason
            if effect.item is not None:  # an item stage's words read the item
                extra["item"] = entry_of(state.data, *effect.item) or {}
            body = renderer.kept_template(effect.text, state.spec, state.data, lang, extra)
            if closing:
                return f"{self._closed_line(loaded, lang)}\n{body}", renderer.case_button(loaded.row.id, lang)
            return f"🔔 {case_name}\n{body}", renderer.case_button(loaded.row.id, lang)
        if effect.kind == "closed" and state.status == CaseStatus.CANCELLED:
            # Not an ending like the others: who stopped it, and why when an admin said why.
            lines = [renderer.t("🚫 Case cancelled: %(case)s", lang, case=case_name)]
            who = names.get(loaded.closed_by or 0) or renderer.t("an administrator", lang)
            lines.append(renderer.t("Cancelled by: %(who)s", lang, who=who))
            reason = self._reason_unsaid(loaded, said)
            if reason:
                lines.append(renderer.t("Reason: %(reason)s", lang, reason=reason))
            return "\n".join([*lines, *said]), renderer.case_button(loaded.row.id, lang)
        if effect.kind == "closed":
            return self._closed_line(loaded, lang), None
        assert effect.task is not None
        task = effect.task
        title = renderer.task_title(state.spec, task, lang, state.data)
        when = renderer.when(task.due_at, lang)
        if effect.kind == "reminder":
            reminder = renderer.t(
                "⏰ Reminder: “%(task)s” is due %(when)s.\n%(case)s", lang, task=title, when=when, case=case_name
            )
            # As «Overdue»: the card it reminds of may be far up the chat. A pool's task is nobody's to open yet.
            if task.assignee_id is None:
                return reminder, renderer.case_button(loaded.row.id, lang)
            return reminder, renderer.overdue_buttons(task, loaded.row.id, lang)
        if effect.kind == "overdue":
            overdue = renderer.t(
                "⚠️ Overdue: “%(task)s” was due %(when)s.\n%(case)s", lang, task=title, when=when, case=case_name
            )
            return overdue, renderer.overdue_buttons(task, loaded.row.id, lang)
        holder = names.get(task.assignee_id or 0) or renderer.t("role %(r)s", lang, r=renderer.role(task.role, lang))
        return (
            renderer.t(
                "⚠️ Escalation: “%(task)s” is overdue (due %(when)s), it is with %(who)s.\n%(case)s",
                lang,
                task=title,
                when=when,
                who=holder,
                case=case_name,
            ),
            renderer.escalation_buttons(task, loaded.row.id, lang),
        )

    def _closed_line(self, loaded: Loaded, lang: str) -> str:
        renderer, state = self.renderer, loaded.state
        stage = renderer.stage_title(state.spec, state.stage, lang)
        case_name = renderer.case_name(state, lang)
        return renderer.t("🏁 Case closed: %(case)s — %(stage)s", lang, case=case_name, stage=stage)

    async def task_handed_over(
        self, loaded: Loaded, task: TaskState, previous: User, holder: User, by: User | None
    ) -> None:
        r, lang = self.renderer, previous.language
        title, case = r.task_title(loaded.state.spec, task, lang, loaded.state.data), r.case_name(loaded.state, lang)
        if by is None:
            text = r.t(
                "↪️ An administrator handed “%(task)s” over to %(who)s; it is no longer yours.\n%(case)s",
                lang,
                task=title,
                who=holder.name,
                case=case,
            )
        elif holder.id == by.id:
            text = r.t("↪️ %(by)s took over “%(task)s” from you.\n%(case)s", lang, by=by.name, task=title, case=case)
        else:
            text = r.t(
                "↪️ %(by)s handed “%(task)s” over to %(who)s; it is no longer yours.\n%(case)s",
                lang,
                by=by.name,
                task=title,
                who=holder.name,
                case=case,
            )
        outbox.message(self.session, previous.tg_id, text, self.now, case_id=loaded.row.id)

    async def deadline_moved(self, loaded: Loaded, task: TaskState, holder: User, by: User, reason: str) -> None:
        r, lang = self.renderer, holder.language
        text = r.t(
            "🗓 %(by)s moved the deadline of “%(task)s” to %(when)s. Reason: %(reason)s\n%(case)s",
            lang,
            by=by.name,
            task=r.task_title(loaded.state.spec, task, lang, loaded.state.data),
            when=r.when(task.due_at, lang),
            reason=reason,
            case=r.case_name(loaded.state, lang),
        )
        outbox.message(self.session, holder.tg_id, text, self.now, case_id=loaded.row.id)

    async def deadline_followed(self, loaded: Loaded, task: TaskState, holder: User, field: str) -> None:
        r, lang, spec = self.renderer, holder.language, loaded.state.spec
        fdef = spec.fields[field]
        value = loaded.state.data.get(field)
        text = r.t(
            "🗓 %(case)s\n%(field)s is now %(value)s. The deadline of “%(task)s” moves to %(when)s.",
            lang,
            case=r.case_name(loaded.state, lang),
            field=r.field_label(spec, fdef, loaded.state.data, lang),
            value=r.summary_value(fdef, value, lang, spec) if value not in (None, "") else "—",
            task=r.task_title(spec, task, lang, loaded.state.data),
            when=r.when(task.due_at, lang) if task.due_at is not None else "—",
        )
        outbox.message(self.session, holder.tg_id, text, self.now, case_id=loaded.row.id)

    async def field_corrected(self, loaded: Loaded, corrected: FieldCorrected, recipients: Sequence[User]) -> None:
        state, r, spec = loaded.state, self.renderer, loaded.state.spec
        item = corrected.item
        fdef = spec.fields[corrected.field] if item is None else entry_fields(spec, item[0])[corrected.field]
        names = await self._names(loaded, [corrected.by])
        for user in recipients:
            lang = user.language
            said = {
                "case": r.case_name(state, lang),
                "field": r.field_label(spec, fdef, state.data, lang),
                "value": "—" if is_empty(corrected.after) else r.summary_value(fdef, corrected.after, lang, spec),
                "before": "—" if is_empty(corrected.before) else r.summary_value(fdef, corrected.before, lang, spec),
                "who": names.get(corrected.by, "?"),
            }
            if item is None:
                text = r.t("✏️ %(case)s\n%(field)s is now %(value)s, was %(before)s (%(who)s).", lang, **said)
            else:
                text = r.t(
                    "✏️ %(case)s\n“%(item)s”: %(field)s is now %(value)s, was %(before)s (%(who)s).",
                    lang,
                    item=r.item_title(state, *item, lang),
                    **said,
                )
            buttons = r.stage_line_buttons(loaded.row.id, lang)  # the case, and quiet for who needs no more news
            outbox.message(self.session, user.tg_id, text, self.now, buttons, case_id=loaded.row.id)

    async def registered(
        self, loaded: Loaded, user: User, notices: Sequence[Notify], waits_until: datetime | None = None
    ) -> None:
        r, state, lang = self.renderer, loaded.state, user.language
        said = r.t(
            "✅ Case %(case)s is registered. Stage: %(stage)s.",
            lang,
            case=r.case_name(state, lang),
            stage=r.stage_title(state.spec, state.stage, lang),
        )
        if state.status == CaseStatus.ACTIVE:
            roles = await people_repo.roles_of(self.session, user.id)
            names = await self._names(loaded)
            waiting = r.waiting_for(state, names, lang, until=waits_until, skip=lambda t: t.is_for(user.id, roles))
            said = f"{said} {waiting}" if waiting else said
        lines = [said]
        extra = self._extra(loaded, lang)
        lines += [r.kept_template(n.text, state.spec, state.data, lang, extra) for n in notices]
        outbox.message(self.session, user.tg_id, "\n".join(lines), self.now, case_id=loaded.row.id)
        for notice in notices:
            await self._send_files(loaded, user, notice.attach)

    async def stage_changed(self, loaded: Loaded, user: User, waits_until: datetime | None = None) -> None:
        state, r, lang = loaded.state, self.renderer, user.language
        # Whom the case waits for, and until when: the next task's title is an order to its doer («Согласуйте
        # заявку»), not news for someone who follows the case (a dealer waiting for the office's decision).
        waiting = r.waiting_for(state, await self._names(loaded), lang, until=waits_until)
        stage = r.stage_title(state.spec, state.stage, lang)
        text = r.t("📍 %(case)s: now “%(stage)s”.", lang, case=r.case_name(state, lang), stage=stage)
        if waiting:
            text += " " + waiting
        plan = await self.channels.plan("stage_change", user)
        variables = {**self._case_vars(loaded, lang), "stage": stage}
        variables["text"] = text
        row = None
        if plan.telegram:
            buttons = r.stage_line_buttons(loaded.row.id, lang)
            row = await self._telegram("stage_change", user, variables, buttons, case_id=loaded.row.id)
        await self.channels.deliver(plan, variables, case_id=loaded.row.id, telegram_row=row)

    async def muted_responsible(self, loaded: Loaded, user: User) -> None:
        r, lang = self.renderer, user.language
        text = r.t(
            "🔕 You now lead the case %(case)s, but you muted it: its stage news do not come to you (your own tasks "
            "still do). To hear where it goes, press the button.",
            lang,
            case=r.case_name(loaded.state, lang),
        )
        own = user.id == loaded.state.initiator_id
        buttons = r.unmute_button(loaded.row.id, own, lang)
        outbox.message(self.session, user.tg_id, text, self.now, buttons, case_id=loaded.row.id)

    async def cases_listed(self, loaded: Loaded, text: Any, user: User, cases: list[dict[str, Any]]) -> None:
        body = self.renderer.template(text, loaded.state.spec, loaded.state.data, user.language, {"cases": cases})
        outbox.message(self.session, user.tg_id, body, self.now, self.renderer.cases_buttons(cases, user.language))

    async def step_failed(self, case: Case | None, step: str, error: str, person: User | None) -> None:
        t = self.renderer.t
        if person is not None:
            text = t(
                "This step could not be completed because of an error on our side. Nothing you entered is lost; "
                "the admins have been told and will let you know when you can go on.",
                person.language,
            )
            outbox.message(self.session, person.tg_id, text, self.now)
        for admin in await people_repo.admins(self.session):
            lang = admin.language
            where = t("case #%(id)s", lang, id=case.id) if case is not None else t("no case", lang)
            text = t(
                "⚠️ A step failed and needs attention: %(where)s, step “%(step)s”.\nError: %(error)s\n"
                "Fix the data, or load a corrected definition and move the case onto it (Processes → the case's "
                "version → “Move the cases”), then press “Retry”.",
                lang,
                where=where,
                step=step,
                error=error,
            )
            keyboard = self.renderer.retry_button(case.id, lang) if case is not None else None
            outbox.message(self.session, admin.tg_id, text, self.now, keyboard)

    async def draft_expired(self, loaded: Loaded, author: User, days: int) -> None:
        lang = author.language
        text = self.renderer.t(
            "📝 Your request “%(process)s” was started more than %(days)s days ago and never finished, "
            "so it is closed. Start it again from the menu when you need it.",
            lang,
            process=self.renderer.local(loaded.state.spec.title, lang),
            days=days,
        )
        if loaded.given_back:  # an order request's positions went back to the cart
            text += "\n" + self.renderer.t(loaded.given_back, lang)
        outbox.message(self.session, author.tg_id, text, self.now, case_id=loaded.row.id)

    async def work_cancelled(
        self, loaded: Loaded, tasks: Sequence[TaskState], holder: User, items: Sequence[tuple[str, int]] = ()
    ) -> None:
        r, lang, state = self.renderer, holder.language, loaded.state
        titles = [r.task_title(state.spec, t, lang, state.data) for t in tasks]
        titles += [r.item_title(state, name, index, lang) for name, index in items]
        case, work = r.case_name(state, lang), "», «".join(titles)
        said, files = self._cancel_words(loaded, holder)
        reason = self._reason_unsaid(loaded, said)
        if reason:
            text = r.t("🚫 Case %(case)s is cancelled: %(reason)s — you can stop the work on “%(task)s”.", lang,
                       case=case, reason=reason, task=work)  # fmt: skip
        else:
            text = r.t("🚫 Case %(case)s is cancelled — you can stop the work on “%(task)s”.", lang,
                       case=case, task=work)  # fmt: skip
        who = (await self._names(loaded, (loaded.closed_by,))).get(loaded.closed_by or 0)
        lines = [text, r.t("Cancelled by: %(who)s", lang, who=who or r.t("an administrator", lang)), *said]
        outbox.message(self.session, holder.tg_id, "\n".join(lines), self.now, case_id=loaded.row.id)
        await self._send_files(loaded, holder, files)

    async def task_released(self, loaded: Loaded, task: TaskState, previous: User, because: str) -> None:
        r, state = self.renderer, loaded.state
        names = await self._names(loaded, (task.assignee_id, previous.id))
        holder = names.get(task.assignee_id or 0)
        cards = await self.session.execute(
            select(TaskCard.outbox_id).where(TaskCard.task_id == task.id, TaskCard.user_id == previous.id)
        )
        lang = previous.language
        head = r.task_card_head(state, task, lang, self._extra(loaded, lang))
        where = (
            r.t("↪️ The task was passed on: %(who)s.", lang, who=holder)
            if holder
            else r.t("↪️ The task went back to the people with the role “%(role)s”.", lang, role=r.role(task.role, lang))
        )
        text = "\n".join([*head.lines, where])
        for ref in cards.scalars():  # a card sent in pieces has its buttons on the last: that one is edited
            self._edit_card(previous, ref, outbox.pieces(text, None)[-1], r.case_button(loaded.row.id, lang))
        heir = await self.people.user(task.assignee_id) if task.assignee_id not in (None, previous.id) else None
        if heir is None:
            return
        lang, who = heir.language, previous.name
        title, case = r.task_title(state.spec, task, lang, state.data), r.case_name(state, lang)
        if because == "role":
            why = r.t("%(who)s no longer has the role “%(role)s”", lang, who=who, role=r.role(task.role, lang))
        elif because == "unreachable":
            why = r.t("the bot can no longer reach %(who)s", lang, who=who)
        else:
            # Closed access is what is known, not that the person left the company.
            why = r.t("an administrator closed the access of %(who)s", lang, who=who)
        text = r.t("↪️ “%(task)s” came to you: %(why)s.\n%(case)s", lang, task=title, why=why, case=case)
        outbox.message(self.session, heir.tg_id, text, self.now, case_id=loaded.row.id)

    async def roles_changed(
        self, person: User, roles: Sequence[str], released: Sequence[tuple[Loaded, TaskState]]
    ) -> None:
        r, lang = self.renderer, person.language
        now = r.roles(roles, lang) if roles else r.t("no roles", lang)
        lines = [r.t("🔧 An administrator changed your roles: now %(roles)s.", lang, roles=now)]
        if released:
            lines.append(r.t("These tasks left you:", lang))
        for loaded, task in released:
            holder = (await self.people.names({task.assignee_id})).get(task.assignee_id or 0)
            lines.append(r.released_line(loaded.state, task, holder, lang))
        # With the menu of the roles they have now: «Начать процесс» comes or goes with a role that starts one.
        menu = menu_view.menu_keyboard(r, lang, roles, bool(person.is_admin), self.processes())
        outbox.message(self.session, person.tg_id, "\n".join(lines), self.now, menu.model_dump(exclude_none=True))

    async def person_unreachable(
        self,
        person: User,
        admins: Sequence[User],
        released: Sequence[tuple[Loaded, TaskState]],
        kept: Sequence[tuple[Loaded, TaskState]],
    ) -> None:
        r = self.renderer
        holders = await self.people.names({t.assignee_id for _l, t in released if t.assignee_id is not None})
        for admin in admins:
            lang = admin.language
            lines = [r.t("🚫 %(name)s has blocked the bot: nothing reaches them now.", lang, name=person.name)]
            if released:
                lines.append(r.t("Tasks of %(name)s now:", lang, name=person.name))
                lines += [r.released_line(loaded.state, task, holders.get(task.assignee_id or 0), lang)
                          for loaded, task in released]  # fmt: skip
            if kept:
                lines.append(r.t("Still theirs alone — hand each on from its case (/find and the number):", lang))
                lines += [r.t("• “%(task)s” (%(case)s)", lang,
                              task=r.task_title(loaded.state.spec, task, lang, loaded.state.data),
                              case=r.case_name(loaded.state, lang)) for loaded, task in kept]  # fmt: skip
            outbox.message(self.session, admin.tg_id, "\n".join(lines), self.now)

    async def cancel_asked(self, loaded: Loaded, asker: User, reason: str, deciders: Sequence[User]) -> None:
        r = self.renderer
        for person in deciders:
            lang = person.language
            text = r.t("🙋 %(who)s asks to cancel %(case)s.\nReason: %(reason)s\nIt goes on until you cancel it: "
                       "“✖️ Cancel the case” on its card.", lang, who=asker.name, case=r.case_name(loaded.state, lang),
                       reason=reason)  # fmt: skip
            outbox.message(self.session, person.tg_id, text, self.now, r.case_button(loaded.row.id, lang),
                           case_id=loaded.row.id)  # fmt: skip

    async def given_back(self, loaded: Loaded, author: User) -> None:
        lang, renderer = author.language, self.renderer
        case = renderer.case_name(loaded.state, lang)
        text = renderer.t("%(case)s was cancelled by an administrator before it was registered.", lang, case=case)
        if loaded.given_back:
            text += " " + renderer.t(loaded.given_back, lang)
        outbox.message(self.session, author.tg_id, "🧺 " + text, self.now, case_id=loaded.row.id)


# The kind of notification (services/channels/) each of the engine's notices is.
NOTICE_KINDS = {"text": "notify", "closed": "notify", "reminder": "reminder", "overdue": "reminder",
                "escalation": "escalation"}  # fmt: skip
