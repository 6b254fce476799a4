"""Lead services: selections, bulk actions, lists, and suppressing a lead."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from tests.factories import make_campaign, make_lead, make_message
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Lead, MessageEvent, Suppression
from webapp.services.leads.manage import LeadFilter, bulk_action, list_counts, search_leads
from webapp.services.leads.suppressions import is_suppressed, suppress_lead


def test_suppressing_a_lead_cancels_its_queued_mail_in_every_campaign(app: Flask) -> None:
    lead = make_lead()
    other = make_lead()
    first, second = make_campaign(), make_campaign()
    queued = [make_message(first, lead), make_message(second, lead)]
    sent = make_message(first, lead, mail_number=2, status="sent", sent_at=utcnow())
    untouched = make_message(first, other)
    suppress_lead(lead, "unsubscribed")
    db.session.commit()
    db.session.expire_all()
    assert [m.status for m in queued] == ["canceled", "canceled"]
    assert (sent.status, untouched.status, lead.status) == ("sent", "queued", "suppressed")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MessageEvent)) == 2
    assert db.session.scalars(sa.select(Suppression.email)).all() == [lead.email]
    assert is_suppressed(lead.email) and not is_suppressed(other.email)


def test_a_hard_bounce_makes_the_lead_bounced_and_a_later_manual_one_keeps_it(app: Flask) -> None:
    lead = make_lead()
    suppress_lead(lead, "hard_bounce")
    suppress_lead(lead, "manual")
    db.session.commit()
    db.session.expire_all()
    assert lead.status == "bounced"
    assert db.session.scalars(sa.select(Suppression.reason)).all() == ["hard_bounce"]


def test_filters_combine_and_deleted_leads_are_hidden_by_default(app: Flask) -> None:
    make_lead(email="a@x.nl", list_name="l1")
    make_lead(email="b@x.nl", list_name="l1", deleted_at=utcnow())
    make_lead(email="c@y.nl", list_name="l2", status="bounced")
    assert [x.email for x in search_leads(LeadFilter(list_name="l1")).items] == ["a@x.nl"]
    assert search_leads(LeadFilter(list_name="l1", deleted="all")).total == 2
    assert [x.email for x in search_leads(LeadFilter(q="Y.NL")).items] == ["c@y.nl"]
    assert search_leads(LeadFilter(q="%")).total == 0  # wildcards match literally
    assert search_leads(LeadFilter(status="bounced")).total == 1
    ordered = search_leads(LeadFilter(sort="email", direction="asc", deleted="all"), per_page=2)
    assert [x.email for x in ordered.items] == ["a@x.nl", "b@x.nl"]
    assert ordered.next_cursor is not None and ordered.previous_cursor is None


def test_bulk_delete_touches_only_the_selection_and_lists_count_it(app: Flask) -> None:
    make_lead(list_name="weg")
    make_lead(list_name="weg", stopped=True)
    make_lead(list_name="blijft")
    assert bulk_action(LeadFilter(list_name="weg"), "delete") == 2
    counts = {c.name: (c.leads, c.active, c.deleted) for c in list_counts()}
    assert counts == {"weg": (0, 0, 2), "blijft": (1, 1, 0)}
    alive = db.session.scalars(sa.select(Lead.list_name).where(Lead.deleted_at.is_(None))).all()
    assert alive == ["blijft"]
