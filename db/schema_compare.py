"""What Alembic's comparison of a database with db/models/ leaves out (autogenerate, and the test that holds the
migrations to the models): what the models do not describe, or describe for the other database only."""

from __future__ import annotations

from typing import Any

# SQLite's FTS5 indexes of the catalogue and of the case search, and their shadow tables (migrations
# 0018_sqlite_search, 0041_case_search), are not in the models: autogenerate must not offer to drop them.
NOT_MODELLED = ("catalog_products_fts", "case_search_fts")


def options(dialect: str) -> dict[str, Any]:
    """`context.configure` / `MigrationContext.configure` options for a database of `dialect`."""

    def include_name(name: str | None, type_: str, _parents: object) -> bool:
        return not (type_ == "table" and name is not None and name.startswith(NOT_MODELLED))

    def include_object(item: Any, _name: str | None, _type: str, _reflected: bool, _compare_to: Any) -> bool:
        # An index the models create on some databases only (`ddl_if(dialect=…)`, e.g. PostgreSQL's trigram and
        # byte-order indexes): Alembic's comparison does not read `ddl_if`, so it would offer it to the others.
        # `_ddl_if` is where SQLAlchemy 2's `HasConditionalDDL` keeps it; a name or a collection of names, as its
        # own `DDLIf._should_execute` reads it.
        only = getattr(item, "_ddl_if", None)
        if only is None or only.dialect is None:
            return True
        return only.dialect == dialect if isinstance(only.dialect, str) else dialect in only.dialect

    return {"include_name": include_name, "include_object": include_object}
