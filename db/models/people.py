"""People and the organisations they belong to: who uses the bot (`users`), the roles that route tasks to them
(`user_roles`), the invite links they join by (`invites`), and the organisations (`companies`: dealers, suppliers,
client companies) that bind external people and own cases. A user and an organisation point at each other (a
person's organisation, an organisation's regional representative), so both live here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Json


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
    # `use_alter`: companies point back at users (their regional rep, who created them), and a cycle leaves
    # SQLAlchemy unable to sort the tables (Alembic's comparison warned of it). Only DDL from the metadata is
    # affected; the schema is the migrations'.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", use_alter=True), index=True)
    # A regional representative's region: they see the cases of the organisations in it.
    region: Mapped[str | None] = mapped_column(String(100))
    # Joined by a general dealer link and not yet approved by an admin (inactive meanwhile: sees nothing).
    # No Python-side default: rows written as revision 0001 knew them (tests/test_status_columns.py) stay valid.
    awaiting_approval: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Where notifications go besides Telegram (services/channels/): a phone in E.164 (+79161234567), normalised
    # when saved, and an e-mail address.
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    # Files sent when no question asked for one (`services.kept_files`), offered at the next question for a file.
    kept_files: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # The person's newest «Which process?» list (its outbox row) and what was chosen from it (a process key, None
    # while nothing is): a second press on it, or a press on an older list, starts nothing (`services.menu.Pick`).
    # On the person's row, read with every update of theirs anyway, and written with the update's own writes (a
    # choice that starts a case: with its first question, `services.menu.remember_choice`).
    picker_ref: Mapped[int | None] = mapped_column(Integer)
    picker_chosen: Mapped[str | None] = mapped_column(String(64))


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Invite(Base):
    __tablename__ = "invites"
    # One invite per `/invite` picker message: a second press of its «Create link» (a double tap, a press Telegram
    # delivers again, another worker's) finds this one (`INSERT … ON CONFLICT DO NOTHING`, revision 0044).
    __table_args__ = (Index("ux_invites_picker", "created_by", "picker_ref", unique=True),)
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
    # The outbox row of the `/invite` picker message whose «Create link» made it (None: typed, the panel's, an
    # organisation's): with `created_by`, the key that makes a picker's link once.
    picker_ref: Mapped[int | None] = mapped_column(Integer)


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
    # The directory of companies it was added to from a form's company field (`FieldDef.directory`, by default the
    # process's key): offered only by the fields of that directory, so one business's clients are not offered to
    # another's people when one bot runs several (`konveyer demo`). None: everyone's (added by an admin, from 1C).
    directory: Mapped[str | None] = mapped_column(String(64))
    # Deactivated by an admin (a dealer we no longer work with): offered nowhere, its people see nothing.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
