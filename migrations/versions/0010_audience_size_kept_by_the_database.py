"""audience size kept by the database, messages in page order

`campaign_audience.lead_count` holds the number of lead ids in the snapshot, so the
campaigns list, the API and the campaign page read one integer instead of loading every
lead id of every snapshot. A trigger sets it whenever `lead_ids` is written (whoever
writes it), and the snapshots that exist already are counted at the end.

`idx_messages_campaign_schedule` serves a campaign's messages page by page in their order
(scheduled_at, mail_number, id), with status and domain included so that filtered pages
and the rows skipped by an OFFSET are read from the index alone.

The SQL is in migrations/sql/0010_<dialect>_<upgrade|downgrade>.sql.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 09:00:00.000000

"""
from __future__ import annotations

from pathlib import Path

from alembic import op
from webapp.migration_sql import sql_statements
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


SQL = Path(__file__).resolve().parent.parent / "sql"


def _statements(direction: str) -> list[str]:
    """This revision's statements for the connected database, from its own SQL file."""
    return sql_statements(SQL / f"0010_{op.get_bind().dialect.name}_{direction}.sql")


def upgrade():
    with op.batch_alter_table('campaign_audience', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('lead_count', sa.Integer(), server_default='0', nullable=False)
        )
    for statement in _statements("upgrade"):
        op.execute(statement)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(
            'idx_messages_campaign_schedule',
            ['campaign_id', 'scheduled_at', 'mail_number', 'id'],
            unique=False,
            postgresql_include=['status', 'domain_used'],
        )


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('idx_messages_campaign_schedule')
    for statement in _statements("downgrade"):
        op.execute(statement)
    with op.batch_alter_table('campaign_audience', schema=None) as batch_op:
        batch_op.drop_column('lead_count')
