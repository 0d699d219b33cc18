"""SQLite's half of a case step's write: the step's rows as one document written in one call on the connection's
thread (db/step_writes.py), its messages and cards numbered here."""

from __future__ import annotations

from typing import Any

from db import step_writes
from db.engine import take_ids
from services.cases.step_rows import (
    AUDIT,
    CARDS,
    CASES,
    OUTBOX,
    OUTBOX_COLUMNS,
    PENDING_TASKS,
    STEP_TABLES,
    TASKS,
    TIMERS,
    StepRows,
    column_value,
    stale_case,
)


class SqliteWrites(StepRows):
    async def _write_rows_sqlite(self) -> None:
        """SQLite: the step's case row (its version checked), cancelled and new timers, audit entries, messages
        and cards as one document, written in one call on the connection's thread (db/step_writes.py); the
        messages and cards are numbered here (this transaction holds the write lock), in the order they were
        added."""
        doc: dict[str, Any] = self._task_sections()
        case_values, self._case_values = self._case_values, None
        if case_values is not None:
            case_id, version, values = case_values
            doc["case"] = {"id": case_id, "version": version, "values": step_writes.row(CASES, values)}
        by_task, by_case, other = self._cancels()
        if by_task:
            doc["cancel_task_timers"] = by_task
        if by_case:
            doc["cancel_case_timers"] = by_case
        if other is not None:
            await self.session.execute(other)
        for name, rows, table in (("audit", self._audit, AUDIT), ("timers", self._timers, TIMERS)):
            if rows:
                doc[name] = [step_writes.new_row(table, r) for r in rows]
        self._audit, self._timers = [], []
        messages, cards = self._outbox, self._cards
        self._outbox, self._cards = [], []
        if messages or cards:
            tops = await self.session.run_sync(take_ids, {"outbox": len(messages), "task_cards": len(cards)})
            for n, message in enumerate(messages, start=1):
                message.id = tops["outbox"] + n  # for whoever holds it (nobody reads it back from the session)
            outbox_rows = [
                step_writes.new_row(OUTBOX, {name: column_value(m, col) for name, col in OUTBOX_COLUMNS} | {"id": m.id})
                for m in messages
            ]
            card_rows = []
            for n, (task_id, user_id, outbox_id, of) in enumerate(cards, start=1):
                if outbox_id is None:
                    if of is None or of.id is None:
                        raise ValueError("a task card without its message")
                    outbox_id = of.id
                card_rows.append(step_writes.new_row(CARDS, {"id": tops["task_cards"] + n, "task_id": task_id,
                                                             "user_id": user_id, "outbox_id": outbox_id}))
            if outbox_rows:
                doc["outbox"] = outbox_rows
            if card_rows:
                doc["task_cards"] = card_rows
        if not doc:
            return
        try:
            await step_writes.write(self.session, doc, STEP_TABLES)
        except step_writes.StaleCase:
            raise stale_case(case_values[0] if case_values else 0) from None

    def _task_sections(self) -> dict[str, Any]:
        """SQLite: the step's pending task rows as sections of a step document, taken."""
        doc: dict[str, Any] = {}
        if self._task_updates:
            doc["task_updates"] = [step_writes.row(TASKS, {**values, "id": task_id})
                                   for task_id, values in self._task_updates.items()]
        if self._new_tasks:
            doc["tasks"] = [step_writes.new_row(TASKS, values) for values in self._new_tasks.values()]
        self._task_updates, self._new_tasks = {}, {}
        self.session.sync_session.info.pop(PENDING_TASKS, None)
        return doc
