"""The overview everyone lands on after logging in, its live events and the calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import render_template, request

from webapp.database import utcnow
from webapp.htmx import render_page_or_fragment
from webapp.services.kpis import (
    campaign_calendar,
    campaign_overview,
    meter_bars,
    overview_counts,
    recent_events,
    todays_sends,
)
from webapp.web.dashboard.blueprint import bp
from webapp.web.labels import EVENT_LABELS


@bp.get("/")
def index() -> Any:
    sends = todays_sends(utcnow())
    return render_template(
        "dashboard/index.html",
        counts=overview_counts(),
        campaigns=campaign_overview(),
        sends=sends,
        sends_chart=meter_bars(sends, "sent", "capacity"),
        events=recent_events(),
        event_labels=EVENT_LABELS,
    )


@bp.get("/events")
def events() -> Any:
    return render_template(
        "dashboard/_events.html", events=recent_events(), event_labels=EVENT_LABELS
    )


@bp.get("/calendar")
def calendar() -> Any:
    return render_page_or_fragment(
        "dashboard/calendar.html",
        "dashboard/_calendar.html",
        calendar=campaign_calendar(utcnow(), _week_of(request.args.get("week", ""))),
    )


def _week_of(value: str) -> date | None:
    """The week asked for (any of its days, ISO); None, so this week, when unreadable."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
