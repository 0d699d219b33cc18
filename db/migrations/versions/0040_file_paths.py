"""files are found by their path on disk, so the sweep of stray files asks cheaply whether a row still names one

Revision ID: 0040_file_paths
Revises: 0039_stray_files

Files are stored by their content: the same bytes sent again share one path on disk. Before deleting the copy of a
stray file (`services.kept_files.drop_stale`), the scheduler asks whether any row still names its path — and asks
again under the path's lock, once per path (`services.files.FileStore.remove_unnamed`), so an upload of the same
bytes that came meanwhile keeps it. Without an index each ask read every row of `files`.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0040_file_paths"
down_revision: str | None = "0039_stray_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_files_path", "files", ["path"])


def downgrade() -> None:
    op.drop_index("ix_files_path", table_name="files")
