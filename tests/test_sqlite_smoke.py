"""The embedded default (`make run`): SQLite, demo data, login, the pages."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.conftest import csrf_token_from
from webapp.extensions import db
from webapp.services.demo import DEMO_PASSWORD, seed_demo

pytestmark = pytest.mark.sqlite


def test_the_demo_login_reaches_the_dashboard_on_sqlite(sqlite_app: Flask) -> None:
    summary = seed_demo(if_empty=True)
    db.session.commit()
    assert summary["seeded"] is True

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
