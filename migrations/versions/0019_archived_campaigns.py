"""archived campaigns

`campaigns.archived_at`: a completed or stopped campaign put out of the default list. Only
a finished campaign can be archived (`chk_campaigns_archived_finished`), so an archived
campaign never hides mail that is still to go.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 15:30:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            'chk_campaigns_archived_finished',
            "archived_at IS NULL OR status IN ('completed', 'stopped')",
        )


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint('chk_campaigns_archived_finished', type_='check')
        batch_op.drop_column('archived_at')
