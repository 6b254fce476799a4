"""Declaring a winner while real workers send the step: the SMTP server gets every lead's
mail exactly once, the mail already out kept its variant, the rest went out as the winner,
and nothing was made or planned again."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from tests.factories import make_campaign, make_lead, make_message, make_template
from tests.jobs.conftest import Workers, settled, status_counts, wait_until
from tests.sending_support import make_domain
from tests.support.services import SmtpCapture
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign, CampaignAudience, Lead, Message, MessageStatus
from webapp.services.campaigns import declare_winner

LEADS = 12
SUBJECTS = {"A": "Vraag over", "B": "Idee voor"}


def _experiment(domain_name: str) -> Campaign:
    """A running campaign whose one step has variants A and B, half the leads on each, all
    of its mail due one after the other."""
    template = make_template()
    template.steps[0].variants = [
        {"key": key, "subject": f"{word} {{{{ company }}}}", "weight": 1}
        for key, word in SUBJECTS.items()
    ]
    campaign = make_campaign(template_id=template.id, status="running", domain=domain_name)
    due = utcnow() - timedelta(minutes=5)
    leads = []
    for index in range(LEADS):
        lead = make_lead()
        leads.append(lead)
        alias = ("christian", "victor")[index % 2]
        make_message(
            campaign,
            lead,
            variant="AB"[index % 2],
            domain_used=domain_name,
            alias=alias,
            from_email=f"{alias}@{domain_name}",
            scheduled_at=due + timedelta(seconds=index),
        )
    db.session.add(CampaignAudience(campaign_id=campaign.id, lead_ids=[lead.id for lead in leads]))
    db.session.commit()
    return campaign


def _messages(campaign: Campaign) -> dict[str, Message]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Message).where(Message.campaign_id == campaign.id))
    return {message.id: message for message in rows}


def test_a_winner_declared_mid_send_sends_nothing_twice_and_keeps_what_went_out(
    app: Flask, workers: Workers, smtp_server: SmtpCapture
) -> None:
    # One mail a second from the one domain: the step takes a while to go out.
    domain = make_domain("punthelder-seo.nl", smtp_server.port, interval_seconds=1)
    db.session.commit()
    campaign = _experiment(domain.name)
    slots = {id_: message.scheduled_at for id_, message in _messages(campaign).items()}
    planned = {id_: message.variant for id_, message in _messages(campaign).items()}

    workers.start(2)
    try:
        wait_until(lambda: status_counts(campaign.id).get("sent", 0) >= 3, 60, "three sends")
        # Declared while the workers keep sending. What each mail was at that moment is read
        # in the declaring transaction, after its UPDATE: mail claimed before it keeps its
        # variant, and a claim after it waits for the commit and sees the winner.
        fresh = db.session.get(Campaign, campaign.id)
        assert fresh is not None
        moved = declare_winner(fresh, 1, "B", None)
        at_winner = {
            id_: (message.status, message.variant) for id_, message in _messages(campaign).items()
        }
        db.session.commit()
        wait_until(settled, 90, "the whole step to go out")
    except AssertionError:
        print(workers.tail())
        raise

    out_before = {id_ for id_, (status, _) in at_winner.items() if status != MessageStatus.QUEUED}
    queued_then = set(at_winner) - out_before
    # The premise: some A mail was out before the winner, and some was still queued and moved.
    assert any(planned[id_] == "A" for id_ in out_before)
    assert moved == sum(1 for id_ in queued_then if planned[id_] == "A") and moved > 0

    after = _messages(campaign)
    assert set(after) == set(planned)  # no new Message rows
    assert {id_: message.scheduled_at for id_, message in after.items()} == slots
    assert {message.status for message in after.values()} == {MessageStatus.SENT}
    expected = {
        id_: planned[id_] if id_ in out_before else "B" for id_ in planned
    }  # what each lead should have received
    assert {id_: message.variant for id_, message in after.items()} == expected

    mails = smtp_server.wait_for(LEADS)
    received = Counter(mail.rcpt_tos[0] for mail in mails)
    leads = {message.lead_id: db.session.get(Lead, message.lead_id) for message in after.values()}
    assert received == Counter(lead.email for lead in leads.values() if lead)  # each one once
    subjects = {mail.rcpt_tos[0]: str(mail.message["Subject"]) for mail in mails}
    for id_, message in after.items():
        lead = leads[message.lead_id]
        assert lead is not None
        assert subjects[lead.email] == f"{SUBJECTS[expected[id_]]} {lead.company}", id_
