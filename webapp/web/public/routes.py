"""Endpoints for load balancers and monitors; no login."""

from __future__ import annotations

from typing import Any

from webapp.services.health import check_health
from webapp.web.public.blueprint import bp


@bp.get("/healthz")
def healthz() -> Any:
    report = check_health()
    return report, 200 if report["ok"] else 503
