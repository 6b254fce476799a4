"""bookings per domain and day kept by triggers

`domain_booking_days` holds, per sending domain, Europe/Amsterdam day and campaign, the
live messages (queued or in flight) on the day of their slot and the planned ones (not
canceled) on the day they went or are to go. Triggers on `messages` adjust it in the same
transaction as every change (once per statement over transition tables on PostgreSQL, row
triggers on SQLite), so availability, the dry run of a running campaign and the calendar
read a few summary rows instead of every future booking. The rows for the messages that
exist already are filled in at the end.

`dry_run_reports` keeps each campaign's last dry-run report with the fingerprint of its
inputs, so a repeated view with nothing changed does not plan again.

The SQL is in migrations/sql/0011_<dialect>_<upgrade|downgrade>.sql, written out in full.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 09:00:00.000000

"""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import op

from webapp.migration_sql import sql_statements
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


SQL = Path(__file__).resolve().parent.parent / "sql"


def _statements(direction: str) -> list[str]:
    """This revision's statements for the connected database, from its own SQL file."""
    return sql_statements(SQL / f"0011_{op.get_bind().dialect.name}_{direction}.sql")


def upgrade():
    for statement in _statements("upgrade"):
        op.execute(statement)
    op.create_table('dry_run_reports',
    sa.Column('campaign_id', sa.String(length=32), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name='fk_dry_run_reports_campaign', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_dry_run_reports'))
    )


def downgrade():
    op.drop_table('dry_run_reports')
    for statement in _statements("downgrade"):
        op.execute(statement)
