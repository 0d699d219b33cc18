"""Files of cases: Telegram's file_id plus a copy on disk, so documents can be sent again and used in templates."""

from __future__ import annotations

import asyncio
import hashlib
import io
import mimetypes
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import StoredFile
from flows.templating import _date, _money, printed

PATH_LOCKS = 727006  # PostgreSQL's advisory lock space of stored files' paths (`FileStore.hold`)


class FileStore:
    """Files on disk, named by their content: the same bytes sent twice are one file that several rows name. A file
    the last row naming it let go of is deleted (`remove_unnamed`) while an upload (`add`) or a render job (`fill`) of
    the same bytes may be coming: each holds the path (`hold`) for its transaction, so the row naming the file is
    committed before the delete looks, or the file is gone before the writer looks and is written anew."""

    def __init__(self, data_dir: Path) -> None:
        self.root = (data_dir / "files").resolve()

    @staticmethod
    def relative(content: bytes, name: str) -> str:
        digest = hashlib.sha256(content).hexdigest()
        return f"{digest[:2]}/{digest}{Path(name).suffix[:10]}"

    def _write_at(self, relative: str, content: bytes) -> str:
        path = self.root / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(content)
            tmp.replace(path)
        return relative

    def path(self, stored: StoredFile) -> Path:
        return self.root / stored.path

    async def hold(self, session: AsyncSession, relative: str) -> None:
        """The path is this transaction's until it ends: a delete of the file (`remove_unnamed`) and a row that names
        it (`add`, `fill`) take turns. Held by the database, not this process, as a second worker stores files too: on
        PostgreSQL a transaction-level advisory lock on the path; on SQLite the database's write lock, which every
        transaction takes at its BEGIN (`db.engine.WriterTurns`), so beginning it is the hold. A session in a
        transaction: in autocommit the lock would be let go at once."""
        if session.get_bind().dialect.name == "sqlite":
            await session.connection()
            return
        key = int.from_bytes(hashlib.sha256(relative.encode()).digest()[:4], "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"), {"space": PATH_LOCKS, "key": key})

    async def remove_unnamed(self, session: AsyncSession, relative: str) -> bool:
        """A file the rows deleted by a committed transaction named (`services.kept_files.drop_stale`), off the disk
        unless a row names it now: the same bytes uploaded since, or being uploaded — held (`hold`) till its row is
        committed, then seen here. True when it was deleted."""
        await self.hold(session, relative)
        named = await session.execute(select(StoredFile.id).where(StoredFile.path == relative).limit(1))
        if named.first() is not None:
            return False
        (self.root / relative).unlink(missing_ok=True)
        return True

    async def add(
        self,
        session: AsyncSession,
        *,
        content: bytes,
        name: str,
        kind: str,
        now: datetime,
        case_id: int | None,
        user_id: int | None,
        mime_type: str | None = None,
        tg_file_id: str | None = None,
        tg_unique_id: str | None = None,
    ) -> StoredFile:
        relative = self.relative(content, name)
        await self.hold(session, relative)  # a stray copy of the same bytes is not deleted from under its new row
        stored = StoredFile(
            case_id=case_id,
            kind=kind,
            tg_file_id=tg_file_id,
            tg_unique_id=tg_unique_id,
            file_name=name,
            mime_type=mime_type or mimetypes.guess_type(name)[0],
            size=len(content),
            path=self._write_at(relative, content),
            uploaded_by=user_id,
            created_at=now,
        )
        session.add(stored)
        await session.flush()
        return stored

    async def reserve(
        self,
        session: AsyncSession,
        *,
        name: str,
        kind: str,
        now: datetime,
        case_id: int | None,
        user_id: int | None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """A file whose content a render job writes after the step's commit: the case can point at it (and
        messages can name it) at once; it is sent only once `rendered`."""
        stored = StoredFile(**reserved_row(name=name, kind=kind, now=now, case_id=case_id, user_id=user_id,
                                           mime_type=mime_type))
        session.add(stored)
        await session.flush()
        return stored

    async def fill(self, session: AsyncSession, file_id: int, content: bytes, name: str) -> bool:
        """A reserved file's content (`reserve`), which its render job made after the step's commit: written to disk
        and its row completed in the session's transaction, under the path's hold as an upload is (`add`) — a stray
        copy of the same bytes is not deleted from under the row. The disk write goes to a worker thread (a workbook
        may be large). False when the row was completed already (a job run again after a crash): its first render
        stands and nothing is written."""
        relative = self.relative(content, name)
        await self.hold(session, relative)
        filled = await session.execute(
            update(StoredFile)
            .where(StoredFile.id == file_id, StoredFile.path == NOT_RENDERED)
            .values(path=relative, size=len(content))
            .returning(StoredFile.id)
        )
        if filled.first() is None:
            return False
        # Written before the commit: a crash in between leaves a file no row names, never a row without its file.
        await asyncio.to_thread(self._write_at, relative, content)
        return True


# A reserved file's path until its render job has written it; a render that failed for good leaves this path
# and a negative size (its messages fail instead of waiting for ever).
NOT_RENDERED = ""
RENDER_FAILED_SIZE = -1


def reserved_row(
    *, name: str, kind: str, now: datetime, case_id: int | None, user_id: int | None, mime_type: str | None = None
) -> dict[str, Any]:
    """A reserved file's row (`FileStore.reserve`, `CaseStore.reserve_file`): no content yet, not rendered."""
    return {
        "case_id": case_id, "kind": kind, "tg_file_id": None, "tg_unique_id": None, "file_name": name,
        "mime_type": mime_type or mimetypes.guess_type(name)[0], "size": 0, "path": NOT_RENDERED,
        "uploaded_by": user_id, "created_at": now,
    }


def rendered(stored: StoredFile) -> bool:
    return stored.path != NOT_RENDERED


def render_failed(stored: StoredFile) -> bool:
    return stored.path == NOT_RENDERED and stored.size == RENDER_FAILED_SIZE


SENT_BY = "sent_by"  # in a file's reference: the user (users.id) who sent it to the bot


def file_ref(stored: StoredFile) -> dict[str, Any]:
    """How a file is kept in case data: enough to show it without a query. A file a person sent in their chat says
    who (`SENT_BY`): their own message above holds it, so no card brings it back to them (a rendered letter, a file
    from 1C or the panel was sent by nobody, and is)."""
    ref = {"id": stored.id, "name": stored.file_name, "kind": stored.kind, "mime": stored.mime_type}
    if (sender := sent_by(stored)) is not None:
        ref[SENT_BY] = sender
    return ref


def sent_by(stored: StoredFile) -> int | None:
    """Who sent this file to the bot in their chat (a Telegram file), if anyone did."""
    return stored.uploaded_by if stored.tg_file_id is not None else None


def render_docx(template: Path, context: dict[str, Any]) -> bytes:
    """Fill a DOCX template. User text is XML-escaped (a brand «A&B» must stay «A&B» in the letter to the
    supplier, not break the document) and the template runs sandboxed like every definition text."""
    # docxtpl (python-docx, lxml's builders) is ~9 MB; rendering runs in a worker after the commit.
    from docxtpl import DocxTemplate

    document = DocxTemplate(str(template))
    env = SandboxedEnvironment(autoescape=True, finalize=printed)  # choices by their labels, numbers as in chat
    env.filters["money"] = _money
    env.filters["date"] = _date
    document.render(context, jinja_env=env, autoescape=True)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
