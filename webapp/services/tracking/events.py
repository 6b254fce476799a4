"""Opens and clicks, recorded honestly (unsubscribes: `unsubscribing`).

Image proxies, privacy relays and security scanners load pixels and follow links
that no person looked at. Those events are kept (they prove delivery) but flagged
`meta["machine"] = True` with a reason, so human opens can leave them out.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import current_app

from webapp.database import UTCDateTime, affected_rows, new_id, utcnow
from webapp.extensions import db
from webapp.models import EventType, Message, MessageEvent, MessageStatus
from webapp.services.tracking.classify import (
    DEFAULT_IP_MODE,
    DEFAULT_MACHINE_OPEN_SECONDS,
    IP_MODES,
    classify,
    stored_ip,
)
from webapp.services.tracking.classify import client_ip as client_ip

MAX_USER_AGENT_LENGTH = 512
MAX_URL_LENGTH = 2048


def _settings() -> tuple[int, str]:
    config = current_app.config
    seconds = int(config.get("MACHINE_OPEN_SECONDS", DEFAULT_MACHINE_OPEN_SECONDS))
    mode = config.get("TRACKING_IP_MODE", DEFAULT_IP_MODE)
    return seconds, mode if mode in IP_MODES else DEFAULT_IP_MODE


def _meta(reason: str | None, extra: dict[str, Any] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"machine": reason is not None}
    if reason is not None:
        meta["reason"] = reason
    meta.update(extra or {})
    return meta


@functools.cache
def _statements() -> tuple[sa.Insert, sa.Update]:
    """The pixel's two statements, built once: the hottest path of the product."""
    events, messages = MessageEvent.__table__, Message.__table__
    meta = events.c.meta.type
    # Whether the event came too soon after sending is decided by the database from
    # `sent_at`, between the two classifications made in Python.
    source = sa.select(
        sa.bindparam("p_id", type_=events.c.id.type),
        messages.c.id,
        sa.bindparam("p_event_type", type_=events.c.event_type.type),
        sa.case(
            (
                messages.c.sent_at > sa.bindparam("p_soon_after", type_=UTCDateTime()),
                sa.bindparam("p_meta_soon", type_=meta),
            ),
            else_=sa.bindparam("p_meta_later", type_=meta),
        ),
        sa.bindparam("p_user_agent", type_=events.c.user_agent.type),
        sa.bindparam("p_ip_address", type_=events.c.ip_address.type),
        sa.bindparam("p_now", type_=UTCDateTime()),
    ).where(messages.c.id == sa.bindparam("p_message_id"))
    columns = ["id", "message_id", "event_type", "meta", "user_agent", "ip_address", "created_at"]
    insert = (
        sa.insert(events).from_select(columns, source).execution_options(preserve_rowcount=True)
    )
    # One statement, so two first opens at once cannot both win; a later open matches no row.
    update = (
        sa.update(messages)
        .where(
            messages.c.id == sa.bindparam("p_message_id"),
            sa.or_(messages.c.open_at.is_(None), messages.c.status == MessageStatus.SENT),
        )
        .values(
            open_at=sa.func.coalesce(
                messages.c.open_at, sa.bindparam("p_now", type_=UTCDateTime())
            ),
            status=sa.case(
                (messages.c.status == MessageStatus.SENT, MessageStatus.OPENED),
                else_=messages.c.status,
            ),
        )
    )
    return insert, update


class Hit(NamedTuple):
    """An open or click as the request saw it, classified as far as Python can."""

    id: str
    message_id: str
    event_type: str
    meta_soon: dict[str, Any]  # the meta when the message was sent less than `soon_after` ago
    meta_later: dict[str, Any]
    user_agent: str | None
    ip_address: str | None
    at: datetime
    soon_after: datetime


