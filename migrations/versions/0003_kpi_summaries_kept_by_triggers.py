"""kpi summaries kept by triggers

`campaign_kpis` and `campaign_kpi_days` are adjusted by triggers on `messages` and
`message_events` in the same transaction as every change, bulk statements included,
so the dashboard reads a few summary rows instead of aggregating millions of messages.
The SQL is written once below and rendered for PostgreSQL (plpgsql) and SQLite.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 04:35:06.681953

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


# -- the trigger SQL, rendered per dialect ----------------------------------------------
#
# A message contributes one row to `campaign_kpis` (its counters are 0 or 1) and up to
# four rows to `campaign_kpi_days`. Every change removes the old contribution and adds
# the new one, grouped so that a net-zero change writes nothing; rows whose counts reach
# zero are deleted, so the summary holds exactly the groups the plain aggregate returns.
# What a message contributes depends on its row (m) and on its events (f): human opens,
# clicks, the first reply, the first bounce event, an unsubscribe.

KPI_COUNTERS = (
    "messages", "planned", "queued", "sending", "sent", "opened", "human_opened", "clicked",
    "replied", "bounced", "failed", "canceled", "uncertain", "unsubscribed",
)
DAY_COUNTERS = ("sent", "opened", "replied", "bounced")
EVENT_TYPES = "('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')"
MESSAGE_COLUMNS = ("campaign_id", "mail_number", "domain_used", "status", "sent_at", "open_at",
                   "scheduled_at")
TIMEZONE = "Europe/Amsterdam"


def _day(dialect, value):
    """The Europe/Amsterdam calendar day of a UTC timestamp."""
    if dialect == "postgresql":
        return f"((({value}) AT TIME ZONE '{TIMEZONE}')::date)"
    # SQLite has no time zone rules: the EU's (since 1996) are written out. Summer time runs
    # from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October.
    year = f"substr({value}, 1, 4)"
    start = f"datetime({year} || '-03-25', 'weekday 0', '+1 hours')"
    end = f"datetime({year} || '-10-25', 'weekday 0', '+1 hours')"
    offset = (f"CASE WHEN {value} >= {start} AND {value} < {end} "
              "THEN '+2 hours' ELSE '+1 hours' END")
    return f"date({value}, {offset})"


def _human(dialect):
    if dialect == "postgresql":
        return "(e.meta ->> 'machine') = 'false'"
    return "json_extract(e.meta, '$.machine') = 0"


def _flags(dialect, message_id, exclude=None, extra=None):
    """One row: the message's event flags, from its events (less one id, plus one row)."""
    where = f"message_id = {message_id} AND event_type IN {EVENT_TYPES}"
    if exclude:
        where += f" AND id <> {exclude}"
    events = f"SELECT event_type, meta, created_at FROM message_events WHERE {where}"
    if extra:
        events += (f" UNION ALL SELECT {extra}.event_type, {extra}.meta, {extra}.created_at"
                   f" WHERE {extra}.event_type IN {EVENT_TYPES}")
    return (
        "(SELECT"
        f" max(CASE WHEN e.event_type = 'opened' AND {_human(dialect)} THEN 1 ELSE 0 END)"
        " AS human_open,"
        " max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,"
        " min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,"
        " min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END) AS bounce_event_at,"
        " max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END) AS unsubscribed"
        f" FROM ({events}) e) f"
    )


def _no_flags(dialect):
    moment = "NULL::timestamptz" if dialect == "postgresql" else "NULL"
    return (f"(SELECT 0 AS human_open, 0 AS clicked, {moment} AS replied_at,"
            f" {moment} AS bounce_event_at, 0 AS unsubscribed) f")


def _row(record):
    """A one-row table of a trigger record's message columns (NEW or OLD)."""
    columns = ", ".join(f"{record}.{c} AS {c}" for c in MESSAGE_COLUMNS)
    return f"(SELECT {columns}) m"


def _stored(message_id):
    columns = ", ".join(MESSAGE_COLUMNS)
    return f"(SELECT {columns} FROM messages WHERE id = {message_id}) m"


