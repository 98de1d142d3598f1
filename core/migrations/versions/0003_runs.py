"""runs: a drone is booked by at most one active run, enforced by the database

Revision ID: 0003_runs
Revises: 0002_scheduler
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_runs"
down_revision: str | None = "0002_scheduler"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "state IN ('assigned', 'uploading', 'flying', 'returning')"


def upgrade() -> None:
    op.create_index("uq_missions_active_drone", "missions", ["drone_id"], unique=True,
                    sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))


def downgrade() -> None:
    op.drop_index("uq_missions_active_drone", table_name="missions")
