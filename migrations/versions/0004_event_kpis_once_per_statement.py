"""event kpis once per statement

On PostgreSQL the KPI trigger on new `message_events` runs once per statement over its
transition table, like the message triggers of 0003, and only for the messages whose
event flags (a human open, a click, the first reply or bounce, an unsubscribe) really
change. The open pixel writes its hits in batches, and most of them are machine opens or
repeated opens that change no summary: each used to cost a full adjustment of its own.
The statement-level message functions of 0003 return at once when their statement changed
no row. SQLite keeps the row triggers of 0003.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 06:40:00.000000

"""

import importlib.util
from pathlib import Path

from alembic import op


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _revision_0003():
    """The trigger SQL builders of 0003, loaded by path (revision files are not a package)."""
    path = Path(__file__).with_name("0003_kpi_summaries_kept_by_triggers.py")
    spec = importlib.util.spec_from_file_location("kpi_triggers_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NAME = "kpis_event_inserted"
HUMAN = "(e.meta ->> 'machine') = 'false'"
# A new event can change its message's flags only if it is one of these.
RELEVANT = (
    "n.event_type IN ('clicked', 'replied', 'bounced', 'unsubscribed')"
    " OR (n.event_type = 'opened' AND (n.meta ->> 'machine') = 'false')"
)
# A message's flags from its events `e`, each with its type; {only} is where a FILTER goes.
FLAGS = (
    ("human_open", "int",
     f"coalesce(max(CASE WHEN e.event_type = 'opened' AND {HUMAN} THEN 1 END){{only}}, 0)"),
    ("clicked", "int", "coalesce(max(CASE WHEN e.event_type = 'clicked' THEN 1 END){only}, 0)"),
    ("replied_at", "timestamptz",
     "min(CASE WHEN e.event_type = 'replied' THEN e.created_at END){only}"),
    ("bounce_event_at", "timestamptz",
     "min(CASE WHEN e.event_type = 'bounced' THEN e.created_at END){only}"),
    ("unsubscribed", "int",
     "coalesce(max(CASE WHEN e.event_type = 'unsubscribed' THEN 1 END){only}, 0)"),
)


def _source(prefix):
    """The changed messages (m) with their flags (f) before (b_) or after (a_) the statement."""
    arrays = ", ".join(f"{prefix}{name}" for name, _, _ in FLAGS)
    names = ", ".join(name for name, _, _ in FLAGS)
    return (f"unnest(ids, {arrays}) AS f(message_id, {names})"
            " JOIN messages m ON m.id = f.message_id")


def _statement_function(v3):
    """Every query here is driven by the statement's rows and reaches `message_events` by
    message id, so its plan holds however stale the table's statistics are."""
    only_old = " FILTER (WHERE e.id <> ALL(t.new_ids))"
    flags = ", ".join(
        f"{value.format(only=only_old)} AS b_{name}, {value.format(only='')} AS a_{name}"
        for name, _, value in FLAGS
    )
    before = ", ".join(f"x.b_{name}" for name, _, _ in FLAGS)
    after = ", ".join(f"x.a_{name}" for name, _, _ in FLAGS)
    arrays = ", ".join(f"b_{name}, a_{name}" for name, _, _ in FLAGS)
    aggregates = ", ".join(f"array_agg(x.b_{name}), array_agg(x.a_{name})" for name, _, _ in FLAGS)
    declarations = "".join(f"b_{name} {kind}[]; a_{name} {kind}[];\n" for name, kind, _ in FLAGS)
    body = v3._statement_change("postgresql", _source("b_"), _source("a_"))
    return (
        f"CREATE FUNCTION {NAME}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"DECLARE ids varchar[];\n{declarations}"
        "BEGIN\n"
        f"IF NOT EXISTS (SELECT 1 FROM new_rows n WHERE {RELEVANT}) THEN RETURN NULL; END IF;\n"
        # Events of one message take turns, so two first clicks cannot both count; a
        # statement waiting here sees the other's events once it has the lock.
        "PERFORM 1 FROM messages WHERE id IN"
        f" (SELECT n.message_id FROM new_rows n WHERE {RELEVANT}) ORDER BY id FOR NO KEY UPDATE;\n"
        # The messages whose flags this statement changes, with their flags before and after.
        f"SELECT array_agg(t.message_id), {aggregates} INTO ids, {arrays} FROM"
        " (SELECT n.message_id, array_agg(n.id) AS new_ids FROM new_rows n"
        f" WHERE {RELEVANT} GROUP BY n.message_id) t"
        f" CROSS JOIN LATERAL (SELECT {flags} FROM message_events e"
        f" WHERE e.message_id = t.message_id AND e.event_type IN {v3.EVENT_TYPES}) x"
        f" WHERE ROW({before}) IS DISTINCT FROM ROW({after});\n"
        "IF ids IS NULL THEN RETURN NULL; END IF;\n"
        + "".join(f"{statement};\n" for statement in body)
        + "RETURN NULL;\nEND\n$$"
    )


def _message_functions(v3, guarded):
    """The statement-level message functions of 0003; guarded, they return at once when the
    statement changed no row (an UPDATE matching nothing still fires its statement trigger)."""
    guard = "IF NOT EXISTS (SELECT 1 FROM new_rows) THEN RETURN NULL; END IF;\n" if guarded else ""
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        + guard
        + "".join(f"{statement};\n" for statement in body)
        + "RETURN NULL;\nEND\n$$"
        for name, (_, _, body) in v3._statement_triggers("postgresql").items()
    ]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    v3 = _revision_0003()
    for statement in _message_functions(v3, guarded=True):
        op.execute(statement)
    op.execute(f"DROP TRIGGER {NAME} ON message_events")
    op.execute(f"DROP FUNCTION {NAME}()")
    op.execute(_statement_function(v3))
    op.execute(
        f"CREATE TRIGGER {NAME} AFTER INSERT ON message_events"
        f" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {NAME}()"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    v3 = _revision_0003()
    for statement in _message_functions(v3, guarded=False):
        op.execute(statement)
    op.execute(f"DROP TRIGGER {NAME} ON message_events")
    op.execute(f"DROP FUNCTION {NAME}()")
    for statement in v3.create_sql("postgresql"):
        if f"{NAME}()" in statement:  # the row function of 0003 and its trigger
            op.execute(statement)
