"""the filled variables of each lead, kept by the database

`leads.filled_vars` lists the names of the lead's variables that have a value (not empty
after trimming blanks), so the audience builder's "only complete leads" test is one
containment (`filled_vars @> '["company", "url", ...]'`) per lead instead of reading and
trimming each required variable out of the JSON of every lead of the chosen lists. A
trigger sets it whenever `vars` is written (imports by COPY included), and the leads that
exist already are filled in at the end. A list longer than 1,000 characters is not stored
(NULL: the builder reads vars for that lead), so it always fits in an index entry.

`idx_leads_audience` holds, per list, every column the builder's funnel reads of a lead
that is neither deleted nor stopped, so the funnel over two 30,000-lead lists reads about
2,400 index pages instead of the whole table (docs/benchmarks.md, "Audience preview").
`idx_leads_vars_not_listed` finds the leads whose list was not stored (usually none).

The SQL is in migrations/sql/0013_<dialect>_<upgrade|downgrade>.sql.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-11 09:00:00.000000

"""

from __future__ import annotations

from pathlib import Path

from alembic import op
from webapp.migration_sql import sql_statements
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


SQL = Path(__file__).resolve().parent.parent / "sql"


def _statements(direction: str) -> list[str]:
    """This revision's statements for the connected database, from its own SQL file."""
    return sql_statements(SQL / f"0013_{op.get_bind().dialect.name}_{direction}.sql")


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filled_vars", json_type, server_default="[]", nullable=True))
    for statement in _statements("upgrade"):
        op.execute(statement)
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(
            "idx_leads_audience",
            ["list_name"],
            unique=False,
            postgresql_include=[
                "created_at",
                "id",
                "status",
                "last_emailed_at",
                "domain",
                "email",
                "filled_vars",
            ],
            postgresql_where=sa.text("deleted_at IS NULL AND stopped = false"),
            sqlite_where=sa.text("deleted_at IS NULL AND stopped = false"),
        )
        batch_op.create_index(
            "idx_leads_vars_not_listed",
            ["list_name"],
            unique=False,
            postgresql_where=sa.text(
                "filled_vars IS NULL AND deleted_at IS NULL AND stopped = false"
            ),
            sqlite_where=sa.text("filled_vars IS NULL AND deleted_at IS NULL AND stopped = false"),
        )


def downgrade():
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("idx_leads_vars_not_listed")
        batch_op.drop_index("idx_leads_audience")
    for statement in _statements("downgrade"):
        op.execute(statement)
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("filled_vars")
