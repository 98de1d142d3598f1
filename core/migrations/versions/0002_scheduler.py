"""scheduler: APScheduler's job store in SkyPatrol's database

Revision ID: 0002_scheduler
Revises: 0001_spine
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_scheduler"
down_revision: str | None = "0001_spine"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The same table APScheduler's SQLAlchemyJobStore defines (it only creates it when missing).
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25), index=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_missions_schedule", "missions", ["schedule_id", "planned_start"])


def downgrade() -> None:
    op.drop_index("ix_missions_schedule", table_name="missions")
    op.drop_table("apscheduler_jobs")
