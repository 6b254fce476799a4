"""campaign actions outside the request

A start, resume, stop or re-plan of a large campaign runs as a job: the campaign says
which one it waits for (`campaigns.pending_action`), and `campaign_actions` holds each
job's lease and progress, written apart from the campaign row the job keeps locked.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 06:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

ACTIONS = "('start', 'resume', 'stop', 'replan')"


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_action', sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(
            'chk_campaigns_pending_action',
            f"pending_action IS NULL OR pending_action IN {ACTIONS}",
        )

    op.create_table('campaign_actions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('campaign_id', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('phase', sa.String(length=32), nullable=True),
    sa.Column('done', sa.Integer(), server_default='0', nullable=False),
    sa.Column('total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('affected', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('requested_by_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(f"action IN {ACTIONS}", name=op.f('chk_campaign_actions_action')),
    sa.CheckConstraint("status IN ('pending', 'running', 'done', 'failed')", name=op.f('chk_campaign_actions_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_actions_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_campaign_actions_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_actions'))
    )
    with op.batch_alter_table('campaign_actions', schema=None) as batch_op:
        batch_op.create_index('idx_campaign_actions_campaign_id', ['campaign_id', 'created_at'], unique=False)
        batch_op.create_index('idx_campaign_actions_open', ['status'], unique=False, postgresql_where=sa.text("status IN ('pending', 'running')"), sqlite_where=sa.text("status IN ('pending', 'running')"))


def downgrade():
    with op.batch_alter_table('campaign_actions', schema=None) as batch_op:
        batch_op.drop_index('idx_campaign_actions_open', postgresql_where=sa.text("status IN ('pending', 'running')"), sqlite_where=sa.text("status IN ('pending', 'running')"))
        batch_op.drop_index('idx_campaign_actions_campaign_id')
    op.drop_table('campaign_actions')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint('chk_campaigns_pending_action', type_='check')
        batch_op.drop_column('pending_action')
