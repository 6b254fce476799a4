"""The inbox: reading each domain's mailbox and tying replies and bounces to messages.

What other areas and the web layer may use; the modules inside are the area's own.
"""

from __future__ import annotations

from webapp.services.inbox.apply import stop_after_reply
from webapp.services.inbox.connection_check import check_imap_connection
from webapp.services.inbox.listing import (
    TABS,
    inbox_items,
    replies_per_campaign,
    tab_counts,
    tab_or_default,
)
from webapp.services.inbox.poller import poll_inbox_once

__all__ = [
    "TABS",
    "check_imap_connection",
    "inbox_items",
    "poll_inbox_once",
    "replies_per_campaign",
    "stop_after_reply",
    "tab_counts",
    "tab_or_default",
]
