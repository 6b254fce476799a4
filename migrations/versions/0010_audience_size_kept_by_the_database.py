"""audience size kept by the database, messages in page order

`campaign_audience.lead_count` holds the number of lead ids in the snapshot, so the
campaigns list, the API and the campaign page read one integer instead of loading every
lead id of every snapshot. A trigger sets it whenever `lead_ids` is written (whoever
writes it), and the snapshots that exist already are counted at the end.

`idx_messages_campaign_schedule` serves a campaign's messages page by page in their order
(scheduled_at, mail_number, id), with status and domain included so that filtered pages
and the rows skipped by an OFFSET are read from the index alone.

The SQL is in migrations/sql/0010_<dialect>_<upgrade|downgrade>.sql.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 09:00:00.000000

"""
from __future__ import annotations

from pathlib import Path

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


SQL = Path(__file__).resolve().parent.parent / "sql"


def _statements(direction: str) -> list[str]:
    """This revision's statements for the connected database, from its own SQL file.

    A statement ends with a semicolon and a blank line, lines starting with -- are comments,
    and an indented line continues the line above it (joined on with one space).
    """
    name = f"0010_{op.get_bind().dialect.name}_{direction}.sql"
    statements: list[str] = []
    lines: list[str] = []
    for line in [*(SQL / name).read_text(encoding="utf-8").splitlines(), ""]:
        line = line.rstrip()
        if line.lstrip().startswith("--"):
            continue
        if line and line[0].isspace():
            if not lines:
                raise ValueError(f"{name}: a statement starts with an indented line: {line!r}")
            lines[-1] += " " + line.lstrip()
        elif line:
            lines.append(line)
        elif lines:
            statement = "\n".join(lines)
            if not statement.endswith(";"):
                raise ValueError(f"{name}: a blank line inside a statement: {lines[-1]!r}")
            statements.append(statement[:-1])
            lines = []
    return statements


def upgrade():
    with op.batch_alter_table('campaign_audience', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('lead_count', sa.Integer(), server_default='0', nullable=False)
        )
    for statement in _statements("upgrade"):
        op.execute(statement)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(
            'idx_messages_campaign_schedule',
            ['campaign_id', 'scheduled_at', 'mail_number', 'id'],
            unique=False,
            postgresql_include=['status', 'domain_used'],
        )


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('idx_messages_campaign_schedule')
    for statement in _statements("downgrade"):
        op.execute(statement)
    with op.batch_alter_table('campaign_audience', schema=None) as batch_op:
        batch_op.drop_column('lead_count')
