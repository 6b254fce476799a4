"""GET /healthz checks the database and, when configured, Redis.

Anonymous callers (load balancers) learn only up or down; logged-in users see the details.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from tests.conftest import log_in, new_app
from tests.support.services import RedisServer, free_port


def test_anonymous_healthz_says_only_up(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_anonymous_healthz_says_only_down(fresh_database: Callable[[], str]) -> None:
    app = new_app(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing_here")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "down"}


def test_healthz_checks_the_database_for_a_logged_in_user(login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as("manager")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["ok"] is True
    assert response.json["checks"] == {"database": "ok", "redis": "not configured"}
    assert response.json["sending"] == {
        "due": 0,
        "oldest_due_at": None,
        "oldest_due_seconds": 0,
        "in_flight": 0,
    }


def test_healthz_checks_redis_when_configured(
    app: Flask, database_url: str, redis_server: RedisServer, make_user
) -> None:
    app = new_app(database_url, REDIS_URL=redis_server.url)
    client = app.test_client()
    log_in(client, make_user("manager").email)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["checks"]["redis"] == "ok"
    assert response.json["queue_depth"] == {"sending": 0, "default": 0}


def test_healthz_reports_503_when_redis_is_unreachable(
    app: Flask, database_url: str, make_user
) -> None:
    app = new_app(database_url, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    client = app.test_client()
    log_in(client, make_user("manager").email)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "redis": "unavailable"}


def test_healthz_shows_the_oldest_due_message(login_as) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from tests.sending_support import make_domain, make_running_campaign
    from webapp.database import utcnow
    from webapp.extensions import db

    client = login_as("manager")
    _, _, messages = make_running_campaign([make_domain("punthelder-seo.nl", 1)], leads=3)
    oldest = utcnow() - timedelta(hours=2)
    messages[1].scheduled_at = oldest
    db.session.commit()
    sending = client.get("/healthz").json["sending"]
    assert sending["due"] == 3
    assert sending["oldest_due_at"] == oldest.isoformat()
    assert 7190 <= sending["oldest_due_seconds"] <= 7300
