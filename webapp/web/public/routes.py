"""Endpoints for load balancers and monitors; no login."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from webapp.services.health import check_health
from webapp.web.public.blueprint import bp


@bp.get("/healthz")
def healthz() -> Any:
    # Anyone may ask whether the app is up; what is down, the backlog and the queues
    # are for people who are logged in (they say too much about the system to strangers).
    details = bool(current_user.is_authenticated)
    report = check_health(details=details)
    status = 200 if report["ok"] else 503
    if not details:
        return {"status": "ok" if report["ok"] else "down"}, status
    return {"status": "ok" if report["ok"] else "down", **report}, status