def _one(condition):
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def _totals_part(sign, source):
    values = {
        "messages": "1",
        "planned": _one("m.status <> 'canceled'"),
        "queued": _one("m.status = 'queued'"),
        "sending": _one("m.status = 'sending'"),
        "sent": _one("m.sent_at IS NOT NULL"),
        "opened": _one("m.open_at IS NOT NULL"),
        "human_opened": _one("m.open_at IS NOT NULL AND coalesce(f.human_open, 0) = 1"),
        "clicked": "coalesce(f.clicked, 0)",
        "replied": _one("f.replied_at IS NOT NULL"),
        "bounced": _one("m.status = 'bounced' OR f.bounce_event_at IS NOT NULL"),
        "failed": _one("m.status = 'failed'"),
        "canceled": _one("m.status = 'canceled'"),
        "uncertain": _one("m.status = 'uncertain'"),
        "unsubscribed": "coalesce(f.unsubscribed, 0)",
    }
    columns = ", ".join(f"{sign}{values[c]} AS {c}" for c in KPI_COUNTERS)
    return f"SELECT m.campaign_id, m.mail_number, m.domain_used, {columns} FROM {source}"


BOUNCE_AT = ("CASE WHEN f.bounce_event_at IS NOT NULL THEN f.bounce_event_at"
             " WHEN m.status = 'bounced' THEN coalesce(m.sent_at, m.scheduled_at) END")


def _days_parts(dialect, sign, source):
    moments = {
        "sent": "m.sent_at",
        "opened": "m.open_at",
        "replied": "f.replied_at",
        "bounced": f"({BOUNCE_AT})",
    }
    parts = []
    for name, moment in moments.items():
        counts = ", ".join(f"{sign + '1' if c == name else '0'} AS {c}" for c in DAY_COUNTERS)
        parts.append(
            f"SELECT m.campaign_id, m.domain_used, {_day(dialect, moment)} AS day, {counts}"
            f" FROM {source} WHERE {moment} IS NOT NULL"
        )
    return parts


def _upsert_totals(parts):
    sums = ", ".join(f"sum({c})" for c in KPI_COUNTERS)
    nonzero = " OR ".join(f"sum({c}) <> 0" for c in KPI_COUNTERS)
    update = ", ".join(f"{c} = campaign_kpis.{c} + excluded.{c}" for c in KPI_COUNTERS)
    return (
        f"INSERT INTO campaign_kpis (campaign_id, mail_number, domain_used, "
        f"{', '.join(KPI_COUNTERS)}) "
        f"SELECT campaign_id, mail_number, domain_used, {sums} "
        f"FROM ({' UNION ALL '.join(parts)}) d "
        f"GROUP BY campaign_id, mail_number, domain_used HAVING {nonzero} "
        f"ON CONFLICT (campaign_id, mail_number, domain_used) DO UPDATE SET {update}"
    )


def _upsert_days(parts):
    sums = ", ".join(f"sum({c})" for c in DAY_COUNTERS)
    nonzero = " OR ".join(f"sum({c}) <> 0" for c in DAY_COUNTERS)
    update = ", ".join(f"{c} = campaign_kpi_days.{c} + excluded.{c}" for c in DAY_COUNTERS)
    return (
        f"INSERT INTO campaign_kpi_days (campaign_id, domain_used, day, "
        f"{', '.join(DAY_COUNTERS)}) "
        f"SELECT campaign_id, domain_used, day, {sums} "
        f"FROM ({' UNION ALL '.join(parts)}) d "
        f"GROUP BY campaign_id, domain_used, day HAVING {nonzero} "
        f"ON CONFLICT (campaign_id, domain_used, day) DO UPDATE SET {update}"
    )


def _tidy(dialect, source):
    """Delete the summary rows an old contribution may have brought to zero."""
    days = " UNION ALL ".join(f"SELECT day FROM ({p}) z" for p in _days_parts(dialect, "", source))
    return [
        "DELETE FROM campaign_kpis WHERE messages = 0 AND (campaign_id, mail_number, domain_used)"
        f" IN (SELECT m.campaign_id, m.mail_number, m.domain_used FROM {source})",
        "DELETE FROM campaign_kpi_days WHERE sent = 0 AND opened = 0 AND replied = 0"
        " AND bounced = 0 AND (campaign_id, domain_used, day) IN (SELECT m.campaign_id,"
        f" m.domain_used, d.day FROM {source}, ({days}) d)",
    ]


