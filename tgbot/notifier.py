"""The chat's notifier: words each message in the reader's language and writes it to the outbox, in the
same transaction as the change that caused it. Task cards are remembered (`TaskCard`) so they can be
edited when the task changes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Outbox, TaskCard, User
from flows.items import item_state
from flows.model import ProcessDef, TaskDef
from flows.runtime import Notify, TaskState, task_def
from services import outbox
from services import people as people_repo
from services.cases.state import CardRef, Loaded
from services.channels import Channels
from services.comments import Entry
from services.digests import Digest
from services.onec_documents import title as document_title
from services.outbox import HTML
from services.people import PeopleCache
from services.wording import file_fields
from tgbot import digest_view
from tgbot.callbacks import CaseCb, ItemCb
from tgbot.render import CardHead, Renderer


def evidence_fields(spec: ProcessDef, tdef: TaskDef) -> list[str]:
    """The fields whose files a task's card brings: those it attaches, those its text speaks of (a card that
    lists the watches shows their photos), and, for a task that asks someone to judge (approve), every file
    of the case — a verdict on evidence one cannot see is a guess."""
    # They depend on the definition alone, and a task is given on many steps: found once per task definition
    # (kept with the task's and the spec's objects, so an id reused after they are gone never matches).
    hit = _EVIDENCE.get(id(tdef))
    if hit is not None and hit[0] is spec and hit[1] is tdef:
        return list(hit[2])
    names = _evidence_fields(spec, tdef)
    if len(_EVIDENCE) >= 1024:
        _EVIDENCE.clear()
    _EVIDENCE[id(tdef)] = (spec, tdef, tuple(names))
    return names


_EVIDENCE: dict[int, tuple[ProcessDef, TaskDef, tuple[str, ...]]] = {}


def _evidence_fields(spec: ProcessDef, tdef: TaskDef) -> list[str]:
    names = list(tdef.attach)
    text = tdef.text
    sources = list(text.values()) if isinstance(text, dict) else [text or ""]
    for name in file_fields(spec):
        mentioned = any(re.search(rf"\b{re.escape(name)}\b", source) for source in sources)
        if name not in names and (mentioned or tdef.kind == "approve"):
            names.append(name)
    return names


def send_files(
    session: AsyncSession, chat_id: int, now: datetime, files: list[tuple[str, dict[str, Any]]], case_name: str
) -> None:
    """The files as albums (photos together, documents together), each captioned with what it is and whose
    case it belongs to."""
    items = [(ref["id"], ref.get("kind") or "document", f"{label} · {case_name}") for label, ref in files]
    outbox.files(session, chat_id, now, items)


class OutboxNotifier:
    def __init__(self, renderer: Renderer, session: AsyncSession, people: PeopleCache, now: datetime) -> None:
        self.renderer = renderer
        self.session = session
        self.people = people
        self.now = now
        self._carded: set[int] = set()  # tasks given a card in this unit of work
        # Which channels each kind of notification goes by, per person (services/channels.py).
        self.channels = Channels(session, now)

    def _case_vars(self, loaded: Loaded, lang: str) -> dict[str, Any]:
        return {"case_number": loaded.row.id, "case_title": self.renderer.case_name(loaded.state, lang)}

    def _task_vars(self, loaded: Loaded, task: TaskState, lang: str) -> dict[str, Any]:
        return {
            **self._case_vars(loaded, lang),
            "task": self.renderer.task_title(loaded.state.spec, task, lang),
            "due": self.renderer.when(task.due_at) if task.due_at is not None else "",
        }

    async def _names(self, loaded: Loaded, extra: Iterable[int | None] = ()) -> dict[int, str]:
        state = loaded.state
        ids: set[int | None] = {state.initiator_id, state.responsible_id, *extra}
        for task in state.tasks:
            ids |= {task.assignee_id, task.done_by}
        return await self.people.names(ids)

    def _extra(self, loaded: Loaded) -> dict[str, Any]:
        return {"case": {"id": loaded.row.id, "title": loaded.state.title}, "today": self.now.date()}

    def _taken(self, loaded: Loaded, task: TaskState) -> bool:
        row = loaded.task_rows.get(task.id or 0)
        return row is not None and row.claimed_at is not None

    async def _telegram(
        self,
        kind: str,
        user: User,
        variables: dict[str, Any],
        keyboard: dict[str, Any] | None,
        *,
        case_id: int | None = None,
    ) -> Outbox:
        """A notification's Telegram message: the bot's wording (`variables["text"]`), or the admin's template of
        the kind in the person's language over it (services/channels.py)."""
        text, mode = await self.channels.telegram(kind, user, self.renderer.tr.lang(user.language), variables)
        return outbox.message(self.session, user.tg_id, text, self.now, keyboard, case_id=case_id, parse_mode=mode)

    def _card_heads(self, loaded: Loaded, task: TaskState) -> Callable[[str | None], CardHead]:
        """The shared part of the task's card per reader's language, rendered on first use: the readers of one
        card (a role's members, or the holders of its cards) get the same words, and its template's context
        and text are not built again for each of them."""
        heads: dict[str, CardHead] = {}

        def head(lang: str | None) -> CardHead:
            key = self.renderer.tr.lang(lang)
            found = heads.get(key)
            if found is None:
                found = heads[key] = self.renderer.task_card_head(loaded.state, task, lang, self._extra(loaded))
            return found

        return head

    async def task_given(self, loaded: Loaded, task: TaskState, recipients: Sequence[User]) -> None:
        names = await self._names(loaded, [u.id for u in recipients])
        evidence = evidence_fields(loaded.state.spec, task_def(loaded.state.spec, task.stage, task.key))
        head, taken = self._card_heads(loaded, task), self._taken(loaded, task)
        task_vars: dict[str, dict[str, Any]] = {}
        for user in recipients:
            text, keyboard = self.renderer.task_card(
                loaded.state, task, user.language, names=names, viewer_id=user.id, taken=taken,
                head=head(user.language),
            )  # fmt: skip
            plan = await self.channels.plan("task_assigned", user)
            lang = self.renderer.tr.lang(user.language)
            if lang not in task_vars:
                task_vars[lang] = self._task_vars(loaded, task, user.language)
            variables = {**task_vars[lang], "text": text}
            row = None
            if plan.telegram:
                row = await self._telegram("task_assigned", user, variables, keyboard)
                # No flush per card: the message and its card are inserted with the step's other rows.
                outbox.card(self.session, task.id, user.id, row)
                self._carded.add(task.id or 0)
                self._send_files(loaded, user, evidence)
            await self.channels.deliver(plan, variables, case_id=loaded.row.id, telegram_row=row)

    async def task_changed(self, loaded: Loaded, task: TaskState, *, fresh: bool) -> None:
        if task.id is None or (fresh and task.id not in self._carded):
            return  # created in this very step and never shown: nothing to edit
        rows: Sequence[tuple[TaskCard | CardRef, User]]
        if task.id in loaded.cards and task.id not in self._carded:
            # Read with the case; their holders come with the step's one query for people.
            preloaded = loaded.cards[task.id]
            holders = await self.people.users([card.user_id for card in preloaded])
            rows = [(card, holders[card.user_id]) for card in preloaded if card.user_id in holders]
        else:
            if task.id in self._carded:
                await outbox.flush(self.session)  # its cards of this very step are still pending: they must be found
            # The cards and their holders in one query (not the cards, then the people).
            rows = [
                (card, user)
                for card, user in (
                    await self.session.execute(
                        select(TaskCard, User)
                        .join(User, User.id == TaskCard.user_id)
                        .where(TaskCard.task_id == task.id)
                    )
                ).all()
            ]
        if not rows:
            return
        cards = [card for card, _user in rows]
        users = {user.id: user for _card, user in rows}
        self.people.remember(users.values())
        names = await self._names(loaded, [task.assignee_id, task.done_by])
        # A card an admin's template wrote stays written by it (a card of «My tasks» stays the bot's wording).
        templated: set[int] = set()
        if await self.channels.telegram_edited("task_assigned"):
            sent = await self.session.execute(
                select(Outbox.id, Outbox.payload).where(Outbox.id.in_([card.outbox_id for card in cards]))
            )
            templated = {row_id for row_id, payload in sent.all() if (payload or {}).get("parse_mode") == HTML}
        head, taken = self._card_heads(loaded, task), self._taken(loaded, task)
        for card in cards:
            user = users.get(card.user_id)
            if user is None:
                continue
            text, keyboard = self.renderer.task_card(
                loaded.state, task, user.language, names=names, viewer_id=user.id, taken=taken,
                head=head(user.language),
            )  # fmt: skip
            mode = None
            if card.outbox_id in templated:
                variables = {**self._task_vars(loaded, task, user.language), "text": text}
                text, mode = await self.channels.telegram(
                    "task_assigned", user, self.renderer.tr.lang(user.language), variables
                )
            # A card too long for one message was sent in pieces, its buttons on the last: that one is edited.
            payload: dict[str, Any] = {"text": outbox.pieces(text, mode)[-1]}
            if mode:
                payload["parse_mode"] = mode
            if keyboard:
                payload["reply_markup"] = keyboard
            outbox.enqueue(
                self.session,
                chat_id=user.tg_id,
                method="editMessageText",
                payload=payload,
                now=self.now,
                ref_id=card.outbox_id,
            )

    async def nobody_has_role(self, loaded: Loaded, task: TaskState) -> None:
        renderer = self.renderer
        for admin in await people_repo.admins(self.session):
            text = renderer.t(
                "Nobody has the role «%(role)s», so the task «%(task)s» in %(case)s waits. "
                "Invite someone with this role.",
                admin.language,
                role=renderer.role(task.role, admin.language),
                task=renderer.task_title(loaded.state.spec, task, admin.language),
                case=renderer.case_name(loaded.state, admin.language),
            )
            outbox.message(self.session, admin.tg_id, text, self.now)

    async def notify(self, loaded: Loaded, effect: Notify, recipients: Sequence[User]) -> None:
        names = await self._names(loaded)
        kind = NOTICE_KINDS.get(effect.kind, "notify")
        # The notice's words per reader's language, worded for the first reader of each: its text (a template
        # of the definition) and its variables are the same for all the others.
        worded: dict[str, tuple[str, dict[str, Any] | None, dict[str, Any]]] = {}
        for user in recipients:
            lang = self.renderer.tr.lang(user.language)
            if lang not in worded:
                text, keyboard = self._notice(loaded, effect, user.language, names)
                if effect.task is not None:
                    shared = self._task_vars(loaded, effect.task, user.language)
                    holder = names.get(effect.task.assignee_id or 0)
                    shared["holder"] = holder or self.renderer.role(effect.task.role, user.language)
                else:
                    shared = self._case_vars(loaded, user.language)
                worded[lang] = text, keyboard, shared
            text, keyboard, shared = worded[lang]
            plan = await self.channels.plan(kind, user)
            variables = {**shared, "text": text}
            row = None
            if plan.telegram:
                row = await self._telegram(kind, user, variables, keyboard)
                self._send_files(loaded, user, effect.attach)
            await self.channels.deliver(plan, variables, case_id=loaded.row.id, telegram_row=row)

    def _notice(
        self, loaded: Loaded, effect: Notify, lang: str, names: dict[int, str]
    ) -> tuple[str, dict[str, Any] | None]:
        renderer, state = self.renderer, loaded.state
        case_name = renderer.case_name(state, lang)
        if effect.kind == "text":
            body = renderer.template(effect.text, state.spec, state.data, lang, self._extra(loaded))
            return f"🔔 {case_name}\n{body}", renderer.case_button(loaded.row.id, lang)
        if effect.kind == "closed":
            stage = renderer.stage_title(state.spec, state.stage, lang)
            return renderer.t("🏁 Case closed: %(case)s — %(stage)s", lang, case=case_name, stage=stage), None
        assert effect.task is not None
        task = effect.task
        title = renderer.task_title(state.spec, task, lang)
        when = renderer.when(task.due_at)
        if effect.kind == "reminder":
            reminder = renderer.t(
                "⏰ Reminder: «%(task)s» is due %(when)s.\n%(case)s", lang, task=title, when=when, case=case_name
            )
            return reminder, None
        if effect.kind == "overdue":
            overdue = renderer.t(
                "⚠️ Overdue: «%(task)s» was due %(when)s.\n%(case)s", lang, task=title, when=when, case=case_name
            )
            return overdue, None
        holder = names.get(task.assignee_id or 0) or renderer.t("role %(r)s", lang, r=renderer.role(task.role, lang))
        return (
            renderer.t(
                "⚠️ Escalation: «%(task)s» is overdue (due %(when)s), it is with %(who)s.\n%(case)s",
                lang,
                task=title,
                when=when,
                who=holder,
                case=case_name,
            ),
            renderer.escalation_buttons(task, loaded.row.id, lang),
        )

    async def task_handed_over(
        self, loaded: Loaded, task: TaskState, previous: User, holder: User, by: User | None
    ) -> None:
        r, lang = self.renderer, previous.language
        title, case = r.task_title(loaded.state.spec, task, lang), r.case_name(loaded.state, lang)
        if by is None:
            text = r.t(
                "↪️ An administrator handed «%(task)s» over to %(who)s; it is no longer yours.\n%(case)s",
                lang,
                task=title,
                who=holder.name,
                case=case,
            )
        elif holder.id == by.id:
            text = r.t("↪️ %(by)s took over «%(task)s» from you.\n%(case)s", lang, by=by.name, task=title, case=case)
        else:
            text = r.t(
                "↪️ %(by)s handed «%(task)s» over to %(who)s; it is no longer yours.\n%(case)s",
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
            "🗓 %(by)s moved the deadline of «%(task)s» to %(when)s. Reason: %(reason)s\n%(case)s",
            lang,
            by=by.name,
            task=r.task_title(loaded.state.spec, task, lang),
            when=r.when(task.due_at),
            reason=reason,
            case=r.case_name(loaded.state, lang),
        )
        outbox.message(self.session, holder.tg_id, text, self.now, case_id=loaded.row.id)

    async def stage_changed(self, loaded: Loaded, user: User) -> None:
        state, r, lang = loaded.state, self.renderer, user.language
        steps = [
            r.t("«%(task)s» — due %(when)s", lang, task=r.task_title(state.spec, t, lang), when=r.when(t.due_at))
            if t.due_at is not None
            else f"«{r.task_title(state.spec, t, lang)}»"
            for t in state.open_tasks()
        ]
        text = r.t(
            "📍 %(case)s: now «%(stage)s».",
            lang,
            case=r.case_name(state, lang),
            stage=r.stage_title(state.spec, state.stage, lang),
        )
        if steps:
            text += " " + r.t("Next: %(steps)s.", lang, steps="; ".join(steps))
        plan = await self.channels.plan("stage_change", user)
        variables = {**self._case_vars(loaded, lang), "stage": r.stage_title(state.spec, state.stage, lang)}
        variables["text"] = text
        row = None
        if plan.telegram:
            buttons = r.stage_line_buttons(loaded.row.id, lang)
            row = await self._telegram("stage_change", user, variables, buttons, case_id=loaded.row.id)
        await self.channels.deliver(plan, variables, case_id=loaded.row.id, telegram_row=row)

    async def cases_listed(self, loaded: Loaded, text: Any, user: User, cases: list[dict[str, Any]]) -> None:
        body = self.renderer.template(text, loaded.state.spec, loaded.state.data, user.language, {"cases": cases})
        outbox.message(self.session, user.tg_id, body, self.now)

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
            where = t("case №%(id)s", lang, id=case.id) if case is not None else t("no case", lang)
            text = t(
                "⚠️ A step failed and needs attention: %(where)s, step «%(step)s».\nError: %(error)s\n"
                "Fix the data or load a corrected definition, then press «Retry».",
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
            "📝 Your request «%(process)s» was started more than %(days)s days ago and never finished, "
            "so it is closed. Start it again from the menu when you need it.",
            lang,
            process=self.renderer.local(loaded.state.spec.title, lang),
            days=days,
        )
        outbox.message(self.session, author.tg_id, text, self.now, case_id=loaded.row.id)

    async def item_shown(self, loaded: Loaded, name: str, index: int, recipients: Sequence[User]) -> dict[int, int]:
        rows = {}
        for user in recipients:
            text, keyboard = self.renderer.item_card(loaded.state, name, index, user.language)
            rows[user.id] = outbox.message(self.session, user.tg_id, text, self.now, keyboard, case_id=loaded.row.id)
        if rows:
            await outbox.flush(self.session)  # the cards' ids are kept with the case, to edit them when the item moves
        return {user_id: row.id for user_id, row in rows.items()}

    async def item_changed(self, loaded: Loaded, name: str, index: int, cards: dict[str, Any]) -> None:
        people = await self.people.users([int(user_id) for user_id in cards])
        for user_id, outbox_id in cards.items():
            user = people.get(int(user_id))
            if user is None or not isinstance(outbox_id, int):
                continue
            text, keyboard = self.renderer.item_card(loaded.state, name, index, user.language)
            payload: dict[str, Any] = {"text": text}
            if keyboard:
                payload["reply_markup"] = keyboard
            outbox.enqueue(
                self.session,
                chat_id=user.tg_id,
                method="editMessageText",
                payload=payload,
                now=self.now,
                ref_id=outbox_id,
                case_id=loaded.row.id,
            )

    async def item_reminder(self, loaded: Loaded, name: str, index: int, recipients: Sequence[User]) -> None:
        state = loaded.state
        for user in recipients:
            lang = user.language
            text = self.renderer.t(
                "⏰ «%(item)s» is still at «%(stage)s».\n%(case)s",
                lang,
                item=self.renderer.item_title(state, name, index, lang),
                stage=self.renderer.item_stage_title(state, name, _item_stage(state.data, name, index), lang),
                case=self.renderer.case_name(state, lang),
            )
            plan = await self.channels.plan("reminder", user)  # an item's reminder is a reminder too
            variables = {**self._case_vars(loaded, lang), "task": self.renderer.item_title(state, name, index, lang)}
            variables.update(due="", text=text)
            row = None
            if plan.telegram:
                card = ItemCb(action="card", case_id=loaded.row.id, list=name, index=index).pack()
                button = {"inline_keyboard": [[{"text": self.renderer.t("📦 Item", lang), "callback_data": card}]]}
                row = await self._telegram("reminder", user, variables, button, case_id=loaded.row.id)
            await self.channels.deliver(plan, variables, case_id=loaded.row.id, telegram_row=row)

    async def item_rejected(self, loaded: Loaded, name: str, index: int, to: str, reason: str, user: User) -> None:
        state, lang = loaded.state, user.language
        text = self.renderer.t(
            "✖️ «%(item)s» will not go to «%(stage)s»: not approved. Reason: %(reason)s\n%(case)s",
            lang,
            item=self.renderer.item_title(state, name, index, lang),
            stage=self.renderer.item_stage_title(state, name, to, lang),
            reason=reason,
            case=self.renderer.case_name(state, lang),
        )
        card = ItemCb(action="card", case_id=loaded.row.id, list=name, index=index).pack()
        button = {"inline_keyboard": [[{"text": self.renderer.t("📦 Item", lang), "callback_data": card}]]}
        outbox.message(self.session, user.tg_id, text, self.now, button, case_id=loaded.row.id)

    async def item_history(self, loaded: Loaded, name: str, index: int, user: User) -> None:
        state = loaded.state
        by = [h.get("by") for h in (item_state(state.data, name, index) or {}).get("history") or []]
        names = await self._names(loaded, [b for b in by if isinstance(b, int)])
        text = self.renderer.item_history(state, name, index, user.language, names)
        outbox.message(self.session, user.tg_id, text, self.now, case_id=loaded.row.id)

    async def digest(self, user: User, digest: Digest, chart_file_id: int | None) -> None:
        r, lang = self.renderer, user.language
        text = digest_view.digest_text(r, digest, lang)
        plan = await self.channels.plan("digest", user)
        row = None
        if plan.telegram:
            if chart_file_id is not None:
                caption = r.t("Open and overdue work", lang)
                payload = {"file_id": chart_file_id, "caption": caption}
                outbox.enqueue(self.session, chat_id=user.tg_id, method="sendPhoto", payload=payload, now=self.now)
            keyboard = digest_view.digest_keyboard(r, digest, lang)
            markup = keyboard.model_dump(exclude_none=True) if keyboard is not None else None
            row = await self._telegram("digest", user, {"text": text}, markup)
        await self.channels.deliver(plan, {"text": text}, case_id=None, telegram_row=row)

    async def comment_posted(self, loaded: Loaded, entry: Entry, recipients: Sequence[User]) -> None:
        r, case_id, comment = self.renderer, loaded.row.id, entry.comment
        for user in recipients:
            lang = user.language
            case = r.case_name(loaded.state, lang)
            title = (
                r.t("🔒 Internal note on %(case)s", lang, case=case)
                if comment.internal
                else r.t("💬 Comment on %(case)s", lang, case=case)
            )
            reply = CaseCb(action="reply", case_id=case_id, arg=str(comment.id)).pack()
            show = CaseCb(action="show", case_id=case_id).pack()
            keyboard = {
                "inline_keyboard": [
                    [
                        {"text": r.t("↩️ Reply", lang), "callback_data": reply},
                        {"text": r.t("📁 Case", lang), "callback_data": show},
                    ]
                ]
            }
            # Comments go by the person's channels like every other kind (Telegram on unless an admin says
            # otherwise); the recipients were already cut to who may read the comment (no internal note for a
            # dealer), so no channel widens that.
            plan = await self.channels.plan("comment", user)
            variables = {**self._case_vars(loaded, lang), "author": entry.author, "text": r.comment_line(entry, lang)}
            row = None
            if plan.telegram:
                if entry.file is not None:
                    caption = f"{entry.author} · {case}"
                    outbox.files(self.session, user.tg_id, self.now, [(entry.file.id, entry.file.kind, caption)],
                                 case_id=case_id)  # fmt: skip
                # The Telegram message's text is the whole of it, its heading with the comment's line.
                shown = {**variables, "text": f"{title}\n{variables['text']}"}
                row = await self._telegram("comment", user, shown, keyboard, case_id=case_id)
            await self.channels.deliver(plan, variables, case_id=case_id, telegram_row=row)

    async def document_arrived(
        self,
        loaded: Loaded,
        file_id: int,
        kind: str,
        number: str,
        date: str,
        replaced: bool,
        recipients: Sequence[User],
    ) -> None:
        r, case_id = self.renderer, loaded.row.id
        for user in recipients:
            lang = user.language
            document = document_title(r.t, kind, number, date, lang)
            case = r.case_name(loaded.state, lang)
            text = (
                r.t("📄 1C changed %(document)s for %(case)s: here is the new version.", lang, document=document,
                    case=case)
                if replaced
                else r.t("📄 1C sent %(document)s for %(case)s.", lang, document=document, case=case)
            )  # fmt: skip
            get = CaseCb(action="doc", case_id=case_id, arg=str(file_id)).pack()
            show = CaseCb(action="show", case_id=case_id).pack()
            keyboard = {"inline_keyboard": [[{"text": r.t("📥 Get the document", lang), "callback_data": get},
                                             {"text": r.t("📁 Case", lang), "callback_data": show}]]}  # fmt: skip
            plan = await self.channels.plan("notify", user)
            variables = {**self._case_vars(loaded, lang), "text": text}
            row = None
            if plan.telegram:
                row = await self._telegram("notify", user, variables, keyboard, case_id=case_id)
            await self.channels.deliver(plan, variables, case_id=case_id, telegram_row=row)

    def email(
        self,
        to: str,
        subject: str,
        body: str,
        file_ids: list[int],
        *,
        case_id: int | None = None,
        responsible_id: int | None = None,
    ) -> None:
        payload: dict[str, Any] = {"to": to, "subject": subject, "body": body, "file_ids": file_ids}
        if responsible_id is not None:
            payload["responsible_id"] = responsible_id
        row = outbox.enqueue(self.session, chat_id=0, method="email", now=self.now, payload=payload, case_id=case_id)
        row.channel = "email"

    async def delivery_failed(self, row: Outbox, person: User) -> None:
        r, lang, payload = self.renderer, person.language, row.payload
        channel = r.t("SMS", lang) if row.channel == "sms" else r.t("e-mail", lang)
        where = r.t("case №%(id)s", lang, id=row.case_id) if row.case_id else r.t("no case", lang)
        lines = [
            r.t(
                "⚠️ The %(channel)s to %(to)s (%(case)s) could not be sent: %(error)s",
                lang,
                channel=channel,
                to=payload.get("to") or "—",
                case=where,
                error=row.error or "?",
            ),
            r.t("Please send it yourself, by hand:", lang),
            r.t("To: %(to)s", lang, to=payload.get("to") or "—"),
        ]
        if payload.get("subject"):
            lines.append(r.t("Subject: %(subject)s", lang, subject=payload["subject"]))
        lines += ["", str(payload.get("body") or "")]
        count = len([i for i in payload.get("file_ids", []) if isinstance(i, int)])
        if count:
            lines += ["", r.t("Attach the case's files (%(n)s): «📎 Files» on the case card.", lang, n=count)]
        keyboard = r.case_button(row.case_id, lang) if row.case_id else None
        outbox.message(self.session, person.tg_id, "\n".join(lines), self.now, keyboard, case_id=row.case_id)

    def _send_files(self, loaded: Loaded, user: User, field_names: Iterable[str]) -> None:
        state = loaded.state
        files = self.renderer.files(state.spec, state.data, list(field_names), user.language)
        send_files(self.session, user.tg_id, self.now, files, self.renderer.case_name(state, user.language))


# The kind of notification (services/channels.py) each of the engine's notices is.
NOTICE_KINDS = {"text": "notify", "closed": "notify", "reminder": "reminder", "overdue": "reminder",
                "escalation": "escalation"}  # fmt: skip


def _item_stage(data: dict[str, Any], name: str, index: int) -> str | None:
    state = item_state(data, name, index)
    stage = state.get("stage") if state else None
    return stage if isinstance(stage, str) else None
