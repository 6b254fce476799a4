"""a language per user

Each user may choose the interface's language (`nl` or `en`); without a choice the
browser's Accept-Language decides, and Dutch is the default.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 06:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
