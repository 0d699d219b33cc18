"""Tables. All state lives here: cases, tasks, timers, the outbox, the audit log, half-filled forms."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from flows.status import CaseStatus, InboxStatus, OutboxStatus, TaskStatus, TimerStatus

# Stable constraint names, so Alembic's batch mode can alter SQLite tables.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, on both SQLite (which has no time zones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use the clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")


def status_type(kind: type[StrEnum]) -> Enum:
    """A status column: VARCHAR(16) holding the enum's values, with a CHECK constraint named
    `ck_<table>_status` that refuses any other; read back as the enum's members (which equal the strings).
    The attributes stay annotated `str` (a member is one) while the case service still converts them with
    `type: ignore`; once it is split they can be `Mapped[CaseStatus]` and so on."""
    return Enum(
        kind,
        name="status",
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=16,
        values_callable=lambda k: [m.value for m in k],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Json, list[Any]: Json}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tg_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="ru")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The task whose form this person is filling in chat right now (one conversation at a time).
    active_task_id: Mapped[int | None] = mapped_column(Integer)
    # A question asked outside any form whose answer is the person's next text (the reason for moving an
    # escalated task's deadline): {"kind": …, and what the answer completes}.
    prompt: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # Wall clock: a form question to this person may not have arrived (its send was uncertain or failed);
    # the question is asked again before their next message is taken as an answer.
    question_lost_at: Mapped[datetime | None]
    # The person blocked the bot (Telegram answers 403 to every message): nothing reaches them until they unblock.
    unreachable_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # An external person (a dealer's staff) belongs to exactly one organisation and sees only its cases.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    # A regional representative's region: they see the cases of the organisations in it.
    region: Mapped[str | None] = mapped_column(String(100))
    # Joined by a general dealer link and not yet approved by an admin (inactive meanwhile: sees nothing).
    # No Python-side default: rows written as revision 0001 knew them (tests/test_status_columns.py) stay valid.
    awaiting_approval: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Where notifications go besides Telegram (services/channels/): a phone in E.164 (+79161234567), normalised
    # when saved, and an e-mail address.
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Invite(Base):
    __tablename__ = "invites"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    roles: Mapped[list[Any]]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    make_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # An invite for one organisation: who joins by it is bound to it with the invite's roles.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"))
    # A general dealer link: who joins by it waits until an admin approves them and picks organisation and role.
    hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class Definition(Base):
    """One version of a process definition. Running cases keep the version they started with."""

    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("process", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]


class Company(Base):
    """An organisation: a dealer, a supplier or a client company. A case belongs to one (`cases.company_id`);
    external people are bound to one (`users.organisation_id`). Fields a definition reads live in `data`
    (e.g. contract_signed); the organisation's details have columns of their own."""

    __tablename__ = "companies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    data: Mapped[dict[str, Any]]
    kind: Mapped[str] = mapped_column(String(16), default="client", server_default="client")  # dealer|supplier|client
    inn: Mapped[str | None] = mapped_column(String(12))
    kpp: Mapped[str | None] = mapped_column(String(9))
    region: Mapped[str | None] = mapped_column(String(100), index=True)
    price_type: Mapped[str | None] = mapped_column(String(64))
    contacts: Mapped[str | None] = mapped_column(Text)
    # The organisation's contact e-mail: a notification for one of its people without an address of their own
    # goes here (services/channels/).
    email: Mapped[str | None] = mapped_column(String(254))
    regional_rep_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The `Ид` of its `Контрагент` in 1C's CommerceML documents (services/companies/ `from_onec`).
    onec_id: Mapped[str | None] = mapped_column(String(80), unique=True, index=True)
    # Deactivated by an admin (a dealer we no longer work with): offered nowhere, its people see nothing.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_process_stage", "process", "stage"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    process: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300), default="")
    stage: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(status_type(CaseStatus), index=True)
    result: Mapped[str | None] = mapped_column(String(16))
    visit: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]]
    initiator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
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


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_open_role", "status", "role"),
        Index("ix_tasks_open_assignee", "assignee_id", "status"),
        # «My tasks» reads a page of open tasks in due order per person and per role's pool
        # (services/queries.py): these hold only open tasks, already in that order, so a page is a short range
        # scan however many tasks wait. Queries must spell `status = 'open'` as a constant to match.
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
        # «My cases» (services/access.py `own_cases`): the cases a person finished a task in. Only done tasks carry
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
    __table_args__ = (Index("ix_timers_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(status_type(TimerStatus), default=TimerStatus.PENDING)
    payload: Mapped[dict[str, Any]]
    fired_at: Mapped[datetime | None]


class Outbox(Base):
    """Every message to a person is written here first, then delivered once by the sender."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "not_before"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), default="telegram")
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
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
    external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    report: Mapped[str | None] = mapped_column(String(200))


class StoredFile(Base):
    __tablename__ = "files"
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


class Setting(Base):
    """Small durable facts the runtime needs (e.g. when a scheduled start last ran)."""

    __tablename__ = "settings"
    # PostgreSQL only (migration 0021_follow_key_index): the keys in byte order whatever the database's collation,
    # so keys are read by their prefix as a range (`services.setting_keys.key_range`), not by a scan.
    __table_args__ = (
        Index("ix_settings_key_pattern", "key", postgresql_ops={"key": "varchar_pattern_ops"}).ddl_if(
            dialect="postgresql"
        ),
    )
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict[str, Any]]


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

    __table_args__ = (Index("ix_inbox_pending", "status", "person_id", "update_id"),)


# The web panel's sessions and wrong-token throttle (services/panel_sessions.py), shared by every worker.


class PanelSession(Base):
    __tablename__ = "panel_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's value
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)  # hard end, whatever the activity


class PanelLoginFailure(Base):
    """Wrong tokens from one client address: how many in a row, and until when it must wait."""

    __tablename__ = "panel_login_failures"
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]


class Lead(Base):
    """A submission of a web site's form that started a case: its idempotency key makes a double submit (a
    double click, a browser's retry) one lead, one case."""

    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("form", "key"),)


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


class ChannelSetting(Base):
    """Which channels a kind of notification goes by (services/channels/), and the channels tried in order
    when a person has none of them (no phone, no e-mail, the bot blocked). No row: the kind's defaults."""

    __tablename__ = "channel_settings"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    telegram: Mapped[bool] = mapped_column(Boolean)
    email: Mapped[bool] = mapped_column(Boolean)
    sms: Mapped[bool] = mapped_column(Boolean)
    fallback: Mapped[list[Any]]
    updated_at: Mapped[datetime]


class MessageTemplate(Base):
    """An admin's template for a kind of notification on one channel (`part`: subject, text, html, sms), in
    place of the shipped default (services/channels/)."""

    __tablename__ = "message_templates"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    part: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class LeadBucket(Base):
    """How many submissions a site's form may still make now (a token bucket, refilled with time): kept in the
    database so that the limit holds across restarts and across workers. `version` makes each take a
    compare-and-set, so two workers never spend the same token."""

    __tablename__ = "lead_buckets"
    form: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
# The catalogue, kept in step with the maker's 1C (CommerceML 2: integrations/onec/, read by services/catalogue.py).
# Every row 1C sends keeps 1C's own id (`external_id`, the <Ид>) so a later package updates it instead of adding
# another; `import_run` is the import (catalog_imports.id) that last mentioned it: a full package deactivates, at
# its end, the products (and removes the prices and stock) that it did not mention.


class CatalogGroup(Base):
    __tablename__ = "catalog_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_groups.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)  # order within the parent, as 1C lists them
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    import_run: Mapped[int] = mapped_column(Integer, default=0)


class CatalogProperty(Base):
    """A property of the classifier (Свойство): its name, and for a directory its values (value id -> text), so a
    product's property given as a value id reads as the text."""

    __tablename__ = "catalog_properties"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32), default="Строка")  # 1C's ТипЗначений: Строка, Число, Справочник…
    choices: Mapped[dict[str, Any]]
    import_run: Mapped[int] = mapped_column(Integer, default=0)


