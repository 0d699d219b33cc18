"""Rows as one JSON parameter, for PostgreSQL's `json_populate_recordset` (the case store's step writes, the
inbox's batch of updates): one statement shape, however many rows, compiled once per process."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def rows_json(rows: list[dict[str, Any]]) -> str:
    return json_text(rows)


def json_text(value: Any) -> str:
    """Any JSON value as one text parameter (a JSON column's value cast on the server)."""
    return json.dumps(value, default=_json_value, ensure_ascii=False)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use the clock")
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def row_json(row: dict[str, Any]) -> str:
    """One row, for `json_populate_record`."""
    return json.dumps(row, default=_json_value, ensure_ascii=False)
