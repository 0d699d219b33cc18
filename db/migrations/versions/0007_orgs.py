"""organisations: details of companies, people bound to one, invites for one

Revision ID: 0007_orgs
Revises: 0006_perf
Create Date: 2026-11-30 14:20:00

`companies` grows into the organisation (dealer / supplier / client) with its details; `users.organisation_id`
binds an external person to one, `users.region` scopes a regional representative, `users.awaiting_approval`
holds someone who joined by a general dealer link; `invites.organisation_id` / `invites.hold` say what an
invite binds to.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_orgs"
down_revision: str | None = "0006_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="client", nullable=False))
        batch_op.add_column(sa.Column("inn", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("kpp", sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column("region", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("price_type", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("contacts", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("regional_rep_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_companies_region"), ["region"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_companies_regional_rep_id_users"), "users", ["regional_rep_id"], ["id"]
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("region", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("awaiting_approval", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_users_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_users_organisation_id_companies"), "companies", ["organisation_id"], ["id"]
        )
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("hold", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_invites_organisation_id_companies"), "companies", ["organisation_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_invites_organisation_id_companies"), type_="foreignkey")
        batch_op.drop_column("hold")
        batch_op.drop_column("organisation_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_organisation_id_companies"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_users_organisation_id"))
        batch_op.drop_column("awaiting_approval")
        batch_op.drop_column("region")
        batch_op.drop_column("organisation_id")
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_companies_regional_rep_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_companies_region"))
        batch_op.drop_column("regional_rep_id")
        batch_op.drop_column("contacts")
        batch_op.drop_column("price_type")
        batch_op.drop_column("region")
        batch_op.drop_column("kpp")
        batch_op.drop_column("inn")
        batch_op.drop_column("kind")
