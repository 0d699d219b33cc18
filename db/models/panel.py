"""The web panel's sessions and wrong-token throttle (services/panel_sessions.py), shared by every worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


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