class CatalogProduct(Base):
    """A product (Товар) or one of its variants (an offer `product#characteristic` of offers.xml, `variant_of_id`
    pointing at the product). `search_text` is name, article and barcode case-folded in Python (SQLite's lower()
    folds only ASCII), so search is one LIKE per word on both databases. `quantity` is the stock over all
    warehouses (or 1C's bare Количество), so «in stock» needs no join."""

    __tablename__ = "catalog_products"
    __table_args__ = (
        Index("ix_catalog_products_active_name", "active", "name"),
        # PostgreSQL only (migration 0014_search_index): a word anywhere in search_text found by trigrams, not a scan.
        Index(
            "ix_catalog_products_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        # Half-empty pages on PostgreSQL (migration 0017_catalog_fillfactor): offers' updates stay in the page.
        {"postgresql_with": {"fillfactor": 50}},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    variant_of_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_products.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_groups.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    article: Mapped[str | None] = mapped_column(String(100), index=True)
    barcode: Mapped[str | None] = mapped_column(String(64), index=True)
    unit: Mapped[str | None] = mapped_column(String(32))  # the unit's short name (шт, кг, м)
    description: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any]]  # property name -> value text (and ЗначенияРеквизитов: requisite -> value)
    images: Mapped[list[Any]]  # paths relative to the exchange directory (services/catalogue.image_path)
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3), default=Decimal(0))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    search_text: Mapped[str] = mapped_column(Text, default="")
    import_run: Mapped[int] = mapped_column(Integer, default=0)  # the last import that mentioned it in import.xml
    offer_run: Mapped[int | None] = mapped_column(Integer)  # the last import that gave it as an offer (offers.xml)
    updated_at: Mapped[datetime]


