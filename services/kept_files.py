"""Files a person sent when no question asked for one: kept (stored as files of no case yet, listed on the person's
row) and offered at the next question that takes a file, for a day; forgotten once used, declined or stale.

Several sent in a row (an album, or one after another) are kept together, the newest `MOST` of them: a person who
photographs a defect from four sides means all four for the question that comes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import StoredFile, User
from flows.model import FieldDef

KEEP_FOR = timedelta(hours=24)
MOST = 10


def kept(user: User, now: datetime) -> list[dict[str, Any]]:
    """The person's kept files (their refs, the oldest first), none once a day has passed since the last came."""
    state = user.kept_files
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


async def give_to_case(session: AsyncSession, files: list[dict[str, Any]], case_id: int) -> None:
    """The kept files used in a case's form become the case's files (seen with it, sent with its cards)."""
    ids = [int(file["id"]) for file in files]
    await session.execute(
        update(StoredFile).where(StoredFile.id.in_(ids), StoredFile.case_id.is_(None)).values(case_id=case_id)
    )