def _change(dialect, old_source, new_source):
    """The statements that replace one contribution by another (either may be missing)."""
    totals, days = [], []
    if old_source:
        totals.append(_totals_part("-", old_source))
        days += _days_parts(dialect, "-", old_source)
    if new_source:
        totals.append(_totals_part("", new_source))
        days += _days_parts(dialect, "", new_source)
    statements = [_upsert_totals(totals), _upsert_days(days)]
    if old_source:
        statements += _tidy(dialect, old_source)
    return statements


def _bodies(dialect):
    """Per trigger: (timing, event, condition, statements)."""
    rows = lambda record: f"{_row(record)}, "  # noqa: E731
    message_changed = " OR ".join(
        f"OLD.{c} IS DISTINCT FROM NEW.{c}"
        for c in ("status", "sent_at", "open_at", "campaign_id", "mail_number", "domain_used")
    ) + (" OR (OLD.scheduled_at IS DISTINCT FROM NEW.scheduled_at"
         " AND 'bounced' IN (OLD.status, NEW.status))")
    relevant = lambda record: f"{record}.event_type IN {EVENT_TYPES}"  # noqa: E731
    flags_now = _flags(dialect, "NEW.id")
    return {
        "kpis_message_inserted": (
            "AFTER", "INSERT", None, _change(dialect, None, rows("NEW") + _no_flags(dialect))),
        "kpis_message_updated": (
            "AFTER",
            "UPDATE OF " + ", ".join(MESSAGE_COLUMNS),
            message_changed,
            _change(dialect, rows("OLD") + flags_now, rows("NEW") + flags_now),
        ),
        # Before the row goes, while its events (deleted by the cascade after it) still count.
        "kpis_message_deleting": (
            "BEFORE", "DELETE", None, _change(dialect, rows("OLD") + _flags(dialect, "OLD.id"),
                                              None)),
        "kpis_event_inserted": (
            "AFTER", "INSERT", relevant("NEW"),
            _change(
                dialect,
                f"{_stored('NEW.message_id')}, {_flags(dialect, 'NEW.message_id', 'NEW.id')}",
                f"{_stored('NEW.message_id')}, {_flags(dialect, 'NEW.message_id')}",
            ),
        ),
        "kpis_event_updated": (
            "AFTER", "UPDATE OF message_id, event_type, meta, created_at",
            f"{relevant('OLD')} OR {relevant('NEW')}",
            _change(
                dialect,
                f"{_stored('OLD.message_id')}, "
                f"{_flags(dialect, 'OLD.message_id', 'NEW.id', 'OLD')}",
                f"{_stored('OLD.message_id')}, {_flags(dialect, 'OLD.message_id', 'NEW.id')}",
            )
            + _change(
                dialect,
                f"{_stored('NEW.message_id')}, {_flags(dialect, 'NEW.message_id', 'NEW.id')}",
                f"{_stored('NEW.message_id')}, {_flags(dialect, 'NEW.message_id')}",
            ),
        ),
        # When the message itself is being deleted it is no longer found, and its own
        # trigger has already taken its whole contribution away.
        "kpis_event_deleted": (
            "AFTER", "DELETE", relevant("OLD"),
            _change(
                dialect,
                f"{_stored('OLD.message_id')}, "
                f"{_flags(dialect, 'OLD.message_id', None, 'OLD')}",
                f"{_stored('OLD.message_id')}, {_flags(dialect, 'OLD.message_id')}",
            ),
        ),
    }


def _locks(name):
    """Events of one message take turns, so two first clicks cannot both count."""
    if name.startswith("kpis_event"):
        record = "OLD" if name.endswith("deleted") else "NEW"
        return (f"PERFORM 1 FROM messages WHERE id = {record}.message_id"
                " FOR NO KEY UPDATE;\n")
    return ""


