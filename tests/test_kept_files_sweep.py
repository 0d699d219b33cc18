"""A stray photo's copy on disk is deleted a day after it came — unless the same picture is being uploaded right then,
or a render job is writing the very same bytes. Files are stored by their content, so the new upload (or document)
names the very file the sweep is about to delete; the writer and the delete hold the path in turns
(`FileStore.hold`), whichever comes first, and the new row is never left pointing at a deleted file. The
interleavings are driven step by step, on PostgreSQL and SQLite alike."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram import Bot
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import writer_turns
from db.models import Outbox, StoredFile
from flows.status import OutboxStatus
from services import kept_files, outbox
from services.delivery import OutboxSender
from services.files import NOT_RENDERED, PATH_LOCKS, FileStore

CAME = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)
A_DAY_ON = CAME + timedelta(days=1, minutes=1)
PICTURE = b"\xff\xd8\xff\xe0 the scratched dial, photographed from the left"
# The reconciliation workbook the bot renders for a dealer; the dealer sent yesterday's back in chat, byte for byte.
SHEET = b"PK\x03\x04 reconciliation with Alpha Watches, December"
SHEET_NAME = "Сверка.xlsx"


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path)


async def upload(
    store: FileStore, session: AsyncSession, unique_id: str, now: datetime, content: bytes = PICTURE,
    name: str = "dial.jpg",
) -> StoredFile:
    """A person sends the picture when no question asked for one: a stray file, the content's path on disk."""
    return await store.add(session, content=content, name=name, kind="photo", now=now, case_id=None,
                           user_id=None, tg_file_id=f"file-{unique_id}", tg_unique_id=unique_id)  # fmt: skip


async def a_day_old_stray_photo_dropped(
    store: FileStore, sessions: async_sessionmaker[AsyncSession], content: bytes = PICTURE, name: str = "dial.jpg"
) -> str:
    """Yesterday's stray photo; the sweep deletes its row (committed) and is left with its path to delete on disk."""
    async with sessions() as session, session.begin():
        old = await upload(store, session, "yesterday", CAME, content, name)
    async with sessions() as session, session.begin():
        assert await kept_files.drop_stale(session, A_DAY_ON) == [old.path]  # no row names it any more
    return old.path


def waiting_for_the_path(sessions: async_sessionmaker[AsyncSession]) -> Callable[[], Awaitable[bool]]:
    """Whether a transaction is waiting for another's hold of a path: on PostgreSQL an advisory lock of the paths'
    space not granted; on SQLite a transaction of this process waiting for its turn at the write lock."""
    engine = sessions.kw["bind"]
    turns = writer_turns(engine)

    async def waiting() -> bool:
        if turns is not None:
            return turns.waiting > 0
        async with engine.connect() as connection:
            found = await connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :space AND NOT granted"
            ), {"space": PATH_LOCKS})  # fmt: skip
            return bool(found.scalar())

    return waiting


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Until the other transaction is seen waiting (a state of the database, not a guess at how long it takes)."""
    async with asyncio.timeout(10):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.01)


async def test_the_same_picture_uploaded_after_its_stray_copy_was_dropped_keeps_the_file(
    store: FileStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The sweep has deleted the stray row and found the path named by no row; before it deletes the file, the person
    sends the same picture again (its row committed). The delete looks again under the path's hold and keeps it."""
    path = await a_day_old_stray_photo_dropped(store, sessionmaker)
    async with sessionmaker() as session, session.begin():
        again = await upload(store, session, "today", A_DAY_ON)
    async with sessionmaker() as session, session.begin():
        assert await store.remove_unnamed(session, path) is False
    assert store.path(again).read_bytes() == PICTURE


