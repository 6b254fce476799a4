"""per-step delays

`campaigns.step_delays`: the working days before mail 2, 3 and 4 each (`[n2, n3, n4]`, or
fewer); a follow-up not listed waits `followup_days`, as every follow-up did before.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 16:00:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('step_delays', json_type, server_default='[]', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('step_delays')
