"""Files of cases: Telegram's file_id plus a copy on disk, so documents can be sent again and used in templates."""

from __future__ import annotations

import hashlib
import io
import mimetypes
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import StoredFile
from flows.templating import _date, _money, printed


class FileStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = (data_dir / "files").resolve()

    def write(self, content: bytes, name: str) -> str:
        digest = hashlib.sha256(content).hexdigest()
        suffix = Path(name).suffix[:10]
        relative = f"{digest[:2]}/{digest}{suffix}"
        path = self.root / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(content)
            tmp.replace(path)
        return relative

    def path(self, stored: StoredFile) -> Path:
        return self.root / stored.path

    def remove(self, relative: str) -> None:
        """A file no row names any more (`services.kept_files.drop_stale` says which), off the disk."""
        (self.root / relative).unlink(missing_ok=True)

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
        stored = StoredFile(
            case_id=case_id,
            kind=kind,
            tg_file_id=tg_file_id,
            tg_unique_id=tg_unique_id,
            file_name=name,
            mime_type=mime_type or mimetypes.guess_type(name)[0],
            size=len(content),
            path=self.write(content, name),
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


def file_ref(stored: StoredFile) -> dict[str, Any]:
    """How a file is kept in case data: enough to show it without a query."""
    return {"id": stored.id, "name": stored.file_name, "kind": stored.kind, "mime": stored.mime_type}


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
