"""Tracking: signed link tokens, tracking hosts, opens and clicks, unsubscribes, retention.

What other areas and the web layer may use; the modules inside are the area's own.
"""

from __future__ import annotations

from webapp.services.tracking.buffer import enqueue
from webapp.services.tracking.events import (
    Hit,
    click_hit,
    client_ip,
    open_hit,
    write_hits,
)
from webapp.services.tracking.hosts import (
    forget_tracking_hosts,
    forget_tracking_hosts_after_commit,
    is_plain_host,
    is_tracking_host,
    token_hosts,
    tracking_hosts,
)
from webapp.services.tracking.links import (
    message_id_from_unsubscribe_subject,
    pixel_tag,
    rewrite_links,
    unsubscribe_mailto,
    unsubscribe_url,
    untracked_html,
    untracked_text,
)
from webapp.services.tracking.retention import (
    purge_tracking_details,
    retention_days,
)
from webapp.services.tracking.tokens import (
    read_click_token,
    read_open_token,
    read_unsubscribe_token,
)
from webapp.services.tracking.unsubscribing import (
    is_unsubscribed,
    unsubscribe,
)

__all__ = [
    "Hit",
    "click_hit",
    "client_ip",
    "enqueue",
    "forget_tracking_hosts",
    "forget_tracking_hosts_after_commit",
    "is_plain_host",
    "is_tracking_host",
    "is_unsubscribed",
    "message_id_from_unsubscribe_subject",
    "open_hit",
    "pixel_tag",
    "purge_tracking_details",
    "read_click_token",
    "read_open_token",
    "read_unsubscribe_token",
    "retention_days",
    "rewrite_links",
    "token_hosts",
    "tracking_hosts",
    "unsubscribe",
    "unsubscribe_mailto",
    "unsubscribe_url",
    "untracked_html",
    "untracked_text",
    "write_hits",
]
