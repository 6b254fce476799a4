"""A worker rendering a mail holds no lock another process could wait on."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from tests.jobs.conftest import Workers, wait_until
from tests.sending_support import make_domain, make_running_campaign
from tests.support.services import SmtpCapture
from webapp.extensions import db
from webapp.models import Message


def test_a_rendered_mail_leaves_its_row_unlocked_until_the_send_starts(
    app: Flask, workers: Workers, smtp_server: SmtpCapture, tmp_path: Path
) -> None:
    domain = make_domain("punthelder-seo.nl", smtp_server.port, interval_seconds=1)
    db.session.commit()
    _campaign, _leads, (message,) = make_running_campaign([domain], leads=1)
    (victim,) = workers.start(
        CAMPAIGNS_FAILPOINTS="before_start", CAMPAIGNS_FAILPOINT_DIR=str(tmp_path)
    )
    # The worker stops right after rendering, before it takes the domain's pace gate.
    wait_until((tmp_path / "before_start").exists, 30, "the worker to render the mail")
    db.session.rollback()
    # A dispatcher pass updates every message in flight (expired claims): a render that
    # held this row would hold up every campaign's dispatching for as long as it ran.
    locked = db.session.execute(
        sa.select(Message.status).where(Message.id == message.id).with_for_update(nowait=True)
    ).scalar_one()
    assert locked == "sending"
    db.session.rollback()
    workers.kill(victim)
