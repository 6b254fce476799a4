"""The Inbox: replies per campaign, bounces and auto-replies, each in its own tab."""

from __future__ import annotations

from typing import Any

from flask import request

from webapp.htmx import render_page_or_fragment
from webapp.services.inbox import (
    TABS,
    inbox_items,
    replies_per_campaign,
    tab_counts,
    tab_or_default,
)
from webapp.web.inbox.blueprint import bp


@bp.get("/")
def index() -> Any:
    tab = tab_or_default(request.args.get("tab"))
    return render_page_or_fragment(
        "inbox/page.html",
        "inbox/_tab.html",
        tab=tab,
        tabs=TABS,
        counts=tab_counts(),
        campaigns=replies_per_campaign() if tab == "replies" else [],
        items=inbox_items(tab) if tab != "replies" else [],
    )
