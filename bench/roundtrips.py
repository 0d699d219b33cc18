"""What BEGIN and COMMIT cost a form's answer, at the driver, on PostgreSQL: a measurement for a design question.

    python -m bench.roundtrips [--database-url postgresql+asyncpg://…] [--answers 3000] [--rounds 6]

A form's answer is a transaction today: BEGIN, the claim of the update (with the person's read), the write of the
draft and the next question, COMMIT — four round trips. The design it is held against: no transaction, two
statements each committing itself — the claim leasing the update («handling»), the write taking the lease and
writing only under it (a lost lease writes nothing and the update is handled again). It saves the client two
round trips, and costs the server a second commit. Both run here as raw asyncpg on tables of the answer's shape in
a scratch database, by turns (A B B A …), each turn on its own rows; printed per answer: the client's CPU (this
process), the server's (its backend, /proc), the wall time, and the ratios turn pair by turn pair.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
import psutil
from sqlalchemy.engine import make_url

from bench.pgdb import postgres_url, scratch_database

_TABLES = """
CREATE TABLE answer_inbox (update_id bigint PRIMARY KEY, person bigint NOT NULL, status text NOT NULL,
                           handled_at timestamptz);
CREATE TABLE answer_task (id int PRIMARY KEY, draft jsonb NOT NULL);
CREATE TABLE answer_outbox (id bigserial PRIMARY KEY, chat bigint NOT NULL, payload jsonb NOT NULL,
                            status text NOT NULL);
INSERT INTO answer_task SELECT g, '{}' FROM generate_series(1, 200) g;
"""
# In a transaction: the claim marks the update done; the write is the draft and the next question.
_CLAIM = """UPDATE answer_inbox SET status = 'done', handled_at = now()
WHERE update_id = $1 AND status = 'pending' RETURNING person"""
_WRITE = """WITH d AS (UPDATE answer_task SET draft = $2::jsonb WHERE id = $1 RETURNING id)
INSERT INTO answer_outbox (chat, payload, status) SELECT $1, $3::jsonb, 'pending' FROM d RETURNING id"""
# Each committing itself: the claim leases; the write ends the lease and writes only under it.
_LEASE = """UPDATE answer_inbox SET status = 'handling', handled_at = now()
WHERE update_id = $1 AND status = 'pending' RETURNING person"""
_WRITE_UNDER_LEASE = """WITH c AS (UPDATE answer_inbox SET status = 'done' WHERE update_id = $4 AND status = 'handling'
                     RETURNING 1),
d AS (UPDATE answer_task SET draft = $2::jsonb WHERE id = $1 AND EXISTS (SELECT 1 FROM c) RETURNING id)
INSERT INTO answer_outbox (chat, payload, status) SELECT $1, $3::jsonb, 'pending' FROM d RETURNING id"""
_QUESTION = json.dumps({"text": "✏️ Сумма закупки?",
                        "reply_markup": {"inline_keyboard": [[{"text": "Отмена", "callback_data": "c:1"}]]}})

Figures = tuple[float, float, float]  # per answer, ms: client CPU, server CPU, wall


async def measure(url: str, answers: int, rounds: int) -> dict[str, list[Figures]]:
    u = make_url(url)
    host = u.host or u.query.get("host")  # a Unix socket's folder comes as ?host=
    connection = await asyncpg.connect(host=str(host) if host else None, port=u.port, user=u.username,
                                       password=u.password, database=u.database)  # fmt: skip
    try:
        await connection.execute(_TABLES)
        backend = psutil.Process(int(await connection.fetchval("SELECT pg_backend_pid()")))
        claim, write = await connection.prepare(_CLAIM), await connection.prepare(_WRITE)
        lease, write_under_lease = await connection.prepare(_LEASE), await connection.prepare(_WRITE_UNDER_LEASE)

        async def in_a_transaction(first: int) -> None:
            for update_id in range(first, first + answers):
                async with connection.transaction():
                    person = await claim.fetchval(update_id)
                    await write.fetch(person, '{"quantity": 2}', _QUESTION)

        async def each_committing_itself(first: int) -> None:
            for update_id in range(first, first + answers):
                person = await lease.fetchval(update_id)
                await write_under_lease.fetch(person, '{"quantity": 2}', _QUESTION, update_id)

        kinds: dict[str, Callable[[int], Awaitable[None]]] = {
            "transaction": in_a_transaction, "self-committing": each_committing_itself}
        figures: dict[str, list[Figures]] = {name: [] for name in kinds}
        first = 0
        for turn in range(rounds):
            for name in (list(kinds) if turn % 2 == 0 else list(reversed(kinds))):
                first += answers
                await connection.execute("TRUNCATE answer_inbox, answer_outbox")
                await connection.executemany("INSERT INTO answer_inbox VALUES ($1, $2, 'pending', NULL)",
                                             [(first + n, n % 200 + 1) for n in range(answers)])  # fmt: skip
                client, server, wall = time.process_time(), sum(backend.cpu_times()[:2]), time.perf_counter()
                await kinds[name](first)
                figures[name].append(((time.process_time() - client) * 1e3 / answers,
                                      (sum(backend.cpu_times()[:2]) - server) * 1e3 / answers,
                                      (time.perf_counter() - wall) * 1e3 / answers))  # fmt: skip
                # The same work both ways: every update handled once, each answer's question written once.
                done = await connection.fetchval("SELECT count(*) FROM answer_inbox WHERE status = 'done'")
                written = await connection.fetchval("SELECT count(*) FROM answer_outbox")
                if (done, written) != (answers, answers):
                    raise RuntimeError(f"{name}: {done} updates done and {written} questions for {answers} answers")
        return figures
    finally:
        await connection.close()


def report(figures: dict[str, list[Figures]]) -> str:
    lines = []
    for name, rows in figures.items():
        for n, what in enumerate(("client CPU", "server CPU", "wall")):
            lines.append(f"{name:16} {what:10} ms an answer: " + " ".join(f"{row[n]:.3f}" for row in rows))
    old, new = figures["transaction"], figures["self-committing"]
    for n, what in enumerate(("client CPU", "server CPU", "wall")):
        ratios = [b[n] / a[n] for a, b in zip(old, new, strict=True) if a[n] > 0]
        lines.append(f"self-committing / transaction, {what}: " + " ".join(f"{r:.2f}" for r in ratios)
                     + (f"  (median {statistics.median(ratios):.2f})" if ratios else ""))
    return "\n".join(lines)


async def _main(base: str, answers: int, rounds: int) -> None:
    async with scratch_database(base, "konveyer_roundtrips") as url:
        print(report(await measure(url, answers, rounds)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.roundtrips")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--answers", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    base = postgres_url(args.database_url)
    if base is None:
        parser.error("PostgreSQL only: give --database-url or set DATABASE_URL")
    asyncio.run(_main(base, args.answers, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
