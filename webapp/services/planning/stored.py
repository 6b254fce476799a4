"""The last dry-run report of a campaign, kept while what it was made from holds.

Planning a 26,800-lead draft (106,000 mails on twelve domains) takes seconds however the
inputs are read, so the report is kept (`dry_run_reports`) under a fingerprint of its
inputs: the campaign's settings and plannable audience, the domains' settings (their pace
gate included), and every booking-summary row of those domains from yesterday on, which
changes with any mail planned, sent, canceled or moved on them. The stored plan is also
only reused until its first slot: before that, planning again from a later moment gives
the same plan (the same free slots lie ahead). The lead warnings are part of the report:
the fingerprint takes the latest change to any lead (`leads_version`, one step down an
index), so a lead edited, stopped, deleted or imported makes every kept draft report
stale, and nothing reads the audience's leads to tell whether a report still holds.

A page that finds no fresh report does not plan: it claims the campaign's `computing`
mark for the fingerprint (one job per campaign and fingerprint; a mark older than
`COMPUTING_STALE` is taken over) and a job makes and keeps the report.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from webapp.extensions import db
from webapp.models import DomainBookingDay, Lead, SendingDomain, StoredDryRun
from webapp.services.planning.bookings import TIMEZONE
from webapp.services.planning.plans import PlanRequest
from webapp.services.planning.slots import DomainCalendar, DomainSpec

logger = logging.getLogger(__name__)


# A job that has not kept its report by then is taken to be lost: the next view enqueues one.
COMPUTING_STALE = timedelta(minutes=5)


def leads_version() -> str:
    """The latest change to any lead, read from the top of `idx_leads_updated_at`."""
    return str(db.session.execute(sa.select(sa.func.max(Lead.updated_at))).scalar())


def fingerprint(
    request: PlanRequest,
    lead_ids: list[str],
    domains: list[SendingDomain],
    now: datetime,
    extra: tuple[str, ...] = (),
) -> str:
    """A digest of everything the report is made from (`extra`: the leads' version and
    the language the report is written in)."""
    digest = hashlib.sha256()

    def add(value: Any) -> None:
        digest.update(json.dumps(value, default=str, sort_keys=True).encode())
        digest.update(b"\x00")

    add(
        [
            request.campaign_id,
            request.steps,
            request.start_at,
            request.followup_enabled,
            request.followup_days,
            request.domains,
            list(request.step_delays),
        ]
    )
    digest.update("\n".join(lead_ids).encode())
    add(list(extra))
    for domain in domains:
        add(
            [
                domain.name,
                domain.label,
                domain.interval_seconds,
                domain.window_start,
                domain.window_end,
                domain.working_days,
                domain.timezone,
                domain.skip_holidays,
                domain.aliases,
                domain.paused,
                domain.paused_reason,
                domain.last_sent_at,
                domain.daily_cap,
                domain.ramp_start,
                domain.ramp_step,
                domain.ramp_started_on,
            ]
        )
    today = DomainCalendar(DomainSpec("summary", timezone=TIMEZONE)).local_date(now)
    if any(domain.ramp_start is not None for domain in domains):
        add(today.isoformat())  # a ramp grows by the day: yesterday's report is stale
    rows = db.session.execute(
        sa.select(
            DomainBookingDay.domain_used,
            DomainBookingDay.day,
            DomainBookingDay.campaign_id,
            DomainBookingDay.live,
            DomainBookingDay.planned,
        )
        .where(
            DomainBookingDay.domain_used.in_([d.name for d in domains]),
            DomainBookingDay.day >= today - timedelta(days=1),
        )
        .order_by(DomainBookingDay.domain_used, DomainBookingDay.day, DomainBookingDay.campaign_id)
    )
    for row in rows:
        digest.update(f"{row[0]}|{row[1]}|{row[2]}|{row[3]}|{row[4]}\n".encode())
    return digest.hexdigest()


def stored_report(campaign_id: str, key: str, now: datetime) -> dict[str, Any] | None:
    """The kept report when its fingerprint is `key` and its first slot has not come."""
    row = db.session.get(StoredDryRun, campaign_id)
    if row is None or row.fingerprint != key:
        return None
    if row.valid_until is not None and now > row.valid_until:
        return None
    return row.report


def store_report(
    campaign_id: str, key: str, report: dict[str, Any], valid_until: datetime | None, now: datetime
) -> None:
    """Keep the report (PostgreSQL only), in a transaction of its own: a page that only
    looks commits nothing, and the next view should find it all the same. On SQLite a
    second connection would wait for this request's own read lock, so it keeps nothing."""
    if db.engine.dialect.name != "postgresql":
        return
    values = {
        "campaign_id": campaign_id,
        "fingerprint": key,
        "report": report,
        "valid_until": valid_until,
        "made_at": now,
    }
    statement = _upsert(values, key)
    try:
        with db.engine.begin() as connection:
            connection.execute(statement)
    except sa.exc.SQLAlchemyError:
        # Only a copy: a campaign deleted (or not yet committed) meanwhile keeps none.
        logger.info("dry-run report of %s not kept", campaign_id, exc_info=True)


def _insert(values: dict[str, Any]) -> Any:
    make = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    return make(StoredDryRun.__table__).values(values)


def _upsert(values: dict[str, Any], key: str) -> Any:
    """Keep the report; a job's mark for this fingerprint ends with it."""
    table = StoredDryRun.__table__
    statement = _insert(values)
    computing = sa.case((table.c.computing == key, None), else_=table.c.computing)
    return statement.on_conflict_do_update(
        index_elements=["campaign_id"],
        set_={
            **{name: statement.excluded[name] for name in values if name != "campaign_id"},
            "computing": computing,
            "computing_since": sa.case(
                (table.c.computing == key, None), else_=table.c.computing_since
            ),
        },
    )


def keep_report(
    campaign_id: str, key: str, report: dict[str, Any], valid_until: datetime | None, now: datetime
) -> None:
    """Keep the report in the caller's transaction (a job's, which commits it)."""
    values = {
        "campaign_id": campaign_id,
        "fingerprint": key,
        "report": report,
        "valid_until": valid_until,
        "made_at": now,
    }
    db.session.execute(_upsert(values, key))


def claim_computing(campaign_id: str, key: str, now: datetime) -> bool:
    """Mark that a job makes the report for `key`; False when one is at it already."""
    table = StoredDryRun.__table__
    statement = _insert(
        {
            "campaign_id": campaign_id,
            "fingerprint": "",
            "report": {},
            "valid_until": None,
            "made_at": now,
            "computing": key,
            "computing_since": now,
        }
    )
    statement = statement.on_conflict_do_update(
        index_elements=["campaign_id"],
        set_={"computing": key, "computing_since": now},
        where=sa.or_(
            table.c.computing.is_(None),
            table.c.computing != key,
            table.c.computing_since < now - COMPUTING_STALE,
        ),
    ).returning(table.c.campaign_id)
    return db.session.execute(statement).first() is not None
