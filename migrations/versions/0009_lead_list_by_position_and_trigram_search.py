"""lead list by position and trigram search

The lead list is read a page at a time from an index: each sort order it offers is one
range of an index (column, id), so a page costs the same at any depth and the default
order (newest first) no longer sorts the whole table. `status` and `list_name` had an
index of their own, which the wider ones replace; `created_at` and `company` had none.

On PostgreSQL, the search looks for a substring in one text per lead (address, company,
domain, first and last name, lower-cased: webapp/services/leads/search.py), and a trigram
index (pg_trgm) over exactly that expression finds the matching rows without reading the
table. SQLite has no trigram indexes and compares each row.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 06:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The same expression as SEARCH_TEXT_SQL["postgresql"] in webapp/services/leads/search.py,
# written out here so that this revision never changes with later code.
SEARCH_TEXT = (
    "lower(email || ' ' || coalesce(company, '') || ' ' || coalesce(domain, '') || ' '"
    " || coalesce(vars ->> 'first_name', '') || ' ' || coalesce(vars ->> 'last_name', ''))"
)


def upgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index('idx_leads_status')
        batch_op.drop_index('idx_leads_list_name')
        batch_op.create_index('idx_leads_status', ['status', 'id'], unique=False)
        batch_op.create_index('idx_leads_list_name', ['list_name', 'id'], unique=False)
        batch_op.create_index('idx_leads_created_at', ['created_at', 'id'], unique=False)
        batch_op.create_index('idx_leads_company', ['company', 'id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute(
            f'CREATE INDEX idx_leads_search_trgm ON leads USING gin (({SEARCH_TEXT}) gin_trgm_ops)'
        )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        # The extension stays: other objects may use it, and it costs nothing unused.
        op.execute('DROP INDEX IF EXISTS idx_leads_search_trgm')
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index('idx_leads_company')
        batch_op.drop_index('idx_leads_created_at')
        batch_op.drop_index('idx_leads_list_name')
        batch_op.drop_index('idx_leads_status')
        batch_op.create_index('idx_leads_list_name', ['list_name'], unique=False)
        batch_op.create_index('idx_leads_status', ['status'], unique=False)
