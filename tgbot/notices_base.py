"""What every part of the chat's notifier (`tgbot.notifier.OutboxNotifier`) stands on: the renderer, the
unit of work's session and people, the time of the change, the reader's channels (`services.channels`), a
notification's Telegram message (the bot's wording or the admin's template over it), the variables templates get,
and the files a message brings, sent as albums."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Outbox, User
from flows.model import FieldDef, LocalText, ProcessDef, TaskDef
from flows.runtime import TaskState, comment_file_key, task_def
from flows.spec_cache import SpecCache
from flows.status import TaskStatus
from services import outbox
from services.cases.state import Loaded
from services.channels import Channels
from services.definitions import Registry
from services.files import SENT_BY
from services.people import PeopleCache
from services.portal import stock_now
from services.wording.files import file_fields
from tgbot.render import CardHead, Renderer


def evidence_fields(spec: ProcessDef, stage: str, key: str) -> list[str]:
    """The fields whose files a task's card brings: those it attaches, those its text speaks of (a card that
    lists the watches shows their photos), and, for a task that asks someone to judge (approve), the case's
    photos — a verdict on evidence one cannot see is a guess. Not every document of the case with every such card
    (eight files after «Дефект устранён?» flood a phone): they are one tap away, the card's «📎 Files (n)»."""
    # They depend on the definition, the stage and the task's key alone, and a task is given on many steps: found
    # once per task. Keyed by stage and key, not by the task definition's identity: `task_def` makes a new one
    # for every edit, move, start or item task, and a freed one's id is soon another's.
    hit = _EVIDENCE.get(spec, (stage, key))
    if hit is not None:
        return list(hit)
    names = _evidence_fields(spec, task_def(spec, stage, key))
    return list(_EVIDENCE.put(spec, (stage, key), tuple(names)))


_EVIDENCE: SpecCache[ProcessDef, tuple[str, str], tuple[str, ...]] = SpecCache(1024)


def _evidence_fields(spec: ProcessDef, tdef: TaskDef) -> list[str]:
    names = list(tdef.attach)
    text = tdef.text
    sources = list(text.values()) if isinstance(text, dict) else [text or ""]
    for name in file_fields(spec):
        mentioned = any(re.search(rf"\b{re.escape(name)}\b", source) for source in sources)
        if name not in names and (mentioned or (tdef.kind == "approve" and _holds_photos(spec.fields[name]))):
            names.append(name)
    return [*names, *_quoted_comment_files(spec, sources)]


def _quoted_comment_files(spec: ProcessDef, sources: Sequence[str]) -> list[str]:
    """A text that quotes a decision's comment («Директор вернул КП: {{ approve_offer_comment }}») brings the photo
    the comment was given as: the offer marked up by hand is the remark, its caption (or «(фото)») only a word on
    it."""
    return [
        comment_file_key(task.key)
        for task in (t for stage in spec.stages for t in stage.tasks)
        if any(re.search(rf"\b{re.escape(task.key)}_comment\b", source) for source in sources)
    ]


def notice_comment_files(spec: ProcessDef, text: LocalText | None) -> list[str]:
    """The comment photos a process's notice brings: «Дефект не устранён: (фото)» read by the director without the
    photo says nothing. Found once per notice of a definition."""
    if text is None:
        return []
    sources = tuple(text.values()) if isinstance(text, dict) else (text,)
    hit = _QUOTED.get(spec, sources)
    if hit is None:
        hit = _QUOTED.put(spec, sources, tuple(_quoted_comment_files(spec, sources)))
    return list(hit)


_QUOTED: SpecCache[ProcessDef, tuple[str, ...], tuple[str, ...]] = SpecCache(1024)


def _holds_photos(fdef: FieldDef) -> bool:
    """A photo field, or a list whose entries have one (the watches, each with its photos)."""
    return fdef.type == "photo" or any(sub.type == "photo" for sub in (fdef.fields or {}).values())


def send_files(
    session: AsyncSession,
    chat_id: int,
    now: datetime,
    files: list[tuple[str, dict[str, Any]]],
    case_name: str,
    case_id: int,
) -> None:
    """The files as albums (photos together, documents together), each captioned with what it is and whose
    case it belongs to; written as the case's, so that a card does not bring them to this chat again."""
    items = [(ref["id"], ref.get("kind") or "document", f"{label} · {case_name}") for label, ref in files]
    outbox.files(session, chat_id, now, items, case_id=case_id)


