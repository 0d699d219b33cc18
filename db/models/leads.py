"""Web site forms' submissions (services/leads.py): each lead with the idempotency key that makes a double submit one
case, and each form's token bucket that limits how many submissions it may make."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


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


class LeadBucket(Base):
    """How many submissions a site's form may still make now (a token bucket, refilled with time): kept in the
    database so that the limit holds across restarts and across workers. `version` makes each take a
    compare-and-set, so two workers never spend the same token."""

    __tablename__ = "lead_buckets"
    form: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
