"""Health of the parts the app depends on."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app

from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign, CampaignStatus, Message, MessageStatus
from webapp.queue import DEFAULT_QUEUE, SEND_QUEUE


def check_health(details: bool = True) -> dict[str, Any]:
    """Is the database reachable, and Redis when one is configured (`details`: and the backlog)."""
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
    report: dict[str, Any] = {"ok": ok, "checks": checks}
    if details and checks["database"] == "ok":
        report["sending"] = sending_backlog()
    if details and checks["redis"] == "ok":
        report["queue_depth"] = _queue_depth(redis_url)
    return report


def sending_backlog() -> dict[str, Any]:
    """How much mail is due and waiting, and since when (an idle worker shows up here)."""
    now = utcnow()
    count, oldest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(Message.scheduled_at))
        .join(Campaign, Campaign.id == Message.campaign_id)
        .where(
            Message.status == MessageStatus.QUEUED,
            Message.scheduled_at <= now,
            Campaign.status == CampaignStatus.RUNNING,
        )
    ).one()
    in_flight = db.session.execute(
        sa.select(sa.func.count()).where(Message.status == MessageStatus.SENDING)
    ).scalar_one()
    return {
        "due": count,
        "oldest_due_at": oldest.isoformat() if oldest else None,
        "oldest_due_seconds": round((now - oldest).total_seconds()) if oldest else 0,
        "in_flight": in_flight,
    }


def _queue_depth(url: str | None) -> dict[str, int]:
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(url or "", socket_connect_timeout=1, socket_timeout=1)
    return {name: Queue(name, connection=connection).count for name in (SEND_QUEUE, DEFAULT_QUEUE)}


def _check_redis(url: str) -> str:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        return "ok"
    except RedisError as error:
        current_app.logger.warning("healthz: redis check failed: %s", type(error).__name__)
        return "unavailable"
