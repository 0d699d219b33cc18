"""Files a person sent when no question asked for one: kept (stored as files of no case yet, listed on the person's
row) and offered at the next question that takes a file, for a day; forgotten once used, declined or stale.

Several sent in a row (an album, or one after another) are kept together, the newest `MOST` of them: a person who
photographs a defect from four sides means all four for the question that comes.

Those no question took (stale, declined, or pushed out by newer ones) are deleted a day after they came, rows and
disk copies (`drop_stale`, on the scheduler's tick): a photo sent by mistake is not kept for ever."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import StoredFile, Task, User, status_is
from flows.model import FieldDef
from flows.runtime import COMMENT_FILE_SUFFIX
from flows.status import TaskStatus

KEEP_FOR = timedelta(hours=24)
MOST = 10
SWEEP_BATCH = 500  # stray files deleted in one tick at most: a backlog goes over the next ticks

# A file a person sent in chat (it has Telegram's unique id) that belongs to no case: one sent when no question asked
# for it, and no form took (a form's files are their case's from the start), or a decision's comment not confirmed
# (`_said_in_drafts`: kept while its draft waits). Indexed (migration 0039).
STRAY = and_(StoredFile.case_id.is_(None), StoredFile.tg_unique_id.is_not(None))


def kept(user: User, now: datetime) -> list[dict[str, Any]]:
    """The person's kept files (their refs, the oldest first), none once a day has passed since the last came."""
    return _fresh(user.kept_files, now)


def _fresh(state: dict[str, Any] | None, now: datetime) -> list[dict[str, Any]]:
    if not state or not state.get("files"):
        return []
    if now - datetime.fromisoformat(state["at"]) > KEEP_FOR:
        return []
    return list(state["files"])


def keep(user: User, file: dict[str, Any], album: str | None, now: datetime) -> bool:
    """One more file kept for the person. True if it begins a batch worth a word to them: not the second and later
    photos of an album sent at once (those arrive as updates of their own, one reply is enough)."""
    before = kept(user, now)
    same_album = album is not None and bool(before) and (user.kept_files or {}).get("album") == album
    user.kept_files = {"at": now.isoformat(), "album": album, "files": [*before, file][-MOST:]}
    return not same_album


def forget(user: User) -> None:
    if user.kept_files is not None:
        user.kept_files = None


def fitting(files: list[dict[str, Any]], field: FieldDef) -> list[dict[str, Any]]:
    """The kept files this field takes, as a file sent to its question would be taken (`FormAnswers.answer_file`):
    a photo field a picture, a field with `accept` only documents of those types; one field of one file the last."""
    chosen = []
    for file in files:
        image = file.get("kind") == "photo" or str(file.get("mime") or "").startswith("image/")
        if field.type == "photo" and not image:
            continue
        if field.accept:
            name = str(file.get("name") or "")
            suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            if file.get("kind") == "photo" or suffix not in [a.lower().lstrip(".") for a in field.accept]:
                continue
        chosen.append(file)
    return chosen if field.multiple else chosen[-1:]


async def give_to_case(session: AsyncSession, files: list[dict[str, Any]], case_id: int) -> list[dict[str, Any]]:
    """The kept files used in a case's form become the case's files (seen with it, sent with its cards). Those it
    took: one deleted a moment before as a day old (`drop_stale`) is not answered with."""
    ids = [int(file["id"]) for file in files]
    taken = await session.execute(
        update(StoredFile)
        .where(StoredFile.id.in_(ids), StoredFile.case_id.is_(None))
        .values(case_id=case_id)
        .returning(StoredFile.id)
    )
    given = set(taken.scalars())
    return [file for file in files if int(file["id"]) in given]


async def _said_in_drafts(session: AsyncSession, senders: list[int]) -> set[int]:
    """The files these people sent as the comment of a decision they have not confirmed yet (the marked-up offer
    photographed, the summary left for two days): no case's until it is confirmed, and not to be deleted under it."""
    if not senders:
        return set()
    drafts = await session.execute(
        select(Task.draft).where(
            Task.assignee_id.in_(senders), status_is(Task.status, TaskStatus.OPEN), Task.draft.is_not(None)
        )
    )
    return {
        int(ref["id"])
        for (draft,) in drafts
        for key, refs in ((draft or {}).get("values") or {}).items()
        if key.endswith(COMMENT_FILE_SUFFIX) and isinstance(refs, list)
        for ref in refs
        if isinstance(ref, dict) and isinstance(ref.get("id"), int)
    }


async def drop_stale(session: AsyncSession, now: datetime) -> list[str]:
    """Stray files a day old that no fresh list offers (the list's day counts from its newest file): their rows
    deleted, and the stale lists of their senders emptied. The disk paths no row names any more, to be removed once
    this commits — the row goes first: a crash in between leaves a file nobody names, never a row without its file."""
    cutoff = now - KEEP_FOR
    rows = (
        await session.execute(
            select(StoredFile.id, StoredFile.path, StoredFile.uploaded_by)
            .where(STRAY, StoredFile.created_at < cutoff)
            .order_by(StoredFile.created_at)
            .limit(SWEEP_BATCH)
        )
    ).all()
    if not rows:
        return []
    senders = {row.uploaded_by for row in rows if row.uploaded_by is not None}
    # Each sender's row locked as their own updates lock it: a file being offered to them, or used, right now is not
    # deleted under them; someone busy this moment is left for the next tick.
    lists: dict[int, dict[str, Any] | None] = dict(
        (
            await session.execute(
                select(User.id, User.kept_files).where(User.id.in_(senders)).with_for_update(skip_locked=True)
            )
        ).all()
    )
    offered = {int(file["id"]) for state in lists.values() for file in _fresh(state, now)}
    offered |= await _said_in_drafts(session, list(lists))
    stale = [user_id for user_id, state in lists.items() if state and not _fresh(state, now)]
    if stale:
        await session.execute(update(User).where(User.id.in_(stale)).values(kept_files=null()))
    doomed = [row for row in rows if (row.uploaded_by is None or row.uploaded_by in lists) and row.id not in offered]
    if not doomed:
        return []
    await session.execute(delete(StoredFile).where(StoredFile.id.in_([row.id for row in doomed]), STRAY))
    paths = {row.path for row in doomed}
    # Files are stored by their content: the same bytes sent again (or kept in a case) share the path.
    named = set((await session.execute(select(StoredFile.path).where(StoredFile.path.in_(paths)))).scalars())
    return sorted(paths - named)
