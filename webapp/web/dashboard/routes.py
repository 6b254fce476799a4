"""The overview everyone lands on after logging in."""

from __future__ import annotations

from typing import Any

from flask import render_template

from webapp.services.overview import overview_counts
from webapp.web.dashboard import bp


@bp.get("/")
def index() -> Any:
    return render_template("dashboard/index.html", counts=overview_counts())
