"""road works sites: inspection's sites kept between patrols in the database

Revision ID: 0006_road_works_sites
Revises: 0005_maintenance
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_road_works_sites"
down_revision: str | None = "0005_maintenance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "road_works_sites",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("centroid_lat", sa.Float(), nullable=False),
        sa.Column("centroid_lon", sa.Float(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("patrols", sa.Integer(), nullable=False),
        sa.Column("objects", sa.JSON(), nullable=True),
        sa.Column("last_mission_id", sa.String(128), nullable=True),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_road_works_sites_last_seen", "road_works_sites", ["last_seen"])


def downgrade() -> None:
    op.drop_index("ix_road_works_sites_last_seen", table_name="road_works_sites")
    op.drop_table("road_works_sites")
