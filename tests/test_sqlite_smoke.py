"""The embedded default (`make run`): SQLite, demo data, login, the pages."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.conftest import csrf_token_from
from webapp.demo.seed import DEMO_PASSWORD, seed_demo
from webapp.extensions import db

pytestmark = pytest.mark.sqlite


def test_the_demo_login_reaches_the_dashboard_on_sqlite(sqlite_app: Flask) -> None:
    summary = seed_demo(if_empty=True)
    db.session.commit()
    assert summary["seeded"] is True

    sqlite_app.config["BABEL_DEFAULT_LOCALE"] = "nl"  # as `make run` serves it
    client = sqlite_app.test_client()
    assert client.get("/").status_code == 302
    token = csrf_token_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": "admin@punthelder.nl", "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "2.088" in dashboard.text  # 2,100 demo leads less the 12 soft-deleted
    assert '<html lang="nl">' in dashboard.text and "Overzicht" in dashboard.text
    domains = client.get("/domains/")
    assert "punthelder-vindbaarheid.nl" in domains.text
    assert client.get("/healthz").json["checks"]["database"] == "ok"


def test_foreign_keys_cascade_on_sqlite_too(sqlite_app: Flask) -> None:
    import sqlalchemy as sa

    from tests.factories import make_campaign, make_lead, make_message

    campaign = make_campaign()
    make_message(campaign, make_lead())
    db.session.commit()
    db.session.execute(sa.text("DELETE FROM campaigns"))
    db.session.commit()
    assert db.session.execute(sa.text("SELECT count(*) FROM messages")).scalar_one() == 0


def test_the_embedded_default_sends_to_the_outbox_on_sqlite(sqlite_app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.sending_support import make_domain, make_running_campaign
    from webapp.database import utcnow
    from webapp.models import Campaign, Message
    from webapp.services.sending.dispatch import dispatch_once
    from webapp.services.sending.send import send_claimed_message

    sqlite_app.config["OUTBOX_DIR"] = str(tmp_path)
    domain = make_domain("punthelder-seo.nl", 1)
    campaign, _, messages = make_running_campaign([domain], leads=1, steps=2)
    for _ in range(2):
        ((message_id, token),) = dispatch_once(utcnow(), enqueue=False).claimed
        assert send_claimed_message(message_id, token) == "sent"
        domain.last_sent_at = None  # open the pace gate for the follow-up
        db.session.commit()
    db.session.expire_all()
    assert {db.session.get(Message, m.id).status for m in messages} == {"sent"}
    assert db.session.get(Campaign, campaign.id).status == "completed"
    assert len(list(tmp_path.glob("*.eml"))) == 2
