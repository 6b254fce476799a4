"""GET /healthz checks the database and, when configured, Redis."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from tests.conftest import new_app
from tests.support.services import RedisServer, free_port


def test_healthz_is_public_and_checks_the_database(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "ok": True,
        "checks": {"database": "ok", "redis": "not configured"},
    }


def test_healthz_checks_redis_when_configured(
    app: Flask, database_url: str, redis_server: RedisServer
) -> None:
    app = new_app(database_url, REDIS_URL=redis_server.url)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["checks"]["redis"] == "ok"


def test_healthz_reports_503_when_redis_is_unreachable(app: Flask, database_url: str) -> None:
    app = new_app(database_url, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "redis": "unavailable"}


def test_healthz_reports_503_when_the_database_is_unreachable(
    fresh_database: Callable[[], str],
) -> None:
    app = new_app(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing_here")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "unavailable"