# On PostgreSQL the triggers that bulk statements hit (starting a campaign inserts its plan,
# stopping it cancels everything queued, re-planning moves it) run once per statement over
# transition tables, so a 100,000-row statement is one set-based adjustment instead of
# 100,000 trigger calls.
def _grouped_flags(dialect, rows):
    """Per message of `rows`: its event flags (the set-based form of `_flags`)."""
    return (
        "(SELECT e.message_id,"
        f" max(CASE WHEN e.event_type = 'opened' AND {_human(dialect)} THEN 1 ELSE 0 END)"
        " AS human_open,"
        " max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,"
        " min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,"
        " min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END) AS bounce_event_at,"
        " max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END) AS unsubscribed"
        f" FROM message_events e WHERE e.event_type IN {EVENT_TYPES}"
        f" AND e.message_id IN (SELECT id FROM {rows}) GROUP BY e.message_id) f"
    )


def _statement_change(dialect, old_source, new_source):
    """`_change` for many rows at once; the day rows are tidied by key, not by product."""
    totals, days = [], []
    if old_source:
        totals.append(_totals_part("-", old_source))
        days += _days_parts(dialect, "-", old_source)
    if new_source:
        totals.append(_totals_part("", new_source))
        days += _days_parts(dialect, "", new_source)
    statements = [_upsert_totals(totals), _upsert_days(days)]
    if old_source:
        keys = " UNION ALL ".join(_days_parts(dialect, "", old_source))
        statements += [
            "DELETE FROM campaign_kpis WHERE messages = 0 AND (campaign_id, mail_number,"
            f" domain_used) IN (SELECT m.campaign_id, m.mail_number, m.domain_used"
            f" FROM {old_source})",
            "DELETE FROM campaign_kpi_days WHERE sent = 0 AND opened = 0 AND replied = 0"
            " AND bounced = 0 AND (campaign_id, domain_used, day) IN"
            f" (SELECT campaign_id, domain_used, day FROM ({keys}) k)",
        ]
    return statements


def _statement_triggers(dialect):
    """PostgreSQL: (event, referencing, statements) of the statement-level message triggers."""
    flags = _grouped_flags(dialect, "new_rows")
    return {
        "kpis_message_inserted": (
            "INSERT",
            "REFERENCING NEW TABLE AS new_rows",
            _statement_change(dialect, None, "new_rows m, " + _no_flags(dialect)),
        ),
        "kpis_message_updated": (
            "UPDATE",
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            _statement_change(
                dialect,
                f"old_rows m LEFT JOIN {flags} ON f.message_id = m.id",
                f"new_rows m LEFT JOIN {flags} ON f.message_id = m.id",
            ),
        ),
    }


def create_sql(dialect):
    statements = []
    statement_level = _statement_triggers(dialect) if dialect == "postgresql" else {}
    for name, (timing, event, condition, body) in _bodies(dialect).items():
        table = "messages" if name.startswith("kpis_message") else "message_events"
        if name in statement_level:
            event, referencing, body = statement_level[name]
            statements.append(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
                + "".join(f"{s};\n" for s in body)
                + "RETURN NULL;\nEND\n$$"
            )
            statements.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} {referencing}"
                f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
            continue
        if dialect == "postgresql":
            result = "OLD" if timing == "BEFORE" else "NULL"
            if name == "kpis_event_updated":
                lock = ("PERFORM 1 FROM messages WHERE id IN (OLD.message_id, NEW.message_id)"
                        " ORDER BY id FOR NO KEY UPDATE;\n")
            else:
                lock = _locks(name)
            statements.append(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
                + lock
                + "".join(f"{s};\n" for s in body)
                + f"RETURN {result};\nEND\n$$"
            )
            when = f" WHEN ({condition})" if condition else ""
            statements.append(
                f"CREATE TRIGGER {name} {timing} {event} ON {table} FOR EACH ROW{when}"
                f" EXECUTE FUNCTION {name}()"
            )
        else:
            when = f" WHEN {condition.replace('IS DISTINCT FROM', 'IS NOT')}" if condition else ""
            statements.append(
                f"CREATE TRIGGER {name} {timing} {event} ON {table} FOR EACH ROW{when}\nBEGIN\n"
                + "".join(f"{s};\n" for s in body)
                + "END"
            )
    statements += _backfill(dialect)
    return statements


