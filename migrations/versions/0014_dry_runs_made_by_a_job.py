"""dry runs made by a job, and a started audience's lead checks

`dry_run_reports.computing` / `computing_since`: the fingerprint a job is making a report
for, and since when, so a page that finds no fresh report enqueues one job per campaign
and fingerprint. `campaign_audience.lead_checks`: the counts behind a started campaign's
lead warnings, taken when it started, so its dry run reads no lead rows.
`idx_leads_updated_at`: the latest lead change, the draft's fingerprint of its leads.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 09:00:00.000000

"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dry_run_reports') as batch:
        batch.add_column(sa.Column('computing', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('computing_since', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('campaign_audience') as batch:
        batch.add_column(sa.Column('lead_checks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
    op.create_index('idx_leads_updated_at', 'leads', ['updated_at'], unique=False)


def downgrade():
    op.drop_index('idx_leads_updated_at', table_name='leads')
    with op.batch_alter_table('campaign_audience') as batch:
        batch.drop_column('lead_checks')
    with op.batch_alter_table('dry_run_reports') as batch:
        batch.drop_column('computing_since')
        batch.drop_column('computing')
