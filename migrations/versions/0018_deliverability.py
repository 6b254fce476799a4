"""deliverability: warm-up caps, tracking hosts, DKIM rotation and DNS checks

Sending domains gain a daily cap and a warm-up ramp (start, step, first day), the sender's
own tracking host (unique where set), a pending DKIM key and selector for a rotation
without a gap, and the result of the last DNS preflight.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 15:00:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

TRACKING_HOST_SET = sa.text('tracking_host IS NOT NULL')


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
    with op.batch_alter_table('sending_domains', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dkim_pending_selector', sa.String(length=63), nullable=True))
        batch_op.add_column(sa.Column('dkim_pending_private_key', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('daily_cap', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ramp_start', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ramp_step', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('ramp_started_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('tracking_host', sa.String(length=253), nullable=True))
        batch_op.add_column(sa.Column('dns_checks', json_type, nullable=True))
        batch_op.add_column(sa.Column('dns_checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint('chk_sending_domains_daily_cap', 'daily_cap >= 1')
        batch_op.create_check_constraint(
            'chk_sending_domains_ramp', 'ramp_start >= 1 AND ramp_step >= 0'
        )
        batch_op.create_index(
            'uk_sending_domains_tracking_host', ['tracking_host'], unique=True,
            postgresql_where=TRACKING_HOST_SET, sqlite_where=TRACKING_HOST_SET,
        )


def downgrade():
    with op.batch_alter_table('sending_domains', schema=None) as batch_op:
        batch_op.drop_index(
            'uk_sending_domains_tracking_host',
            postgresql_where=TRACKING_HOST_SET, sqlite_where=TRACKING_HOST_SET,
        )
        batch_op.drop_constraint('chk_sending_domains_ramp', type_='check')
        batch_op.drop_constraint('chk_sending_domains_daily_cap', type_='check')
        batch_op.drop_column('dns_checked_at')
        batch_op.drop_column('dns_checks')
        batch_op.drop_column('tracking_host')
        batch_op.drop_column('ramp_started_on')
        batch_op.drop_column('ramp_step')
        batch_op.drop_column('ramp_start')
        batch_op.drop_column('daily_cap')
        batch_op.drop_column('dkim_pending_private_key')
        batch_op.drop_column('dkim_pending_selector')