def _backfill(dialect):
    """The summaries of the messages that exist already."""
    source = (
        "messages m LEFT JOIN (SELECT e.message_id,"
        f" max(CASE WHEN e.event_type = 'opened' AND {_human(dialect)} THEN 1 ELSE 0 END)"
        " AS human_open,"
        " max(CASE WHEN e.event_type = 'clicked' THEN 1 ELSE 0 END) AS clicked,"
        " min(CASE WHEN e.event_type = 'replied' THEN e.created_at END) AS replied_at,"
        " min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END) AS bounce_event_at,"
        " max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 ELSE 0 END) AS unsubscribed"
        f" FROM message_events e WHERE e.event_type IN {EVENT_TYPES} GROUP BY e.message_id) f"
        " ON f.message_id = m.id"
    )
    return [_upsert_totals([_totals_part("", source)]),
            _upsert_days(_days_parts(dialect, "", source))]


def drop_sql(dialect):
    statements = []
    for name in _bodies(dialect):
        table = "messages" if name.startswith("kpis_message") else "message_events"
        if dialect == "postgresql":
            statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            statements.append(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            statements.append(f"DROP TRIGGER IF EXISTS {name}")
    return statements




def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('campaign_kpi_days',
    sa.Column('campaign_id', sa.String(length=32), nullable=False),
    sa.Column('domain_used', sa.String(length=253), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sent', sa.Integer(), server_default='0', nullable=False),
    sa.Column('opened', sa.Integer(), server_default='0', nullable=False),
    sa.Column('replied', sa.Integer(), server_default='0', nullable=False),
    sa.Column('bounced', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'domain_used', 'day', name=op.f('pk_campaign_kpi_days'))
    )
    with op.batch_alter_table('campaign_kpi_days', schema=None) as batch_op:
        batch_op.create_index('idx_campaign_kpi_days_day', ['day', 'domain_used'], unique=False)

    op.create_table('campaign_kpis',
    sa.Column('campaign_id', sa.String(length=32), nullable=False),
    sa.Column('mail_number', sa.Integer(), nullable=False),
    sa.Column('domain_used', sa.String(length=253), nullable=False),
    sa.Column('messages', sa.Integer(), server_default='0', nullable=False),
    sa.Column('planned', sa.Integer(), server_default='0', nullable=False),
    sa.Column('queued', sa.Integer(), server_default='0', nullable=False),
    sa.Column('sending', sa.Integer(), server_default='0', nullable=False),
    sa.Column('sent', sa.Integer(), server_default='0', nullable=False),
    sa.Column('opened', sa.Integer(), server_default='0', nullable=False),
    sa.Column('human_opened', sa.Integer(), server_default='0', nullable=False),
    sa.Column('clicked', sa.Integer(), server_default='0', nullable=False),
    sa.Column('replied', sa.Integer(), server_default='0', nullable=False),
    sa.Column('bounced', sa.Integer(), server_default='0', nullable=False),
    sa.Column('failed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('canceled', sa.Integer(), server_default='0', nullable=False),
    sa.Column('uncertain', sa.Integer(), server_default='0', nullable=False),
    sa.Column('unsubscribed', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'mail_number', 'domain_used', name=op.f('pk_campaign_kpis'))
    )
    with op.batch_alter_table('message_events', schema=None) as batch_op:
        batch_op.create_index('idx_message_events_kpis', ['message_id', 'event_type', 'created_at'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('idx_messages_kpis', ['campaign_id', 'mail_number', 'domain_used', 'status', 'sent_at', 'open_at', 'scheduled_at'], unique=False)

    # ### end Alembic commands ###
    bind = op.get_bind()
    for statement in create_sql(bind.dialect.name):
        op.execute(statement)


def downgrade():
    bind = op.get_bind()
    for statement in drop_sql(bind.dialect.name):
        op.execute(statement)
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('idx_messages_kpis')

    with op.batch_alter_table('message_events', schema=None) as batch_op:
        batch_op.drop_index('idx_message_events_kpis')

    op.drop_table('campaign_kpis')
    with op.batch_alter_table('campaign_kpi_days', schema=None) as batch_op:
        batch_op.drop_index('idx_campaign_kpi_days_day')

    op.drop_table('campaign_kpi_days')
    # ### end Alembic commands ###
