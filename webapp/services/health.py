"""Health of the parts the app depends on."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app

from webapp.extensions import db


def check_health() -> dict[str, Any]:
    """Is the database reachable, and Redis when one is configured."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # a health check reports failures, it does not raise them
        db.session.rollback()
        current_app.logger.warning("healthz: database check failed: %s", type(error).__name__)
        checks["database"] = "unavailable"
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        checks["redis"] = _check_redis(redis_url)
    else:
        checks["redis"] = "not configured"
    ok = all(value in ("ok", "not configured") for value in checks.values())
    return {"ok": ok, "checks": checks}


def _check_redis(url: str) -> str:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        return "ok"
    except RedisError as error:
        current_app.logger.warning("healthz: redis check failed: %s", type(error).__name__)
        return "unavailable"
