"""An administrator who steps a database in use back a few revisions (`alembic downgrade`, to run an older release
for a while) and up again keeps every person, process version, case and 1C order: the revisions that took a column
off a table other rows point at must not copy that table (on SQLite a copy drops the old table, refused while
anything refers to it)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from db.engine import make_engine, migrate
from db.models import Case, CaseSearch, Definition, OrderExport, User
from tests.revisions import migrate_down


async def test_a_database_with_cases_steps_back_before_kept_files_and_current_versions_and_up_again(
    empty_database_url: str,
) -> None:
    engine = make_engine(empty_database_url)
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    try:
        await migrate(engine)
        async with engine.begin() as connection:
            await connection.execute(insert(User).values(
                id=1, tg_id=501, name="Марина", language="ru", is_admin=False, active=True, created_at=now,
                kept_files={"at": now.isoformat(), "files": []}))
            await connection.execute(insert(Definition).values(
                id=1, process="order_request", version=1, digest="d1", source="", path="order_request.yaml",
                created_at=now, is_current=True))
            await connection.execute(insert(Case).values(
                id=1, definition_id=1, process="order_request", title="Заказ", stage="approval", status="active",
                data={}, initiator_id=1, created_at=now, updated_at=now))
            await connection.execute(insert(OrderExport).values(case_id=1, queried_at=now, cancel_queried_at=now))
            # The panel's search row of the case (revision 0041, with SQLite's FTS5 index and its triggers).
            await connection.execute(insert(CaseSearch).values(case_id=1, version=1, words="заказ", amounts=""))

        # Before revisions 0035 (kept files, on people), 0037 (a 1C order's cancellation), 0038 (the current version),
        # 0041 (the case search), 0042 (the index of the newest cases dropped).
        await migrate_down(engine, "0034_outbox_case_files")
        await migrate(engine)

        async with engine.connect() as connection:
            counts = [
                (await connection.execute(select(func.count()).select_from(table))).scalar_one()
                for table in (User, Definition, Case, OrderExport)
            ]
            person = (await connection.execute(select(User.name, User.kept_files))).one()
        assert counts == [1, 1, 1, 1]
        assert person == ("Марина", None)  # the column came back empty: what was kept went with the step down
        async with engine.begin() as connection:  # the search table is back, empty: the next search fills it
            assert (await connection.execute(select(func.count()).select_from(CaseSearch))).scalar_one() == 0
            await connection.execute(insert(CaseSearch).values(case_id=1, version=1, words="заказ", amounts=""))
    finally:
        await engine.dispose()
