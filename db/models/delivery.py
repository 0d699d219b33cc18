"""Messages in flight, both ways: the outbox (every message to a person is written there first, then delivered
once by the sender in services/delivery/) and the inbox (every update from Telegram, stored before it is
acknowledged, then handled by services/inbox/). Neither points at a case by a foreign key: the case's id is kept
only so that the panel can list failures by case."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, status_type
from flows.status import InboxStatus, OutboxStatus

# The outbox's rows that send stored files (a photo, a document, an album), as SQL: a partial index's condition
# and the queries it serves.
FILE_METHODS = ("sendPhoto", "sendDocument", "sendMediaGroup")
CASE_FILE_ROWS = "method IN ({})".format(", ".join(f"'{method}'" for method in FILE_METHODS))


class Outbox(Base):
    """Every message to a person is written here first, then delivered once by the sender."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "not_before"),
        # The sender's read of what waits, in id order (services/delivery/queue.py `_queue`): only the waiting rows,
        # already in that order, so the first thousand are a short range whatever the statistics say (migration
        # 0023). Its condition must be spelt `status = 'pending'` as a constant to match (`status_is`).
        Index(
            "ix_outbox_waiting",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # A chat's waiting and in-flight rows, for the claim of an update's messages right after its commit and the
        # read of the rows behind them (services/delivery/queue.py `_claim_handed_of`, `_BEHIND`, `_WAITING_IN`): a
        # few entries a chat, where the plain chat index holds its whole history (migration 0026). By chat_id alone
        # (SQLite's rowid, the id, follows it). OR, not IN: SQLite uses it only where a term of the query's WHERE
        # (`status_is`) is one of these terms.
        Index(
            "ix_outbox_chat_waiting",
            "chat_id",
            postgresql_where=text("status = 'pending' OR status = 'sending'"),
            sqlite_where=text("status = 'pending' OR status = 'sending'"),
        ),
        # The files a case's chats were sent, so that a card does not bring them again: read with the case at each
        # step (services/cases/case_row.py), or by `services.outbox.files_sent`. Only a case's file rows, not its
        # notices and cards (a long case has hundreds), so the step reads a few entries (migration 0034). The
        # query spells the condition's terms as they are here (`CASE_FILE_ROWS`), or neither database uses it.
        Index(
            "ix_outbox_case_files",
            "case_id",
            "chat_id",
            postgresql_where=text(f"case_id IS NOT NULL AND {CASE_FILE_ROWS}"),
            sqlite_where=text(f"case_id IS NOT NULL AND {CASE_FILE_ROWS}"),
        ),
        # An SMS's delivery report finds its message by the gateway's id (services/sms.py): only SMS have one, and a
        # NULL entry for every Telegram message was a write at its insert and at each change of its status
        # (migration 0028). `external_id = …` implies the condition on both databases.
        Index(
            "ix_outbox_external_id",
            "external_id",
            postgresql_where=text("external_id IS NOT NULL"),
            sqlite_where=text("external_id IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), default="telegram")
    # No plain index on chat_id: every chat read is of its waiting or in-flight rows (ix_outbox_chat_waiting); one
    # of a chat's whole history made the planner read it whenever statistics made the partial one look dearer.
    chat_id: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    ref_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))  # for edits: the message to edit
    case_id: Mapped[int | None] = mapped_column(Integer)  # what it is about (the panel lists failures by case)
    status: Mapped[str] = mapped_column(status_type(OutboxStatus), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Wall-clock time before which a retry must not go out; None means «now». Deliberately not the
    # business clock: Telegram's retry_after runs in real seconds even when tests move case time.
    not_before: Mapped[datetime | None]
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]  # wall clock; a row `sending` for too long belongs to a dead worker
    # The sender that claimed it: while that sender lives it holds an advisory lock on this key (PostgreSQL), so
    # after a crash its rows are recognised at once instead of after the lease.
    claimed_by: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    # An SMS gateway's id of the message (SMS.ru's sms_id) and the delivery report it sent back for it.
    external_id: Mapped[str | None] = mapped_column(String(64))
    report: Mapped[str | None] = mapped_column(String(200))


class InboxUpdate(Base):
    """Every update from Telegram, stored before it is acknowledged and marked done in the same transaction
    as its effects: a repeated `update_id` has no effect, a crash means it is handled after restart, once."""

    __tablename__ = "inbox"
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Whose update it is (the Telegram user, else the chat): one person's updates are handled in order.
    person_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(status_type(InboxStatus), default=InboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime]
    not_before: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # The case the failed step was about, when known (the panel lists such cases as needing attention).
    case_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_inbox_pending", "status", "person_id", "update_id"),
        # The passes' read of the due updates in update_id order (services/inbox/leasing.py `_pending`, `_lease`):
        # only the waiting updates, already in that order, so a pass reads them and not every update ever handled,
        # whatever the statistics say (migration 0025). Spelt `status = 'pending'` to match `status_is`.
        Index(
            "ix_inbox_waiting",
            "update_id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )
