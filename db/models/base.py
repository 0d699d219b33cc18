"""What every table shares: the declarative `Base` and its metadata (the constraint naming convention), the column
types the models use on both databases (aware UTC times, JSON that is JSONB on PostgreSQL, status columns), and
the order a flush writes in. No table lives here: each is in the module of its domain (db/models/__init__.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, DateTime, Enum, MetaData, TypeDecorator, literal_column
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

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


def status_is(column: Any, status: StrEnum) -> ColumnElement[bool]:
    """`column = 'value'`, the status written into the statement rather than bound. After five runs PostgreSQL may
    plan a prepared statement once for any value of its parameters (a generic plan, when it costs no more than the
    custom ones did): with the status a parameter it plans for an average status and reads the whole table where
    the one asked for is rare — the inbox's timed pass scanned every update ever received to learn that none was
    pending. Written in, the statistics tell it `pending` is rare and its index is read. A partial index's
    condition (`status = 'open'`) matches it too."""
    return column == literal_column(f"'{status.value}'")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Json, list[Any]: Json}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        # A flush writes the rows of tables that do not depend on each other in the order of their mappers'
        # `module.Class` names. Every model was in one module, db.models, before the package: each keeps that name
        # here, so a flush writes in the order it always did whichever module a model is in now (by module, a
        # timer's row would go before the outbox's). `_sort_key` is SQLAlchemy's own attribute, set by the Mapper;
        # tests/test_models_package.py fails if it ever stops being what orders a flush. (An abstract class maps
        # nothing.)
        if "__mapper__" in cls.__dict__:
            cls.__mapper__._sort_key = f"db.models.{cls.__name__}"
