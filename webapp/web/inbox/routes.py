"""The Inbox: replies per campaign, bounces and auto-replies, each in its own tab."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l

from webapp.htmx import render_page_or_fragment
from webapp.services.inbox import (
    TABS,
    inbox_items,
    replies_per_campaign,
    tab_counts,
    tab_or_default,
)
from webapp.web.inbox.blueprint import bp

# Each tab's name, and what it says while it is empty (the tabs are `TABS`' keys).
TAB_LABELS = {
    "replies": _l("Replies"),
    "bounces": _l("Bounces"),
    "auto_replies": _l("Auto-replies"),
}
TAB_EMPTY = {
    "replies": _l("No replies yet."),
    "bounces": _l("No bounces yet."),
    "auto_replies": _l("No auto-replies yet."),
}


@bp.get("/")
def index() -> Any:
    tab = tab_or_default(request.args.get("tab"))
    return render_page_or_fragment(
        "inbox/page.html",
        "inbox/_tab.html",
        tab=tab,
        tabs=TABS,
        tab_labels=TAB_LABELS,
        tab_empty=TAB_EMPTY,
        counts=tab_counts(),
        campaigns=replies_per_campaign() if tab == "replies" else [],
        items=inbox_items(tab) if tab != "replies" else [],
    )
