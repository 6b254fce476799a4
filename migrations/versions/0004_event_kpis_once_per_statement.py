"""event kpis once per statement

On PostgreSQL the KPI trigger on new `message_events` runs once per statement over its
transition table, like the message triggers of 0003, and only for the messages whose
event flags (a human open, a click, the first reply or bounce, an unsubscribe) really
change. The open pixel writes its hits in batches, and most of them are machine opens or
repeated opens that change no summary: each used to cost a full adjustment of its own.
The statement-level message functions of 0003 return at once when their statement changed
no row. SQLite keeps the row triggers of 0003.

The SQL is in migrations/sql/0004_postgresql_<upgrade|downgrade>.sql, written out in full:
the downgrade carries its own copy of the functions and the row trigger of 0003 instead of
asking 0003 for them, so that neither revision changes what the other runs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 06:40:00.000000

"""

from __future__ import annotations

from pathlib import Path

from alembic import op

from webapp.migration_sql import sql_statements


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


SQL = Path(__file__).resolve().parent.parent / "sql"


def _statements(direction: str) -> list[str]:
    """This revision's PostgreSQL statements, from its own SQL file."""
    return sql_statements(SQL / f"0004_postgresql_{direction}.sql")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _statements("upgrade"):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _statements("downgrade"):
        op.execute(statement)
