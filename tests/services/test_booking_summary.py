"""The trigger-kept booking summary equals the plain aggregate over `messages`, whatever
happens to them (plans, sends, cancels, re-plans, moves, deletes), on PostgreSQL and on
the embedded SQLite; days are Europe/Amsterdam days in both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_campaign, make_lead, make_message
from webapp.extensions import db
from webapp.models import Campaign, Lead, Message
from webapp.services.planning.bookings import (
    live_per_day,
    plain_booking_days,
    rebuild_booking_days,
    summary_booking_days,
)

START = datetime(2026, 10, 23, 20, 0, tzinfo=UTC)  # spans the October switch
moments = st.integers(min_value=0, max_value=4 * 24 * 4).map(
    lambda q: START + timedelta(minutes=15 * q)
)
slots = st.integers(min_value=0, max_value=5)
numbers = st.integers(1, 3)
STATUSES = ["queued", "sending", "sent", "opened", "bounced", "failed", "canceled", "uncertain"]
DOMAINS = ["a.nl", "b.nl", "c.nl"]

operations = st.one_of(
    st.tuples(st.just("plan"), st.lists(st.tuples(slots, numbers, moments), max_size=6)),
    st.tuples(st.just("send"), slots, numbers, moments),
    st.tuples(st.just("status"), slots, numbers, st.sampled_from(STATUSES)),
    st.tuples(st.just("unsend"), slots, numbers),
    st.tuples(st.just("open"), slots, numbers, moments),
    st.tuples(st.just("cancel_all"), st.integers(0, 1)),
    st.tuples(st.just("replan"), st.integers(0, 1), st.integers(-200, 200)),
    st.tuples(st.just("move"), slots, numbers, st.sampled_from(DOMAINS)),
    st.tuples(st.just("delete_message"), slots, numbers),
    st.tuples(st.just("delete_campaign"), st.integers(0, 1)),
)


class World:
    """Two campaigns and six leads, changed the way the product changes messages."""

    def __init__(self) -> None:
        self.campaigns: list[Campaign | None] = [make_campaign(), make_campaign()]
        self.leads: list[Lead] = [make_lead() for _ in range(6)]

    def apply(self, op: tuple[Any, ...]) -> None:
        kind, *args = op
        getattr(self, kind)(*args)
        db.session.flush()

    def _where(self, slot: int, number: int) -> Any:
        return sa.and_(Message.lead_id == self.leads[slot].id, Message.mail_number == number)

    def plan(self, rows: list[tuple[int, int, datetime]]) -> None:
        # One bulk INSERT, as persist_plan writes a plan.
        values, seen = [], set()
        for slot, number, at in rows:
            campaign = self.campaigns[slot % 2]
            if campaign is None or (slot, number) in seen:
                continue
            exists = db.session.execute(
                sa.select(Message.id).where(self._where(slot, number))
            ).first()
            if exists:
                continue
            seen.add((slot, number))
            values.append(
                {
                    "campaign_id": campaign.id,
                    "lead_id": self.leads[slot].id,
                    "mail_number": number,
                    "domain_used": DOMAINS[slot % 2],
                    "scheduled_at": at,
                    "status": "queued",
                }
            )
        if values:
            db.session.execute(sa.insert(Message), values)

    def _update(self, slot: int, number: int, **values: Any) -> None:
        db.session.execute(sa.update(Message).where(self._where(slot, number)).values(**values))

    def send(self, slot: int, number: int, at: datetime) -> None:
        self._update(slot, number, status="sent", sent_at=at)

    def status(self, slot: int, number: int, status: str) -> None:
        self._update(slot, number, status=status)

    def unsend(self, slot: int, number: int) -> None:
        self._update(slot, number, sent_at=None, status="queued")

    def open(self, slot: int, number: int, at: datetime) -> None:
        self._update(slot, number, open_at=at)  # changes no booking

    def cancel_all(self, index: int) -> None:
        campaign = self.campaigns[index]
        if campaign is not None:
            db.session.execute(
                sa.update(Message)
                .where(Message.campaign_id == campaign.id, Message.status == "queued")
                .values(status="canceled")
            )

    def replan(self, index: int, minutes: int) -> None:
        # A bulk re-plan: every queued message of the campaign moves.
        campaign = self.campaigns[index]
        if campaign is not None:
            rows = db.session.execute(
                sa.select(Message.id, Message.scheduled_at).where(
                    Message.campaign_id == campaign.id, Message.status == "queued"
                )
            ).all()
            if rows:
                moved = {
                    message_id: at + timedelta(minutes=minutes + 30 * offset)
                    for offset, (message_id, at) in enumerate(rows)
                }
                db.session.execute(
                    sa.update(Message)
                    .where(Message.id.in_(list(moved)))
                    .values(scheduled_at=sa.case(moved, value=Message.id))
                )

    def move(self, slot: int, number: int, domain: str) -> None:
        self._update(slot, number, domain_used=domain)

    def delete_message(self, slot: int, number: int) -> None:
        db.session.execute(sa.delete(Message).where(self._where(slot, number)))

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
            assert summary_booking_days() == plain_booking_days(), op
        summary = summary_booking_days()
        rebuild_booking_days()
        assert summary_booking_days() == summary
    finally:
        db.session.rollback()


PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(st.lists(operations, min_size=1, max_size=25))
def test_the_booking_summary_equals_the_plain_aggregate_after_any_changes_on_postgres(
    app: Flask, ops: list[tuple[Any, ...]]
) -> None:
    run_sequence(ops)


@PROPERTY
@given(st.lists(operations, min_size=1, max_size=25))
def test_the_booking_summary_equals_the_plain_aggregate_after_any_changes_on_sqlite(
    sqlite_app: Flask, ops: list[tuple[Any, ...]]
) -> None:
    run_sequence(ops)


def check_amsterdam_days() -> None:
    campaign = make_campaign(domain="a.nl")
    # 23:30 UTC on 14 July is 01:30 on the 15th in Amsterdam; in January 00:30 on the 15th.
    for at in (
        datetime(2026, 7, 14, 21, 59, tzinfo=UTC),
        datetime(2026, 7, 14, 23, 30, tzinfo=UTC),
        datetime(2026, 1, 14, 23, 30, tzinfo=UTC),
    ):
        make_message(campaign, make_lead(), scheduled_at=at)
    booked = live_per_day(["a.nl"], datetime(2026, 1, 1).date(), datetime(2026, 12, 31).date())
    assert {day.isoformat(): n for day, n in booked["a.nl"].items()} == {
        "2026-07-14": 1,
        "2026-07-15": 1,
        "2026-01-15": 1,
    }


def test_a_booking_late_on_a_summer_evening_counts_on_the_next_dutch_day_on_postgres(
    app: Flask,
) -> None:
    check_amsterdam_days()


def test_a_booking_late_on_a_summer_evening_counts_on_the_next_dutch_day_on_sqlite(
    sqlite_app: Flask,
) -> None:
    check_amsterdam_days()