class NoticesBase:
    def __init__(
        self,
        renderer: Renderer,
        session: AsyncSession,
        people: PeopleCache,
        now: datetime,
        processes: Callable[[], Iterable[ProcessDef]] = tuple,
        registry: Registry | None = None,
    ) -> None:
        self.renderer = renderer
        self.session = session
        self.people = people
        self.now = now
        # The processes new cases start with (`Registry.current_specs`): whether a person's menu offers to start one.
        self.processes = processes
        # Every version's definition, for a case other than the one told of (the case a card's case continues).
        self.registry = registry
        self._carded: set[int] = set()  # tasks given a card in this unit of work
        self.told_closed: set[tuple[int, int]] = set()  # (case, person): the final stage's notice said it closed
        # Which channels each kind of notification goes by, per person (services/channels/).
        self.channels = Channels(session, now)

    def _case_vars(self, loaded: Loaded, lang: str) -> dict[str, Any]:
        return {"case_number": loaded.row.id, "case_title": self.renderer.case_name(loaded.state, lang)}

    def _task_vars(self, loaded: Loaded, task: TaskState, lang: str) -> dict[str, Any]:
        return {
            **self._case_vars(loaded, lang),
            "task": self.renderer.task_title(loaded.state.spec, task, lang, loaded.state.data),
            "due": self.renderer.when(task.due_at, lang) if task.due_at is not None else "",
        }

    async def _names(self, loaded: Loaded, extra: Iterable[int | None] = ()) -> dict[int, str]:
        state = loaded.state
        ids: set[int | None] = {state.initiator_id, state.responsible_id, *extra}
        for task in state.tasks:
            ids |= {task.assignee_id, task.done_by}
        return await self.people.names(ids)

    def _extra(self, loaded: Loaded, lang: str | None) -> dict[str, Any]:
        return {"case": {"id": loaded.row.id, "title": loaded.state.title_in(lang)}, "today": self.now.date()}

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
        the kind in the person's language over it (services/channels/)."""
        text, mode = await self.channels.telegram(kind, user, self.renderer.tr.lang(user.language), variables)
        return outbox.message(self.session, user.tg_id, text, self.now, keyboard, case_id=case_id, parse_mode=mode)

    def _edit_card(
        self,
        user: User,
        ref_id: int,
        text: str,
        keyboard: dict[str, Any] | None,
        *,
        parse_mode: str | None = None,
        case_id: int | None = None,
    ) -> None:
        """A card already sent (the outbox row `ref_id`) edited in the person's chat to `text` and `keyboard`."""
        outbox.edit(self.session, user.tg_id, ref_id, text, self.now, keyboard, parse_mode=parse_mode, case_id=case_id)

    async def _card_heads(self, loaded: Loaded, task: TaskState) -> Callable[[str | None], CardHead]:
        """The shared part of the task's card per reader's language, rendered on first use: the readers of one
        card (a role's members, or the holders of its cards) get the same words, and its template's context
        and text are not built again for each of them. An order's card reads the catalogue's stock of its lines
        as it is now (one query, none for a case without catalogue positions)."""
        heads: dict[str, CardHead] = {}
        state = loaded.state
        stock = await stock_now(self.session, [state])
        if task.status != TaskStatus.OPEN:
            # Decided (or withdrawn) by this step: the card keeps the words it was decided on, read from the case
            # as the step found it (the row is written after the effects), not from the answer just given — the
            # director's «return» made his own card say the offer «came again after rework».
            state = dataclasses.replace(state, data=loaded.row.data)

        def head(lang: str | None) -> CardHead:
            key = self.renderer.tr.lang(lang)
            found = heads.get(key)
            if found is None:
                extra = {**self._extra(loaded, lang), "stock": stock} if stock else self._extra(loaded, lang)
                found = heads[key] = self.renderer.task_card_head(state, task, lang, extra)
            return found

        return head

    async def _send_files(
        self, loaded: Loaded, user: User, field_names: Iterable[str], *, at_hand: bool = False
    ) -> None:
        """The files a card or a notice brings, but those the person already has from this case (a judge's card
        with the photos as an album, then another card of the case with the same photos): one copy in the chat.
        `at_hand`: files a task's card brings to have at hand, not those the person sent themselves — their own
        message holds them (a notice's files are what it is about: «the offer approved» brings that very offer,
        whoever sent it)."""
        state = loaded.state
        files = self.renderer.files(state.spec, state.data, list(field_names), user.language)
        if at_hand:
            files = [(label, ref) for label, ref in files if ref.get(SENT_BY) != user.id]
        if files:
            sent = await outbox.files_sent(self.session, loaded.row.id, user.tg_id, loaded.files_sent)
            files = [(label, ref) for label, ref in files if ref["id"] not in sent]
        if files:
            send_files(self.session, user.tg_id, self.now, files, self.renderer.case_name(state, user.language),
                       loaded.row.id)  # fmt: skip
            if loaded.files_sent is not None:
                # Sent in this step: a later card of the step must know it even once these rows have left the step's
                # queue (a flush within the step, a sub-case's write taking the queue with it).
                loaded.files_sent.setdefault(user.tg_id, set()).update(ref["id"] for _label, ref in files)
