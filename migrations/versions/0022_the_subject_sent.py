"""the subject each message went out with

`messages.subject`: written when the mail is handed to SMTP, so a follow-up answers `Re:` of
the subject its lead really received, and a reply is matched by it, however the template is
edited afterwards. Older messages have none and are rendered again, as before.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 17:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN, never a batch: on SQLite a batch copies `messages` into a new
    # table, which the KPI and booking triggers on it do not survive.
    op.add_column('messages', sa.Column('subject', sa.Text(), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE messages DROP COLUMN subject')
    else:
        op.drop_column('messages', 'subject')