class CatalogPriceType(Base):
    """A price type (ТипЦены): «Оптовая», «Розничная»… A dealer's `companies.price_type` names one (its name or
    its external id)."""

    __tablename__ = "catalog_price_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(8), default="RUB")
    import_run: Mapped[int] = mapped_column(Integer, default=0)


class CatalogPrice(Base):
    __tablename__ = "catalog_prices"
    __table_args__ = (Index("ix_catalog_prices_type_value", "price_type_id", "value"),)
    # A catalog_products id with no foreign key (migration 0020_catalog_offer_fks): its check per row was most of
    # the cost of inserting a price; services.catalogue_import.delete_products removes a product's prices with it.
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    price_type_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_price_types.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # per `unit` of the product
    currency: Mapped[str] = mapped_column(String(8), default="RUB")
    import_run: Mapped[int] = mapped_column(Integer, default=0)


class CatalogWarehouse(Base):
    __tablename__ = "catalog_warehouses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    import_run: Mapped[int] = mapped_column(Integer, default=0)


class CatalogStock(Base):
    __tablename__ = "catalog_stock"
    # No foreign key, as catalog_prices.product_id (migration 0020_catalog_offer_fks; delete_products keeps it).
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_warehouses.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    import_run: Mapped[int] = mapped_column(Integer, default=0)


class CatalogImport(Base):
    """One import: from files (`konveyer catalog import`) or from 1C's exchange (one per `mode=import` file, the
    exchange session's token hash in `session`). Its status is what the next `mode=import` call answers, whichever
    worker it reaches."""

    __tablename__ = "catalog_imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session: Mapped[str | None] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    only_changes: Mapped[bool] = mapped_column(Boolean, default=False)  # СодержитТолькоИзменения="true"
    counts: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # a running import whose worker died stops beating; it is failed then


class ExchangeSession(Base):
    """A session of 1C's exchange (after `mode=checkauth`): the cookie's value is kept only as its hash."""

    __tablename__ = "onec_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    data: Mapped[dict[str, Any]]  # what the session's calls left for the next (e.g. the sale export's mark)


class CartLine(Base):
    """A product in a person's cart (seed 4): «В заявку» on a product's card adds it; the cart becomes an order
    request when submitted (prices are read then, from the dealer's price type) or a reclamation's parts. The
    product is named by the catalogue's id for it (its 1C Ид), so the cart outlives a catalogue reload."""

    __tablename__ = "cart_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    product: Mapped[str] = mapped_column(String(80))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    added_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("user_id", "product"),)


class OrderExport(Base):
    """An order request's way to 1C over the exchange (type=sale): `queried_at` when a `mode=query` last sent it,
    `exported_at` once 1C confirmed that query with `mode=success` (until then every query sends it again)."""

    __tablename__ = "order_exports"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    queried_at: Mapped[datetime | None]
    exported_at: Mapped[datetime | None] = mapped_column(index=True)


class OneCDocument(Base):
    """A version of a document 1C sent for an order request (an invoice, shipment papers): 1C's `Ид` and
    `НомерВерсии`, its kind, number, date and amount, the digest of its content, and the printable file made of it
    (services/onec_documents.py). The same version sent again is found by (case, Ид, digest) and not attached twice."""

    __tablename__ = "onec_documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    onec_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(32))  # invoice | shipment | upd
    number: Mapped[str] = mapped_column(String(64))
    doc_date: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    amount: Mapped[str] = mapped_column(String(32))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("case_id", "onec_id", "digest"),)
