"""A case's comment thread: its participants talk about it in chat (text, a photo or a file), reply to each
other, and the representative office keeps internal notes the external side never sees.

Who a comment reaches: the case's participants (its initiator and responsible, whoever held or did any of its tasks,
the members of a role an open task waits for, those who follow it, earlier commenters), narrowed by
`services.access` (they may see the case; an internal note only to the internal side)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Comment, StoredFile, Task, User
from flows.i18n import _
from flows.runtime import EngineError
from flows.status import TaskStatus
from services import access, following
from services import people as people_repo
from services.cases import CaseService, Loaded

COMMENT = "comment"  # the kind of `User.prompt` while the person writes a comment
MAX_TEXT = 3000  # a comment goes out with its heading and buttons in one message
SHOWN = 3  # the case card shows the thread's last few


class NothingToSay(EngineError):
    """An empty comment (no text, no file): the person is asked again."""


@dataclass
class Attachment:
    """A photo or a file sent with a comment, as the chat received it."""

    kind: str  # photo | document
    content: bytes
    name: str
    mime_type: str | None
    tg_file_id: str
    tg_unique_id: str | None


@dataclass
class Entry:
    """One comment as a reader sees it: who, when, what (and what it answers)."""

    comment: Comment
    author: str
    file: StoredFile | None
    reply_to: Comment | None
    reply_author: str


class Comments:
    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.session: AsyncSession = cases.session

    # --- writing --------------------------------------------------------------------------------------

    async def ask(self, viewer: access.Viewer, case_id: int, internal: bool, reply_to: int | None = None) -> Loaded:
        """«💬 Comment» (or «🔒 Internal note», «Reply»): the person's next message is the comment."""
        loaded = await self.cases.visible(viewer, case_id)
        if reply_to is not None:
            answered = await self._readable(viewer, case_id, reply_to)
            internal = answered.internal  # a reply to an internal note stays internal
        if internal:
            access.require(access.sees_internal(viewer), _("Internal notes are for the representative office only."))
        viewer.user.prompt = {"kind": COMMENT, "case_id": case_id, "internal": internal, "reply_to": reply_to}
        return loaded

    @staticmethod
    def pending(user: User) -> bool:
        return Comments.prompt_pending(user.prompt)

    @staticmethod
    def prompt_pending(prompt: dict[str, Any] | None) -> bool:
        """Whether a person's `prompt`, as stored, waits for a comment (read without loading the person)."""
        return bool(prompt and prompt.get("kind") == COMMENT)

    @staticmethod
    def drop(user: User) -> None:
        user.prompt = None

    async def post(self, viewer: access.Viewer, text: str, attachment: Attachment | None) -> tuple[Loaded, Comment]:
        """The comment came: kept in the thread, audited, and sent to the participants who may read it."""
        prompt, user = dict(viewer.user.prompt or {}), viewer.user
        text = text.strip()[:MAX_TEXT]
        if not text and attachment is None:
            raise NothingToSay(_("Please write the comment, or send a photo or a file."))
        user.prompt = None
        case_id, internal, reply_to = int(prompt["case_id"]), bool(prompt.get("internal")), prompt.get("reply_to")
        loaded = await self.cases.visible(viewer, case_id)  # still theirs to see (roles change)
        only_staff = _("Internal notes are for the representative office only.")
        access.require(not internal or access.sees_internal(viewer), only_staff)
        now = self.cases.now
        stored = None
        if attachment is not None:
            stored = await self.cases.core.files.add(
                self.session, content=attachment.content, name=attachment.name, kind=attachment.kind, now=now,
                case_id=case_id, user_id=user.id, mime_type=attachment.mime_type, tg_file_id=attachment.tg_file_id,
                tg_unique_id=attachment.tg_unique_id,
            )  # fmt: skip
        comment = Comment(
            case_id=case_id, author_id=user.id, text=text, file_id=stored.id if stored else None,
            reply_to_id=int(reply_to) if reply_to else None, internal=internal, created_at=now,
        )  # fmt: skip
        self.session.add(comment)
        await self.session.flush()
        self.session.add(
            AuditEntry(
                case_id=case_id, actor_id=user.id, action="case.commented", at=now,
                data={"comment": comment.id, "internal": internal, "reply_to": comment.reply_to_id},
            )
        )  # fmt: skip
        readers = await self.readers(loaded, comment)
        entry = (await entries(self.session, [comment]))[0]
        await self.cases.notifier.comment_posted(loaded, entry, readers)
        return loaded, comment

    # --- reading --------------------------------------------------------------------------------------

    async def thread(self, viewer: access.Viewer, case_id: int, last: int | None = None) -> tuple[list[Entry], int]:
        """The comments this person may read (the last `last` of them), and how many there are in all."""
        query = select(Comment).where(Comment.case_id == case_id).order_by(Comment.id)
        if not access.sees_internal(viewer):
            query = query.where(Comment.internal.is_(False))
        rows = list((await self.session.execute(query)).scalars())
        shown = rows[-last:] if last else rows
        return await entries(self.session, shown), len(rows)

    async def readers(self, loaded: Loaded, comment: Comment) -> list[User]:
        """Everyone the comment reaches (its author aside)."""
        state = loaded.state
        ids: set[int | None] = {state.initiator_id, state.responsible_id}
        roles: set[str] = set()
        for task in state.tasks:
            ids |= {task.assignee_id, task.done_by}
            if task.status == TaskStatus.OPEN and task.assignee_id is None and task.role:
                roles.add(task.role)  # a pool task: whoever may take it handles the case now
        # Whoever held or did its tasks before: the loaded case holds its open tasks only, and a stage with none
        # open (an approved order waiting for 1C) would leave the question with nobody on the maker's side.
        worked = await self.session.execute(
            select(Task.assignee_id, Task.done_by).where(Task.case_id == loaded.row.id)
        )
        for holder, doer in worked.all():
            ids |= {holder, doer}
        for role in roles:
            ids |= set(await people_repo.member_ids(self.session, role))
        followers, _muted = await following.audience(self.session, loaded.row.id, state.initiator_id or 0)
        ids |= set(followers)
        earlier = await self.session.execute(select(Comment.author_id).where(Comment.case_id == loaded.row.id))
        ids |= set(earlier.scalars())
        ids.discard(None)
        ids.discard(comment.author_id)
        users = await people_repo.users_by_ids(self.session, [i for i in ids if i is not None])
        candidates = [
            access.Viewer.of(u, await people_repo.roles_of(self.session, u.id)) for u in users.values()
        ]
        return await access.comment_readers(self.session, loaded.row, state.spec, candidates, comment.internal)

    async def _readable(self, viewer: access.Viewer, case_id: int, comment_id: int) -> Comment:
        comment = await self.session.get(Comment, comment_id)
        if comment is None or comment.case_id != case_id or not access.may_read_comment(viewer, comment.internal):
            raise EngineError(_("There is no such comment."))
        return comment



