"""Rows as one JSON parameter, for PostgreSQL's `json_populate_recordset` (the case store's step writes, the
inbox's batch of updates): one statement shape, however many rows, compiled once per process.

Encoded by orjson (a step's rows were ~5% of its CPU through the standard library's encoder): the same JSON in
meaning as `json.dumps(value, default=…, ensure_ascii=False)` — text left as UTF-8, keys that are not strings
written as strings, an aware datetime as its UTC ISO form (orjson's own datetime handling is switched off, so
they all pass through `_json_value`), a naive one refused. Only the spacing differs (none), which neither
PostgreSQL's json/jsonb nor SQLite's JSON functions see. Whatever orjson refuses (an integer beyond 64 bits, a
lone surrogate, a value `_json_value` rejects) goes to the standard library, which encodes it or raises its
own error as before.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    """Any JSON value as text (`json.dumps(value, default=…, ensure_ascii=False)` in meaning)."""
    try:
        return orjson.dumps(value, default=_json_value, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError: the standard library encodes it, or raises what it raised
        return json.dumps(value, default=_json_value, ensure_ascii=False)


def rows_json(rows: list[dict[str, Any]]) -> str:
    return dumps(rows)


def json_text(value: Any) -> str:
    """Any JSON value as one text parameter (a JSON column's value cast on the server)."""
    return dumps(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is UTC:  # the clock's: already in UTC (astimezone would copy it)
            return value.isoformat()
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use the clock")
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def row_json(row: dict[str, Any]) -> str:
    """One row, for `json_populate_record`."""
    return dumps(row)
