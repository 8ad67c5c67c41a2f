"""The history tables: objects, transitions, watermarks.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three tables and their indexes."""
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "history_objects",
        sa.Column("uid", sa.String(64), primary_key=True),
        sa.Column("plural", sa.String(63), nullable=False),
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("label_text", sa.Text(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("phase", sa.String(63)),
        sa.Column("ready", sa.Boolean()),
        sa.Column("reason", sa.String(255)),
        sa.Column("message", sa.Text()),
        sa.Column("created", tz, nullable=False),
        sa.Column("started", tz),
        sa.Column("finished", tz),
        sa.Column("deleted", tz),
        sa.Column("duration_seconds", sa.Float()),
        sa.Column("workers", sa.Integer()),
        sa.Column("gpu_hours", sa.Float()),
        sa.Column("resource_version", sa.String(64), nullable=False),
        sa.Column("updated", tz, nullable=False),
    )
    op.create_index("ix_history_objects_page", "history_objects", ["plural", "created", "uid"])
    op.create_index(
        "ix_history_objects_namespace", "history_objects", ["plural", "namespace", "created", "uid"]
    )
    op.create_table(
        "history_transitions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("time", tz, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(63)),
        sa.Column("ready", sa.Boolean()),
        sa.Column("reason", sa.String(255)),
        sa.Column("message", sa.Text()),
    )
    op.create_index(
        "ux_history_transitions_key", "history_transitions", ["uid", "key"], unique=True
    )
    op.create_table(
        "history_watermarks",
        sa.Column("plural", sa.String(63), primary_key=True),
        sa.Column("resource_version", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("history_watermarks")
    op.drop_table("history_transitions")
    op.drop_table("history_objects")