def make_hit(
    message_id: str,
    event_type: str,
    user_agent: str | None,
    ip: str | None,
    now: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> Hit:
    """The event to write for a hit; only the "seconds after sending" rule is left to the SQL."""
    now = now or utcnow()
    seconds, mode = _settings()
    later = classify(user_agent, ip, None, now)
    return Hit(
        id=new_id(),
        message_id=message_id,
        event_type=event_type,
        meta_soon=_meta(later or "seconds_after_send", extra),
        meta_later=_meta(later, extra),
        user_agent=(user_agent or None) and user_agent[:MAX_USER_AGENT_LENGTH],
        ip_address=stored_ip(ip, mode),
        at=now,
        soon_after=now - timedelta(seconds=seconds),
    )


def open_hit(
    message_id: str, user_agent: str | None, ip: str | None, now: datetime | None = None
) -> Hit:
    """The `opened` event of a pixel load."""
    return make_hit(message_id, EventType.OPENED, user_agent, ip, now)


def click_hit(
    message_id: str, url: str, user_agent: str | None, ip: str | None, now: datetime | None = None
) -> Hit:
    """The `clicked` event of a tracked link, with the link followed."""
    return make_hit(
        message_id, EventType.CLICKED, user_agent, ip, now, {"url": url[:MAX_URL_LENGTH]}
    )


def _hit_params(hit: Hit) -> dict[str, Any]:
    return {
        "p_id": hit.id,
        "p_message_id": hit.message_id,
        "p_event_type": hit.event_type,
        "p_soon_after": hit.soon_after,
        "p_meta_soon": hit.meta_soon,
        "p_meta_later": hit.meta_later,
        "p_user_agent": hit.user_agent,
        "p_ip_address": hit.ip_address,
        "p_now": hit.at,
    }


def _insert_event(
    message_id: str,
    event_type: str,
    user_agent: str | None,
    ip: str | None,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> bool:
    """Insert the event if the message exists, in one statement; False when it does not."""
    hit = make_hit(message_id, event_type, user_agent, ip, now, extra)
    result = db.session.execute(_statements()[0], _hit_params(hit))
    return affected_rows(result) == 1


# The batch travels as one JSON array of hits (cheaper to build than one array per column)
# and is read back as rows by each statement. Concurrent batches (one writer per web
# process) first lock their messages in one order, so their KPI triggers and `open_at`
# updates cannot deadlock each other.
_BATCH_LOCK = sa.text(
    """
    SELECT m.id FROM messages m
    WHERE m.id IN (SELECT h.message_id FROM json_to_recordset(CAST(:hits AS json))
                   AS h(message_id varchar))
    ORDER BY m.id FOR NO KEY UPDATE OF m
    """
)
_BATCH_INSERT = sa.text(
    """
    INSERT INTO message_events
        (id, message_id, event_type, meta, user_agent, ip_address, created_at)
    SELECT h.id, m.id, h.event_type,
           CASE WHEN m.sent_at > h.soon_after THEN h.meta_soon ELSE h.meta_later END,
           h.user_agent, h.ip_address, h.created_at
    FROM json_to_recordset(CAST(:hits AS json)) AS h(
        id varchar, message_id varchar, event_type varchar, meta_soon jsonb, meta_later jsonb,
        user_agent text, ip_address varchar, created_at timestamptz, soon_after timestamptz)
    JOIN messages m ON m.id = h.message_id
    """
)
# The earliest open of each message sets `open_at`; `sent` becomes `opened`.
_BATCH_OPENED = sa.text(
    """
    UPDATE messages AS m
    SET open_at = COALESCE(m.open_at, f.first_at),
        status = CASE WHEN m.status = 'sent' THEN 'opened' ELSE m.status END
    FROM (
        SELECT h.message_id, min(h.created_at) AS first_at
        FROM json_to_recordset(CAST(:hits AS json))
            AS h(message_id varchar, event_type varchar, created_at timestamptz)
        WHERE h.event_type = 'opened'
        GROUP BY h.message_id
    ) AS f
    WHERE m.id = f.message_id AND (m.open_at IS NULL OR m.status = 'sent')
    """
)


def _iso(moment: datetime) -> str:
    """An ISO 8601 time with its offset; a naive time is UTC, as everywhere in the app."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _batch_json(hits: Sequence[Hit]) -> str:
    return json.dumps(
        [
            {
                "id": hit.id,
                "message_id": hit.message_id,
                "event_type": hit.event_type,
                "meta_soon": hit.meta_soon,
                "meta_later": hit.meta_later,
                "user_agent": hit.user_agent,
                "ip_address": hit.ip_address,
                "created_at": _iso(hit.at),
                "soon_after": _iso(hit.soon_after),
            }
            for hit in hits
        ]
    )


def write_hits(hits: Sequence[Hit]) -> int:
    """Write a batch of hits as `record_open`/`record_click` would; the number of events.

    On PostgreSQL three set-based statements whatever the batch size; elsewhere one per hit.
    Hits of messages that are gone are left out.
    """
    if not hits:
        return 0
    if db.session.get_bind().dialect.name != "postgresql":
        inserted = 0
        for hit in hits:
            result = db.session.execute(_statements()[0], _hit_params(hit))
            inserted += affected_rows(result)
        # The earliest open first, so it is the one that sets `open_at`.
        opens = sorted(
            (hit for hit in hits if hit.event_type == EventType.OPENED), key=lambda h: h.at
        )
        for hit in opens:
            db.session.execute(_statements()[1], {"p_message_id": hit.message_id, "p_now": hit.at})
        return inserted
    batch = {"hits": _batch_json(hits)}
    db.session.execute(_BATCH_LOCK, batch)
    result = db.session.execute(_BATCH_INSERT, batch)
    if any(hit.event_type == EventType.OPENED for hit in hits):
        db.session.execute(_BATCH_OPENED, batch)
    return affected_rows(result)


def record_open(
    message_id: str,
    user_agent: str | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Record an `opened` event, set `open_at` on the first open, move `sent` to `opened`.

    False (and nothing recorded) when the message does not exist.
    """
    now = now or utcnow()
    if not _insert_event(message_id, EventType.OPENED, user_agent, ip, now):
        return False
    db.session.execute(_statements()[1], {"p_message_id": message_id, "p_now": now})
    return True


def record_click(
    message_id: str,
    url: str,
    user_agent: str | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Record a `clicked` event with the link followed; False when the message is gone."""
    now = now or utcnow()
    extra = {"url": url[:MAX_URL_LENGTH]}
    return _insert_event(message_id, EventType.CLICKED, user_agent, ip, now, extra)
