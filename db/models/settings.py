"""What the runtime and the admins keep as settings: small durable facts (`settings`, e.g. when a scheduled start
last ran), which channels each kind of notification goes by (`channel_settings`) and the admins' own templates
for them (`message_templates`; both read by services/channels/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


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
