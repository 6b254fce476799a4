"""The trigger-kept summaries equal the plain aggregate, whatever happens to the messages,
on PostgreSQL and on the embedded SQLite; days are Europe/Amsterdam days in both."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_campaign, make_lead, make_message
from webapp.database import new_id
from webapp.extensions import db
from webapp.models import Campaign, Lead, Message, MessageEvent
from webapp.services.kpis.summaries import (
    campaign_timeline,
    plain_days,
    rebuild_summaries,
    summary_days,
    summary_drift,
    summary_totals,
)
from webapp.services.tracking import events as tracking

# (UTC moment, the Dutch day it belongs to)
DAY_BOUNDARIES = [
    (datetime(2026, 7, 14, 21, 59, tzinfo=UTC), "2026-07-14"),  # 23:59 CEST
    (datetime(2026, 7, 14, 23, 30, tzinfo=UTC), "2026-07-15"),  # 01:30 CEST: the next day
    (datetime(2026, 1, 14, 22, 59, tzinfo=UTC), "2026-01-14"),  # 23:59 CET
    (datetime(2026, 1, 14, 23, 30, tzinfo=UTC), "2026-01-15"),  # 00:30 CET
    # Summer time starts on Sunday 29 March 2026 at 01:00 UTC; ends 25 October at 01:00 UTC.
    (datetime(2026, 3, 28, 22, 59, tzinfo=UTC), "2026-03-28"),
    (datetime(2026, 3, 28, 23, 0, tzinfo=UTC), "2026-03-29"),
    (datetime(2026, 3, 29, 21, 59, tzinfo=UTC), "2026-03-29"),  # 23:59 CEST
    (datetime(2026, 3, 29, 22, 0, tzinfo=UTC), "2026-03-30"),
    (datetime(2026, 10, 24, 21, 59, tzinfo=UTC), "2026-10-24"),
    (datetime(2026, 10, 24, 22, 0, tzinfo=UTC), "2026-10-25"),
    (datetime(2026, 10, 25, 22, 59, tzinfo=UTC), "2026-10-25"),  # 23:59 CET again
    (datetime(2026, 10, 25, 23, 0, tzinfo=UTC), "2026-10-26"),
]


def check_day_boundaries() -> None:
    campaign = make_campaign()
    for moment, _ in DAY_BOUNDARIES:
        make_message(campaign, make_lead(), status="sent", sent_at=moment)
    expected: dict[str, int] = {}
    for _, day in DAY_BOUNDARIES:
        expected[day] = expected.get(day, 0) + 1
    timeline = campaign_timeline(campaign.id)
    assert {row["date"]: row["sent"] for row in timeline} == expected
    assert summary_drift() == {"totals": [], "days": []}


def test_a_mail_sent_late_on_a_summer_evening_belongs_to_the_next_dutch_day(app: Flask) -> None:
    campaign = make_campaign()
    make_message(
        campaign, make_lead(), status="sent", sent_at=datetime(2026, 7, 14, 23, 30, tzinfo=UTC)
    )
    assert [row["date"] for row in campaign_timeline(campaign.id)] == ["2026-07-15"]


def test_days_follow_amsterdam_in_winter_summer_and_on_both_switches_on_postgres(
    app: Flask,
) -> None:
    check_day_boundaries()


def test_days_follow_amsterdam_in_winter_summer_and_on_both_switches_on_sqlite(
    sqlite_app: Flask,
) -> None:
    check_day_boundaries()


def test_the_sqlite_rule_matches_the_time_zone_database_every_hour_for_years(
    sqlite_app: Flask,
) -> None:
    from zoneinfo import ZoneInfo

    from webapp.services.kpis.summaries import day_sql

    amsterdam = ZoneInfo("Europe/Amsterdam")
    moments = [
        datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=30 * k) for k in range(2 * 24 * 1100)
    ]
    expected = [m.astimezone(amsterdam).date().isoformat() for m in moments]
    connection = db.session.connection()
    connection.execute(sa.text("CREATE TEMP TABLE moments (at TEXT)"))
    connection.execute(
        sa.text("INSERT INTO moments VALUES (:at)"),
        [{"at": m.strftime("%Y-%m-%d %H:%M:%S.%f")} for m in moments],
    )
    days = connection.execute(
        sa.text(f"SELECT {day_sql('sqlite', 'at')} FROM moments ORDER BY rowid")
    ).scalars()
    assert list(days) == expected


# -- the property: after any sequence of changes, summary == plain aggregate -------------

START = datetime(2026, 10, 23, 20, 0, tzinfo=UTC)  # spans the October switch
moments = st.integers(min_value=0, max_value=4 * 24 * 4).map(
    lambda q: START + timedelta(minutes=15 * q)
)
slots = st.integers(min_value=0, max_value=5)
EVENTS = ["opened", "clicked", "replied", "bounced", "unsubscribed", "sent", "deferred"]
STATUSES = ["queued", "sending", "sent", "opened", "bounced", "failed", "canceled", "uncertain"]

operations = st.one_of(
    st.tuples(st.just("plan"), slots, st.integers(1, 4), st.sampled_from(["a.nl", "b.nl"])),
    st.tuples(st.just("send"), slots, moments),
    st.tuples(st.just("open"), slots, moments, st.booleans()),
    st.tuples(st.just("event"), slots, st.sampled_from(EVENTS), moments),
    # Many events in one statement, as the pixel's writer and the inbox store them.
    st.tuples(
        st.just("events"),
        st.lists(st.tuples(slots, st.sampled_from(EVENTS), moments, st.booleans()), max_size=6),
    ),
    st.tuples(
        st.just("hits"),
        st.lists(
            st.tuples(slots, st.sampled_from(["opened", "clicked"]), moments, st.booleans()),
            max_size=6,
        ),
    ),
    st.tuples(st.just("hard_bounce"), slots, moments),
    st.tuples(st.just("status"), slots, st.sampled_from(STATUSES)),
    st.tuples(st.just("unsend"), slots),
    st.tuples(st.just("cancel_all"), st.integers(0, 1)),
    st.tuples(st.just("move"), slots, st.integers(1, 4), st.sampled_from(["a.nl", "c.nl"])),
    st.tuples(st.just("retype_event"), slots, st.sampled_from(EVENTS), st.booleans()),
    st.tuples(st.just("delete_event"), slots),
    st.tuples(st.just("delete_message"), slots),
    st.tuples(st.just("delete_campaign"), st.integers(0, 1)),
)


class World:
    """Two campaigns, six leads with a first mail each, changed the way the product does."""

    def __init__(self) -> None:
        self.campaigns: list[Campaign | None] = [make_campaign(), make_campaign()]
        self.leads: list[Lead] = [make_lead() for _ in range(6)]
        for slot in range(6):
            self.plan(slot, 1, "a.nl")

    def message(self, slot: int) -> str | None:
        lead = self.leads[slot]
        return db.session.execute(
            sa.select(Message.id).where(Message.lead_id == lead.id).order_by(Message.id).limit(1)
        ).scalar()

    def apply(self, op: tuple[Any, ...]) -> None:
        kind, *args = op
        getattr(self, kind)(*args)
        db.session.flush()

    def plan(self, slot: int, mail_number: int, domain: str) -> None:
        campaign = self.campaigns[slot % 2]
        if campaign is None:
            return
        if not self._free(campaign.id, slot, mail_number):
            return
        # A bulk INSERT, as persist_plan writes a plan.
        row = {
            "campaign_id": campaign.id,
            "lead_id": self.leads[slot].id,
            "mail_number": mail_number,
            "domain_used": domain,
            "scheduled_at": START,
            "status": "queued",
        }
        db.session.execute(sa.insert(Message), [row])

    def _free(self, campaign_id: str, slot: int, mail_number: int) -> bool:
        return (
            db.session.execute(
                sa.select(Message.id).where(
                    Message.campaign_id == campaign_id,
                    Message.lead_id == self.leads[slot].id,
                    Message.mail_number == mail_number,
                )
            ).first()
            is None
        )

    def _update(self, slot: int, **values: Any) -> None:
        message_id = self.message(slot)
        if message_id:
            db.session.execute(sa.update(Message).where(Message.id == message_id).values(**values))

    def send(self, slot: int, at: datetime) -> None:
        message_id = self.message(slot)
        if message_id:
            self._update(slot, status="sent", sent_at=at)
            self._event(message_id, "sent", at, None)

    def open(self, slot: int, at: datetime, machine: bool) -> None:
        message_id = self.message(slot)
        if message_id:
            self._event(message_id, "opened", at, machine)
            db.session.execute(
                sa.update(Message)
                .where(Message.id == message_id)
                .values(
                    open_at=sa.func.coalesce(Message.open_at, at),
                    status=sa.case((Message.status == "sent", "opened"), else_=Message.status),
                )
            )

    def event(self, slot: int, event_type: str, at: datetime) -> None:
        message_id = self.message(slot)
        if message_id:
            self._event(message_id, event_type, at, False)

    def _event(self, message_id: str, event_type: str, at: datetime, machine: bool | None) -> None:
        meta = None if machine is None else {"machine": machine, "reason": None}
        db.session.execute(
            sa.insert(MessageEvent),
            [{"message_id": message_id, "event_type": event_type, "meta": meta, "created_at": at}],
        )

    def events(self, batch: list[tuple[int, str, datetime, bool]]) -> None:
        rows = [
            {
                "message_id": message_id,
                "event_type": kind,
                "meta": {"machine": machine},
                "created_at": at,
            }
            for slot, kind, at, machine in batch
            if (message_id := self.message(slot))
        ]
        if rows:
            db.session.execute(sa.insert(MessageEvent).values(rows))

    def hits(self, batch: list[tuple[int, str, datetime, bool]]) -> None:
        hits = [
            tracking.Hit(
                id=new_id(),
                message_id=message_id,
                event_type=kind,
                meta_soon={"machine": machine},
                meta_later={"machine": machine},
                user_agent=None,
                ip_address=None,
                at=at,
                soon_after=at,
                repeat_after=at,  # every open counts here: the figures are what is tested
            )
            for slot, kind, at, machine in batch
            if (message_id := self.message(slot))
        ]
        tracking.write_hits(hits)

    def hard_bounce(self, slot: int, at: datetime) -> None:
        message_id = self.message(slot)
        if message_id:
            self._update(slot, status="bounced")
            self._event(message_id, "bounced", at, None)

    def status(self, slot: int, status: str) -> None:
        self._update(slot, status=status)

    def unsend(self, slot: int) -> None:
        self._update(slot, sent_at=None, open_at=None)

    def cancel_all(self, index: int) -> None:
        # A bulk UPDATE, as stopping a campaign or an unsubscribe does.
        campaign = self.campaigns[index]
        if campaign is not None:
            db.session.execute(
                sa.update(Message)
                .where(Message.campaign_id == campaign.id, Message.status == "queued")
                .values(status="canceled")
            )

    def move(self, slot: int, mail_number: int, domain: str) -> None:
        message_id = self.message(slot)
        if message_id:
            try:
                with db.session.begin_nested():
                    self._update(slot, mail_number=mail_number, domain_used=domain)
            except sa.exc.IntegrityError:
                pass

    def _some_event(self, slot: int) -> str | None:
        ids = db.session.execute(sa.select(MessageEvent.id).order_by(MessageEvent.id)).scalars()
        ids = list(ids)
        return ids[slot % len(ids)] if ids else None

    def retype_event(self, slot: int, event_type: str, machine: bool) -> None:
        event_id = self._some_event(slot)
        target = self.message((slot + 1) % 6) if machine else None
        if event_id:
            values: dict[str, Any] = {"event_type": event_type, "meta": {"machine": machine}}
            if target:
                values["message_id"] = target
            db.session.execute(
                sa.update(MessageEvent).where(MessageEvent.id == event_id).values(**values)
            )

    def delete_event(self, slot: int) -> None:
        event_id = self._some_event(slot)
        if event_id:
            db.session.execute(sa.delete(MessageEvent).where(MessageEvent.id == event_id))

    def delete_message(self, slot: int) -> None:
        message_id = self.message(slot)
        if message_id:
            db.session.execute(sa.delete(Message).where(Message.id == message_id))

    def delete_campaign(self, index: int) -> None:
        campaign = self.campaigns[index]
        if campaign is not None:
            db.session.execute(sa.delete(Campaign).where(Campaign.id == campaign.id))
            self.campaigns[index] = None


def run_sequence(ops: list[tuple[Any, ...]]) -> None:
    world = World()
    try:
        for op in ops:
            world.apply(op)
            assert summary_drift() == {"totals": [], "days": []}, op
        summary = (summary_totals(), summary_days())
        rebuild_summaries()
        assert (summary_totals(), summary_days()) == summary
        assert sum(v["opened"] for v in plain_days().values()) == sum(
            v["opened"] for v in summary_totals().values()
        )
    finally:
        db.session.rollback()


PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(st.lists(operations, min_size=1, max_size=25))
def test_the_summary_equals_the_plain_aggregate_after_any_changes_on_postgres(
    app: Flask, ops: list[tuple[Any, ...]]
) -> None:
    run_sequence(ops)


@PROPERTY
@given(st.lists(operations, min_size=1, max_size=25))
def test_the_summary_equals_the_plain_aggregate_after_any_changes_on_sqlite(
    sqlite_app: Flask, ops: list[tuple[Any, ...]]
) -> None:
    run_sequence(ops)


def _waiting_on_a_lock(pid: int) -> bool:
    with db.engine.connect() as connection:
        wait = connection.execute(
            sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).scalar()
    return wait == "Lock"


def test_two_first_clicks_written_at_once_count_once(app: Flask) -> None:
    """Two writers' batches hold the first click of one message: the second waits for the
    first to commit, then sees its event, so the message is clicked once."""
    sent_at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    message_id = make_message(make_campaign(), make_lead(), status="sent", sent_at=sent_at).id
    db.session.commit()
    written, commit_first = threading.Event(), threading.Event()
    second_pid: list[int] = []
    errors: list[BaseException] = []

    def write(minutes: int, before_commit: threading.Event | None) -> None:
        meta = {"machine": False, "url": "https://example.nl/"}
        at = sent_at + timedelta(minutes=minutes)
        hit = tracking.Hit(new_id(), message_id, "clicked", meta, meta, None, None, at, at, at)
        try:
            with app.app_context():
                if before_commit is None:
                    second_pid.append(db.session.scalar(sa.text("SELECT pg_backend_pid()")))
                tracking.write_hits([hit])
                if before_commit is not None:
                    written.set()
                    before_commit.wait(timeout=30)
                db.session.commit()
        except BaseException as error:  # reported by the test's thread
            errors.append(error)
            written.set()

    first = threading.Thread(target=write, args=(5, commit_first))
    first.start()
    assert written.wait(timeout=30)
    second = threading.Thread(target=write, args=(6, None))
    second.start()
    deadline = time.monotonic() + 30
    while not (second_pid and _waiting_on_a_lock(second_pid[0])):
        assert time.monotonic() < deadline, "the second batch never waited for the first"
        time.sleep(0.02)
    commit_first.set()
    first.join(timeout=30)
    second.join(timeout=30)

    assert not errors
    totals = list(summary_totals().values())
    assert [row["clicked"] for row in totals] == [1]
    assert summary_drift() == {"totals": [], "days": []}
