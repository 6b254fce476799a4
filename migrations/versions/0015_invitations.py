"""invitations

`invitations`: an address an admin asked to join with a role. The link in the mail is
signed over the invitation's id and `nonce`; a resend draws a new nonce, so older links
stop working. `uk_invitations_open_email` keeps one open (not accepted, not canceled)
invitation per address.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-12 09:00:00.000000

"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

OPEN = sa.text('accepted_at IS NULL AND canceled_at IS NULL')


def upgrade():
    op.create_table('invitations',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('invited_by_id', sa.String(length=32), nullable=True),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('canceled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_id', sa.String(length=32), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'marketer', 'manager')", name='chk_invitations_role'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_invitations_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index('uk_invitations_open_email', ['email'], unique=True, postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index('uk_invitations_open_email', postgresql_where=OPEN, sqlite_where=OPEN)
    op.drop_table('invitations')
