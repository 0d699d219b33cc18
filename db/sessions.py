"""The application's AsyncSession: the parts of a transaction that do no I/O skip SQLAlchemy's greenlet.

AsyncSession runs every synchronous step of the ORM in a greenlet of its own (`greenlet_spawn`, ~20 µs of CPU
each) and closes the session in a task of its own shielded from cancellation (~40 µs more). A case step's
statements go straight to the driver (db/driver.py, db/step_writes.py), so around them the session's
begin, its already-acquired connection and its close after a commit or a rollback were a third of the
transaction's Python: none of them touches the database, so they run in place here. Whatever may do I/O — the
first checkout of a connection, a flush, a commit, a rollback, a close with a transaction still open — goes
through SQLAlchemy's path as before, with its errors, events and cancellation safety.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, AsyncSessionTransaction


class StepSession(AsyncSession):
    def begin(self) -> AsyncSessionTransaction:
        return _Begin(self)

    async def connection(
        self, bind_arguments: Any = None, execution_options: Any = None, **kw: Any
    ) -> AsyncConnection:
        """The transaction's connection once it holds one: looked up in place (what `Session.connection` returns
        then, without a hop into the greenlet); the first checkout (it may connect) as SQLAlchemy does it."""
        transaction = self.sync_session.get_transaction()
        if bind_arguments is None and execution_options is None and not kw and transaction is not None:
            try:
                if transaction is self.sync_session._transaction and transaction.is_active:
                    return AsyncConnection._retrieve_proxy_for_target(transaction.bound_connection())
            except InvalidRequestError:
                pass  # no connection acquired yet: the first checkout goes through SQLAlchemy, below
        return await super().connection(bind_arguments, execution_options, **kw)

    async def close(self) -> None:
        if not self.sync_session.in_transaction():
            # Nothing to give back to the pool: the identity map emptied in place (no I/O, nothing to shield).
            self.sync_session.close()
            return
        await super().close()

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        if not self.sync_session.in_transaction():
            self.sync_session.close()
            return
        await super().__aexit__(type_, value, traceback)


class _Begin(AsyncSessionTransaction):
    async def start(self, is_ctxmanager: bool = False) -> AsyncSessionTransaction:
        """`Session.begin` makes the transaction's object only (the connection is acquired at first use): in
        place. A savepoint (`begin_nested`) emits SAVEPOINT, so it is not made here."""
        if self.nested:
            return await super().start(is_ctxmanager)
        self.sync_transaction = self._assign_proxied(self.session.sync_session.begin())
        if is_ctxmanager:
            self.sync_transaction.__enter__()
        return self
