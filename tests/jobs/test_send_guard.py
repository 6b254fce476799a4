"""The send-time guard with real worker processes: a lead suppressed while its mail is
already claimed is canceled with the reason, and the SMTP server never sees it."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from tests.jobs.conftest import Workers, settled, wait_until
from tests.sending_support import make_domain, make_running_campaign
from tests.support.services import SmtpCapture
from webapp.extensions import db
from webapp.models import Lead, Message, MessageEvent, SuppressionReason
from webapp.services.leads import add_suppression


def test_a_lead_suppressed_between_planning_and_sending_is_canceled_and_never_mailed(
    app: Flask, workers: Workers, smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    domain = make_domain("punthelder-seo.nl", smtp_server.port, interval_seconds=1)
    db.session.commit()
    _campaign, leads, _messages = make_running_campaign([domain], leads=2)
    # The first worker claims a mail and stops just before the rules are checked again.
    (first,) = workers.start(
        CAMPAIGNS_FAILPOINTS="before_rules", CAMPAIGNS_FAILPOINT_DIR=str(tmp_path)
    )
    wait_until((tmp_path / "before_rules").exists, 30, "a worker to claim a mail")
    claimed = db.session.execute(sa.select(Message).where(Message.status == "sending")).scalar_one()
    suppressed = db.session.get(Lead, claimed.lead_id)
    assert suppressed is not None
    # The unsubscribe cancels the lead's queued mail; this one is in flight already.
    add_suppression(email=suppressed.email, reason=SuppressionReason.UNSUBSCRIBED)
    db.session.commit()
    workers.kill(first)

    # The lost claim is queued again and the next worker's guard catches it.
    workers.start(1)
    try:
        wait_until(settled, 60, "both mails to settle")
    except AssertionError:
        print(workers.tail())
        raise
    db.session.expire_all()
    canceled = db.session.get(Message, claimed.id)
    assert canceled is not None
    assert (canceled.status, canceled.last_error) == ("canceled", "address suppressed")
    assert canceled.sent_at is None
    reasons = db.session.execute(
        sa.select(MessageEvent.meta).where(MessageEvent.message_id == claimed.id)
    ).scalars()
    assert list(reasons) == [{"reason": "address suppressed"}]
    mailed = [lead.email for lead in leads if lead.id != suppressed.id]
    assert [mail.rcpt_tos[0] for mail in smtp_server.wait_for(1)] == mailed
    assert all(mail.rcpt_tos[0] != suppressed.email for mail in smtp_server.messages)
