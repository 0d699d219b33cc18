"""`users.picker_ref`, `users.picker_chosen`: the person's newest «Which process?» list, on their own row

Revision ID: 0045_picker_on_person
Revises: 0044_invite_picker

The list was remembered in a settings row per person (`picker:<user id>`, {"ref": …, "chosen": …}): sending a list
and pressing it each read and wrote that row, two to three statements more on two of a case's updates. The person's
row is read with every update of theirs already and written with the update's own writes, so the list lives there
now. The settings rows are moved over and removed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0045_picker_on_person"
down_revision: str | None = "0044_invite_picker"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HEAD = "picker:"


def upgrade() -> None:
    op.add_column("users", sa.Column("picker_ref", sa.Integer(), nullable=True))
    op.add_column("users", sa.Column("picker_chosen", sa.String(64), nullable=True))
    bind = op.get_bind()
    settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.JSON))
    users = sa.table(
        "users", sa.column("id", sa.Integer), sa.column("picker_ref", sa.Integer), sa.column("picker_chosen", sa.String)
    )
    rows = bind.execute(sa.select(settings.c.key, settings.c.value).where(settings.c.key.like(f"{_HEAD}%"))).all()
    for key, value in rows:
        user_id = key[len(_HEAD) :]
        if not user_id.isdigit() or not isinstance(value, dict):
            continue
        ref = value.get("ref")
        bind.execute(
            sa.update(users)
            .where(users.c.id == int(user_id))
            .values(picker_ref=int(ref) if ref else None, picker_chosen=str(value.get("chosen") or "") or None)
        )
    bind.execute(sa.delete(settings).where(settings.c.key.like(f"{_HEAD}%")))


def downgrade() -> None:
    # The lists remembered are not moved back: an older list then starts a case once more, as before the revision.
    op.drop_column("users", "picker_chosen")
    op.drop_column("users", "picker_ref")
