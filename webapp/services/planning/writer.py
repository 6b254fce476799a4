"""Writing a plan: planned messages become `queued` rows, in bulk, safe to repeat.

PostgreSQL: the rows are copied (COPY) into a temporary table and moved with one
INSERT ... SELECT ... ON CONFLICT DO NOTHING, the fastest way that still honours
the unique key. Elsewhere (the embedded SQLite default): executemany of the same
INSERT ... ON CONFLICT DO NOTHING.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webapp.database import affected_rows, new_id
from webapp.extensions import db
from webapp.models import Campaign, Message, MessageStatus
from webapp.queue import wake_dispatcher_after_commit
from webapp.services.mail import Variant, assign_variant, variants_of
from webapp.services.planning.planner import PlannedMessage

# One constant key: every planner in every process serialises on it, so two
# campaigns starting at once never read the same slot as free.
PLANNING_LOCK_KEY = 0x706C616E  # "plan"

COLUMNS = (
    "id",
    "campaign_id",
    "lead_id",
    "domain_used",
    "scheduled_at",
    "mail_number",
    "alias",
    "from_email",
    "reply_to_email",
    "status",
    "parent_message_id",
    "is_followup",
    "with_report",
    "with_image",
    "retry_count",
    "created_at",
    "variant",
)

_STAGING_DDL = """
CREATE TEMPORARY TABLE IF NOT EXISTS plan_staging (
    id varchar(32), campaign_id varchar(32), lead_id varchar(32), domain_used varchar(253),
    scheduled_at timestamptz, mail_number integer, alias varchar(64), from_email varchar(320),
    reply_to_email varchar(320), status varchar(16), parent_message_id varchar(32),
    is_followup boolean, with_report boolean, with_image boolean, retry_count integer,
    created_at timestamptz, variant varchar(1)
) ON COMMIT DROP
"""


def lock_planning() -> None:
    """Hold the planning lock until the transaction ends (PostgreSQL; SQLite has one writer)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PLANNING_LOCK_KEY}
        )


def message_rows(
    campaign: Campaign,
    messages: list[PlannedMessage],
    existing: dict[tuple[str, int], str],
    now: datetime,
) -> list[tuple[Any, ...]]:
    """The rows to insert, in COLUMNS order; ids of rows already there are reused,
    so a new follow-up can point at a parent written by an earlier start.

    Each message gets its variant here, once: the step's declared winner, else the lead's
    own by `assign_variant`. Rows already there are never written again, so a re-plan, a
    resume or a second start never changes a lead's variant."""
    ids = dict(existing)
    for message in messages:
        key = (message.lead_id, message.mail_number)
        if key not in ids:
            ids[key] = new_id()
    attach = bool(campaign.followup_attach_report)
    pick = _variant_picker(campaign)
    rows = []
    for m in messages:
        parent = None
        if m.parent_mail_number is not None:
            parent = ids.get((m.lead_id, m.parent_mail_number))
        address = f"{m.alias}@{m.domain}"
        rows.append(
            (
                ids[(m.lead_id, m.mail_number)],
                campaign.id,
                m.lead_id,
                m.domain,
                m.scheduled_at,
                m.mail_number,
                m.alias,
                address,
                address,
                MessageStatus.QUEUED,
                parent,
                m.mail_number > 1,
                attach and m.mail_number > 1,
                False,
                0,
                now,
                pick(m.lead_id, m.mail_number),
            )
        )
    return rows


def _variant_picker(campaign: Campaign) -> Callable[[str, int], str | None]:
    """The variant of a lead's mail: the step's winner once declared, else its own share."""
    variants: dict[int, tuple[Variant, ...]] = {
        step.mail_number: variants_of(step.variants) for step in campaign.template.steps
    }
    winners = {int(k): v for k, v in (campaign.variant_winners or {}).items()}

    def pick(lead_id: str, mail_number: int) -> str | None:
        options = variants.get(mail_number)
        if not options:
            return None
        if mail_number in winners:
            return str(winners[mail_number])
        return assign_variant(campaign.id, lead_id, mail_number, options)

    return pick


def write_messages(
    campaign: Campaign,
    messages: list[PlannedMessage],
    existing: dict[tuple[str, int], str],
    now: datetime,
) -> int:
    """Insert the planned messages that are not there yet; returns how many were written."""
    rows = message_rows(campaign, messages, existing, now)
    if not rows:
        return 0
    wake_dispatcher_after_commit()
    if db.session.get_bind().dialect.name == "postgresql":
        return _copy_and_insert(rows)
    return _insert_many(campaign, rows)


def _copy_and_insert(rows: list[tuple[Any, ...]]) -> int:
    columns = ", ".join(COLUMNS)
    session = db.session
    session.flush()
    session.execute(sa.text(_STAGING_DDL))
    session.execute(sa.text("TRUNCATE plan_staging"))
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY plan_staging ({columns}) FROM STDIN") as copy,
    ):
        copy.write("".join(copy_line(row) for row in rows))
    result = session.execute(
        sa.text(
            f"INSERT INTO messages ({columns}) SELECT {columns} FROM plan_staging "
            "ON CONFLICT (campaign_id, lead_id, mail_number) DO NOTHING"
        )
    )
    return affected_rows(result)


def copy_line(row: tuple[Any, ...]) -> str:
    """One row in COPY's text format."""
    return "\t".join(_copy_value(value) for value in row) + "\n"


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _insert_many(campaign: Campaign, rows: list[tuple[Any, ...]]) -> int:
    def count() -> int:
        return int(
            db.session.scalar(sa.select(sa.func.count()).where(Message.campaign_id == campaign.id))
            or 0
        )

    before = count()
    statement = sqlite_insert(Message.__table__).on_conflict_do_nothing(
        index_elements=["campaign_id", "lead_id", "mail_number"]
    )
    for offset in range(0, len(rows), 5000):
        chunk = rows[offset : offset + 5000]
        db.session.execute(statement, [dict(zip(COLUMNS, row, strict=True)) for row in chunk])
    return count() - before
