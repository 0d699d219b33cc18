"""people who used the bot before their first Start was remembered are remembered as started

Revision ID: 0031_started_before
Revises: 0030_cases_process_status

Since 0b94467 a person's first /start is a welcome («Добро пожаловать») and is remembered as the setting
`started:<user id>` (services/team.py); every later /start is «С возвращением». People who had used the bot before
that had no such setting, so their next /start greeted them as newcomers. Whoever has sent the bot an update (the
inbox), done anything recorded in the audit or started a case has been here: they are remembered as started.
Someone only registered by name (the demo, an admin's import) who never wrote keeps their welcome.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0031_started_before"
down_revision: str | None = "0030_cases_process_status"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same in PostgreSQL and SQLite: `||` joins strings; the JSON text is cast to the column's type (JSONB on
# PostgreSQL, JSON stored as text on SQLite) by the INSERT.
REMEMBER = """
INSERT INTO settings (key, value)
SELECT 'started:' || CAST(u.id AS VARCHAR(20)), '{"before": "0031_started_before"}'
FROM users AS u
WHERE NOT EXISTS (SELECT 1 FROM settings AS s WHERE s.key = 'started:' || CAST(u.id AS VARCHAR(20)))
  AND (EXISTS (SELECT 1 FROM inbox AS i WHERE i.person_id = u.tg_id)
       OR EXISTS (SELECT 1 FROM audit AS a WHERE a.actor_id = u.id)
       OR EXISTS (SELECT 1 FROM cases AS c WHERE c.initiator_id = u.id))
"""


def upgrade() -> None:
    op.execute(REMEMBER)


def downgrade() -> None:
    # Rows this revision wrote say so in their value; a Start remembered since is kept.
    op.execute("DELETE FROM settings WHERE key LIKE 'started:%' AND value IS NOT NULL "
               "AND CAST(value AS VARCHAR(200)) LIKE '%0031_started_before%'")