async def test_a_delete_that_comes_while_the_same_picture_is_being_uploaded_waits_for_its_row(
    store: FileStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The upload has found the file on disk (so it writes nothing) and added its row, not yet committed: the delete
    waits for that transaction, then sees the row and keeps the file."""
    path = await a_day_old_stray_photo_dropped(store, sessionmaker)
    async with sessionmaker() as uploading, uploading.begin():
        again = await upload(store, uploading, "today", A_DAY_ON)
        assert again.path == path

        async def sweep() -> bool:
            async with sessionmaker() as session, session.begin():
                return await store.remove_unnamed(session, path)

        deleting = asyncio.create_task(sweep())
        await until(waiting_for_the_path(sessionmaker))
        assert not deleting.done() and store.path(again).exists()
    assert await deleting is False
    assert store.path(again).read_bytes() == PICTURE


async def test_an_upload_that_comes_while_the_file_is_being_deleted_writes_it_anew(
    store: FileStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The delete holds the path and has found no row naming it; the same picture comes meanwhile: the upload waits,
    finds the file gone once the delete is through, and writes it again before its row names it."""
    path = await a_day_old_stray_photo_dropped(store, sessionmaker)

    async def send_again() -> StoredFile:
        async with sessionmaker() as session, session.begin():
            return await upload(store, session, "today", A_DAY_ON)

    async with sessionmaker() as deleting, deleting.begin():
        await store.hold(deleting, path)
        uploading = asyncio.create_task(send_again())
        await until(waiting_for_the_path(sessionmaker))
        assert await store.remove_unnamed(deleting, path) is True
        assert not (store.root / path).exists() and not uploading.done()
    again = await uploading
    assert again.path == path and store.path(again).read_bytes() == PICTURE


async def a_render_job(store: FileStore, sessions: async_sessionmaker[AsyncSession]) -> tuple[int, Outbox]:
    """A step reserved the reconciliation workbook (its row names no file yet) and queued the job that renders it."""
    async with sessions() as session, session.begin():
        sheet = await store.reserve(session, name=SHEET_NAME, kind="document", now=A_DAY_ON, case_id=None,
                                    user_id=None)  # fmt: skip
        job = outbox.render_job(session, payload={"file_id": sheet.id, "name": SHEET_NAME, "kind": "xlsx"},
                                now=A_DAY_ON, case_id=None)  # fmt: skip
    return sheet.id, job


def renderer(store: FileStore, sessions: async_sessionmaker[AsyncSession]) -> OutboxSender:
    """The outbox sender as it runs render jobs, its renderer making the very workbook the dealer sent back."""

    async def render(payload: dict[str, object]) -> bytes:
        return SHEET

    return OutboxSender(Bot("42:never-asked"), sessions, store, documents=render)  # renders only: no Telegram


async def the_file(sessions: async_sessionmaker[AsyncSession], file_id: int) -> StoredFile:
    async with sessions() as session:
        stored = await session.get(StoredFile, file_id)
    assert stored is not None
    return stored


async def test_a_render_that_comes_while_the_same_bytes_are_being_deleted_writes_them_anew(
    store: FileStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The delete holds the path of the workbook the dealer sent back yesterday and has found no row naming it; the
    report renders the same workbook meanwhile: its write waits, finds the file gone once the delete is through,
    writes it again and its row names it. (Written outside the hold, the render found the copy there, wrote nothing,
    and was left naming a deleted file.)"""
    path = await a_day_old_stray_photo_dropped(store, sessionmaker, SHEET, SHEET_NAME)
    sheet_id, job = await a_render_job(store, sessionmaker)
    sender = renderer(store, sessionmaker)
    async with sessionmaker() as deleting, deleting.begin():
        await store.hold(deleting, path)
        rendering = asyncio.create_task(sender._render(job))
        await until(waiting_for_the_path(sessionmaker))
        assert await store.remove_unnamed(deleting, path) is True
        assert not (store.root / path).exists() and not rendering.done()
    assert (await rendering).values["status"] == OutboxStatus.SENT
    sheet = await the_file(sessionmaker, sheet_id)
    assert sheet.path == path and sheet.size == len(SHEET) and store.path(sheet).read_bytes() == SHEET


async def test_a_delete_that_comes_while_the_same_bytes_are_being_rendered_waits_for_the_documents_row(
    store: FileStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The render has found the dealer's copy on disk (so it writes nothing) and completed its row, not yet
    committed: the delete waits for that transaction, then sees the row and keeps the file."""
    path = await a_day_old_stray_photo_dropped(store, sessionmaker, SHEET, SHEET_NAME)
    sheet_id, _job = await a_render_job(store, sessionmaker)
    async with sessionmaker() as rendering, rendering.begin():
        assert await store.fill(rendering, sheet_id, SHEET, SHEET_NAME) is True

        async def sweep() -> bool:
            async with sessionmaker() as session, session.begin():
                return await store.remove_unnamed(session, path)

        deleting = asyncio.create_task(sweep())
        await until(waiting_for_the_path(sessionmaker))
        assert not deleting.done() and (store.root / path).exists()
    assert await deleting is False
    sheet = await the_file(sessionmaker, sheet_id)
    assert sheet.path == path and store.path(sheet).read_bytes() == SHEET


class Crash(Exception):
    """The worker dies between the document's write and its commit."""


async def test_a_render_that_dies_before_its_commit_is_run_again_and_its_document_kept(
    store: FileStore, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The workbook is on disk but its row was never committed: the reserved file still waits, and nothing names a
    missing file. The job run again completes the row, and a third run (after a crash past the commit) writes nothing
    over it."""
    sheet_id, job = await a_render_job(store, sessionmaker)
    with pytest.raises(Crash):
        async with sessionmaker() as session, session.begin():
            await store.fill(session, sheet_id, SHEET, SHEET_NAME)
            raise Crash
    assert (await the_file(sessionmaker, sheet_id)).path == NOT_RENDERED
    sender = renderer(store, sessionmaker)
    assert (await sender._render(job)).values["status"] == OutboxStatus.SENT
    sheet = await the_file(sessionmaker, sheet_id)
    assert sheet.path != NOT_RENDERED and store.path(sheet).read_bytes() == SHEET
    async with sessionmaker() as session, session.begin():
        assert await store.fill(session, sheet_id, b"PK\x03\x04 rendered again a second later", SHEET_NAME) is False
    again = await the_file(sessionmaker, sheet_id)
    assert (again.path, again.size) == (sheet.path, len(SHEET))
    assert [f.relative_to(store.root).as_posix() for f in store.root.rglob("*.xlsx")] == [sheet.path]
