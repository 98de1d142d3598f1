"""maintenance: flight hours, flights and battery cycles per drone; maintenance records

Revision ID: 0005_maintenance
Revises: 0004_alerts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_maintenance"
down_revision: str | None = "0004_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drones") as batch:
        batch.add_column(sa.Column("flights_total", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("flight_s_total", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("flight_s_since_service", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("battery_cycles", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_service_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "maintenance_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("drone_id", sa.String(64), sa.ForeignKey("drones.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("flight_s_total_at", sa.Float(), nullable=False),
        sa.Column("battery_cycles_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_maintenance_records_drone_id", "maintenance_records", ["drone_id"])


def downgrade() -> None:
    op.drop_index("ix_maintenance_records_drone_id", table_name="maintenance_records")
    op.drop_table("maintenance_records")
    with op.batch_alter_table("drones") as batch:
        for col in ("last_service_at", "battery_cycles", "flight_s_since_service", "flight_s_total", "flights_total"):
            batch.drop_column(col)
