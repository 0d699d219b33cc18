"""The engine's state: the process definitions cases run (`definitions`), the cases, their tasks, the timed work
on a task (`work_periods`), the messages that show a task to someone (`task_cards`), timers, the files a case
keeps, its audit log and its comment thread. The services in services/cases/ and the scheduler write these; a
task card points at its message in the outbox (db/models/delivery.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base, Json, status_type
from flows.status import CaseStatus, TaskStatus, TimerStatus

if TYPE_CHECKING:
    # For the type checker only: the relationship finds Outbox by its name in the registry (db/models/__init__.py
    # imports every module before a mapper is configured).
    from db.models.delivery import Outbox


class Definition(Base):
    """One version of a process definition. Running cases keep the version they started with; new cases start on
    the one version of each process that `is_current` (the newest, unless an admin made another one current)."""

    __tablename__ = "definitions"
    __table_args__ = (
        UniqueConstraint("process", "version"),
        Index(
            "ux_definitions_current",
            "process",
            unique=True,
            postgresql_where=text("is_current"),
            sqlite_where=text("is_current"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    is_current: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_process_stage", "process", "stage"),
        # (updated_at, id, …): the newest cases first, for the panel's list and «my cases» of a busy person
        # (`services.menu` `Walk`); with `version`, the cases the case search has not yet written as of their version,
        # newest first, read from the index alone (with `ix_case_search_version`), never from a case's JSON (migration
        # 0041_case_search; 0042 dropped the (updated_at, id) index it made needless). Most of a case's updates change
        # its stage and leave HOT anyway (80% in seed 1's happy path).
        Index("ix_cases_search_stale", "updated_at", "id", "version"),
        # A process's open (or closed) cases, newest first: «my cases» of someone told of the process (migration 0030).
        Index("ix_cases_process_status_updated", "process", "status", "updated_at", "id"),
        # A case called by another names it (services/cases/calls.py); most cases are no one's child, and a NULL
        # entry for each was a write on every step that left HOT (migration 0028). `parent_id = …` implies the
        # condition on both databases.
        # The open cases a person leads (their responsible), where they stand: «my tasks» lists those waiting at a
        # stage only their hand move takes on (services/waiting_moves.py), read from the index, not from every case of
        # the stages (migration 0046). Partial: a closed case leaves it, and it takes no entry for history.
        Index(
            "ix_cases_active_responsible",
            "responsible_id",
            "process",
            "stage",
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
        Index(
            "ix_cases_parent_id",
            "parent_id",
            postgresql_where=text("parent_id IS NOT NULL"),
            sqlite_where=text("parent_id IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    process: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300), default="")
    # The title in the other languages of the process's `start.title` ({"en": …}); NULL for one title.
    titles: Mapped[dict[str, Any] | None]
    stage: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(status_type(CaseStatus), index=True)
    result: Mapped[str | None] = mapped_column(String(16))
    visit: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]]
    initiator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # A step of this case failed at run time: what went wrong, until a retry succeeds (the panel lists these).
    attention: Mapped[str | None] = mapped_column(Text)
    # Grows with every write of the row, which checks it (optimistic concurrency on top of the step's lock):
    # a writer that read an older state fails instead of overwriting a newer one.
    # No Python default: rows written by Core (older revisions' tests, bulk tools) take the server's.
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class CaseSearch(Base):
    """What the panel's search matches a case against, kept in SQL so a search is one query over every case: the
    words the panel shows for it (number, titles, process and stage titles, every field's value and label, people's
    names; in every language, case-folded) and its amounts (` 125000 2150000.5 `, each between spaces). Written by
    the search and the scheduler's tick (services/case_search.py) for the case as of `version`, and again once the case
    moved on."""

    __tablename__ = "case_search"
    __table_args__ = (
        # Whether a case's row is of its version, without reading the row's words (`ix_cases_search_stale`).
        Index("ix_case_search_version", "case_id", "version"),
        # PostgreSQL only (migration 0041_case_search): a word or an amount anywhere found by trigrams, not a scan;
        # SQLite has an FTS5 trigram index over `words` instead (not in the models, as the catalogue's).
        Index(
            "ix_case_search_words_trgm", "words", postgresql_using="gin", postgresql_ops={"words": "gin_trgm_ops"}
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_case_search_amounts_trgm",
            "amounts",
            postgresql_using="gin",
            postgresql_ops={"amounts": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    words: Mapped[str] = mapped_column(Text)
    amounts: Mapped[str] = mapped_column(Text)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        # A person's tasks whatever their status: «my cases» (services/access/ `own_cases`) reads them all.
        Index("ix_tasks_open_assignee", "assignee_id", "status"),
        # The others by status hold open tasks only (or done ones only): a task's close writes no entry to them,
        # and the table's history does not grow them. Queries of open tasks must spell `status = 'open'` as a
        # constant (`status_is`) to match; one of all open tasks reads `ix_tasks_open_case` whole (migration 0028
        # dropped the (status, role) index of every task, which took an entry at every task's close).
        # «My tasks» reads a page of open tasks in due order per person and per role's pool
        # (services/queries.py): already in that order, so a page is a short range scan however many tasks wait.
        Index(
            "ix_tasks_open_assignee_due",
            "assignee_id",
            "due_at",
            "id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index(
            "ix_tasks_open_pool_due",
            "role",
            "due_at",
            "id",
            postgresql_where=text("status = 'open' AND assignee_id IS NULL"),
            sqlite_where=text("status = 'open' AND assignee_id IS NULL"),
        ),
        # A case step's load (services/cases/case_row.py): the case's open tasks only, however many it has done.
        # The load spells `status = 'open'` as a constant to match.
        Index(
            "ix_tasks_open_case",
            "case_id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        # «My cases» (services/access/ `own_cases`): the cases a person finished a task in. Only done tasks carry
        # a `done_by`: a new task's row adds nothing to it.
        Index(
            "ix_tasks_done_by",
            "done_by",
            postgresql_where=text("done_by IS NOT NULL"),
            sqlite_where=text("done_by IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(64))
    visit: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(64))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(status_type(TaskStatus))
    outcome: Mapped[str | None] = mapped_column(String(64))
    draft: Mapped[dict[str, Any] | None] = mapped_column(Json)
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class WorkPeriod(Base):
    """A stretch of timed work on a task by one person (start → pause, resume → done)."""

    __tablename__ = "work_periods"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class TaskCard(Base):
    """A message that shows a task to someone; edited when the task changes."""

    __tablename__ = "task_cards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    # Only so a card can be added with its (not yet inserted) message: the unit of work inserts the messages
    # first, all in one multi-row INSERT, then the cards, instead of a flush per card. Never read (lazy="raise").
    outbox: Mapped[Outbox] = relationship(lazy="raise")


class Timer(Base):
    __tablename__ = "timers"
    # The clock's poll (scheduler/timers.py): the pending timers in due order, a short range whatever number have
    # fired or were cancelled. The poll spells `status = 'pending'` as a constant to match (`status_is`).
    __table_args__ = (
        Index(
            "ix_timers_due",
            "due_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(status_type(TimerStatus), default=TimerStatus.PENDING)
    payload: Mapped[dict[str, Any]]
    fired_at: Mapped[datetime | None]


STRAY_FILE = text("case_id IS NULL AND tg_unique_id IS NOT NULL")


class StoredFile(Base):
    __tablename__ = "files"
    __table_args__ = (
        # Files people sent that no case took (`services.kept_files.STRAY`), oldest first: the scheduler deletes them
        # a day after they came, and finds the few there are without reading every case's files (migration 0039).
        Index("ix_files_stray", "created_at", postgresql_where=STRAY_FILE, sqlite_where=STRAY_FILE),
        # Files are stored by their content, one path for the same bytes: whether a row still names a path is asked
        # before its copy on disk is deleted (`FileStore.remove_unnamed`; migration 0040).
        Index("ix_files_path", "path"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # photo | document
    tg_file_id: Mapped[str | None] = mapped_column(String(255))
    tg_unique_id: Mapped[str | None] = mapped_column(String(128))
    file_name: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    path: Mapped[str] = mapped_column(String(500))  # relative to the data directory
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class AuditEntry(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class Comment(Base):
    """A case's comment thread: what its participants say to each other about it, in chat. An internal note
    (`internal`) is the representative office's own: never shown to an external person (`services.access`)."""

    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    # A photo or a file sent with it: stored like every other file (Telegram's file id kept with it).
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