async def threads(session: AsyncSession, viewer: access.Viewer, case_ids: list[int]) -> dict[int, list[Entry]]:
    """The threads of these cases as this person may read them (an export's column), by case."""
    query = select(Comment).where(Comment.case_id.in_(case_ids)).order_by(Comment.id)
    if not access.sees_internal(viewer):
        query = query.where(Comment.internal.is_(False))
    found: dict[int, list[Entry]] = {}
    for entry in await entries(session, list((await session.execute(query)).scalars())):
        found.setdefault(entry.comment.case_id, []).append(entry)
    return found


async def entries(session: AsyncSession, comments: list[Comment]) -> list[Entry]:
    """The comments with their authors' names, their files and what they answer (a few queries in all)."""
    answered_ids = {c.reply_to_id for c in comments if c.reply_to_id}
    answered = {
        c.id: c for c in (await session.execute(select(Comment).where(Comment.id.in_(answered_ids)))).scalars()
    } if answered_ids else {}  # fmt: skip
    names = await people_repo.users_by_ids(
        session, {c.author_id for c in [*comments, *answered.values()] if c.author_id}
    )
    file_ids = [c.file_id for c in comments if c.file_id]
    files = {
        f.id: f for f in (await session.execute(select(StoredFile).where(StoredFile.id.in_(file_ids)))).scalars()
    } if file_ids else {}  # fmt: skip

    def name(user_id: int | None) -> str:
        person = names.get(user_id) if user_id else None
        return person.name if person else "—"

    found = []
    for c in comments:
        replied = answered.get(c.reply_to_id) if c.reply_to_id else None
        found.append(
            Entry(c, name(c.author_id), files.get(c.file_id or 0), replied, name(replied.author_id) if replied else "")
        )
    return found


async def case_thread(session: AsyncSession, case_id: int) -> list[Entry]:
    """A case's whole thread, internal notes included: for the panel, which is the admins' alone."""
    query = select(Comment).where(Comment.case_id == case_id).order_by(Comment.id)
    return await entries(session, list((await session.execute(query)).scalars()))
