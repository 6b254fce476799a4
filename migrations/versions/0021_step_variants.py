"""step variants and experiment winners

`template_steps.variants`: up to four versions (A-D) of a step's texts with weights (an
empty list: no experiment). `messages.variant`: the version a lead gets, fixed when the
message is planned. `campaigns.variant_winners` (`{"mail_number": "key"}`) and
`campaigns.auto_winner_min_sends` (declare a winner by itself once each variant has this
many sends). `idx_messages_campaign_variant` serves the experiment's one grouped read.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

_with_variant = sa.text("variant IS NOT NULL")
_VARIANT_CHECK = "variant IS NULL OR variant IN ('A', 'B', 'C', 'D')"


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    with op.batch_alter_table('template_steps', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('variants', json_type, server_default='[]', nullable=False)
        )
    if op.get_bind().dialect.name == 'sqlite':
        # A batch would copy `messages` into a new table, which the KPI and booking
        # triggers on it do not survive; SQLite adds a column with its check in place.
        op.execute(
            "ALTER TABLE messages ADD COLUMN variant VARCHAR(1) CONSTRAINT chk_messages_variant"
            f" CHECK ({_VARIANT_CHECK})"
        )
    else:
        op.add_column('messages', sa.Column('variant', sa.String(length=1), nullable=True))
        op.create_check_constraint('chk_messages_variant', 'messages', _VARIANT_CHECK)
    op.create_index(
        'idx_messages_campaign_variant',
        'messages',
        ['campaign_id', 'mail_number', 'variant'],
        unique=False,
        postgresql_where=_with_variant,
        sqlite_where=_with_variant,
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('variant_winners', json_type, server_default='{}', nullable=False)
        )
        batch_op.add_column(sa.Column('auto_winner_min_sends', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            'chk_campaigns_auto_winner_min_sends',
            'auto_winner_min_sends IS NULL OR auto_winner_min_sends >= 1',
        )


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint('chk_campaigns_auto_winner_min_sends', type_='check')
        batch_op.drop_column('auto_winner_min_sends')
        batch_op.drop_column('variant_winners')
    op.drop_index('idx_messages_campaign_variant', table_name='messages')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE messages DROP COLUMN variant")
    else:
        op.drop_constraint('chk_messages_variant', 'messages', type_='check')
        op.drop_column('messages', 'variant')
    with op.batch_alter_table('template_steps', schema=None) as batch_op:
        batch_op.drop_column('variants')
