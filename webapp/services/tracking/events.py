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
# A pixel loaded again within this many seconds (a replayed token, a client reloading)
# writes no new `opened` event: the first one already says all the KPIs need.
DEFAULT_OPEN_REPEAT_SECONDS = 60


def _settings() -> tuple[int, str, int]:
    config = current_app.config
    seconds = int(config.get("MACHINE_OPEN_SECONDS", DEFAULT_MACHINE_OPEN_SECONDS))
    mode = config.get("TRACKING_IP_MODE", DEFAULT_IP_MODE)
    repeat = int(config.get("OPEN_REPEAT_SECONDS", DEFAULT_OPEN_REPEAT_SECONDS))
    return seconds, mode if mode in IP_MODES else DEFAULT_IP_MODE, repeat


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
    soon = messages.c.sent_at > sa.bindparam("p_soon_after", type_=UTCDateTime())
    machine = sa.case(
        (soon, sa.bindparam("p_machine_soon", type_=sa.Boolean())),
        else_=sa.bindparam("p_machine_later", type_=sa.Boolean()),
    )
    # An open of the same kind (machine or person) of this message a moment ago: a repeat.
    repeated = sa.exists().where(
        events.c.message_id == messages.c.id,
        events.c.event_type == EventType.OPENED,
        events.c.created_at > sa.bindparam("p_repeat_after", type_=UTCDateTime()),
        events.c.created_at <= sa.bindparam("p_now", type_=UTCDateTime()),
        events.c.meta["machine"].as_boolean() == machine,
    )
    event_type = sa.bindparam("p_event_type", type_=events.c.event_type.type)
    source = sa.select(
        sa.bindparam("p_id", type_=events.c.id.type),
        messages.c.id,
        event_type,
        sa.case(
            (soon, sa.bindparam("p_meta_soon", type_=meta)),
            else_=sa.bindparam("p_meta_later", type_=meta),
        ),
        sa.bindparam("p_user_agent", type_=events.c.user_agent.type),
        sa.bindparam("p_ip_address", type_=events.c.ip_address.type),
        sa.bindparam("p_now", type_=UTCDateTime()),
    ).where(
        messages.c.id == sa.bindparam("p_message_id"),
        sa.or_(event_type != EventType.OPENED, ~repeated),
    )
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
    repeat_after: datetime  # an open of this message since then (up to `at`): a repeat


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
    seconds, mode, repeat = _settings()
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
        repeat_after=now - timedelta(seconds=repeat),
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
        "p_repeat_after": hit.repeat_after,
        "p_meta_soon": hit.meta_soon,
        "p_meta_later": hit.meta_later,
        "p_machine_soon": hit.meta_soon["machine"],
        "p_machine_later": hit.meta_later["machine"],
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
    SELECT h.id, m.id, h.event_type, c.meta, h.user_agent, h.ip_address, h.created_at
    FROM json_to_recordset(CAST(:hits AS json)) AS h(
        id varchar, message_id varchar, event_type varchar, meta_soon jsonb, meta_later jsonb,
        user_agent text, ip_address varchar, created_at timestamptz, soon_after timestamptz,
        repeat_after timestamptz)
    JOIN messages m ON m.id = h.message_id
    CROSS JOIN LATERAL (
        SELECT CASE WHEN m.sent_at > h.soon_after THEN h.meta_soon ELSE h.meta_later END AS meta
    ) AS c
    WHERE h.event_type <> 'opened' OR NOT EXISTS (
        SELECT 1 FROM message_events e
        WHERE e.message_id = m.id AND e.event_type = 'opened'
          AND e.created_at > h.repeat_after AND e.created_at <= h.created_at
          AND e.meta -> 'machine' = c.meta -> 'machine'
    )
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
                "repeat_after": _iso(hit.repeat_after),
            }
            for hit in hits
        ]
    )


def _without_repeats(hits: Sequence[Hit]) -> list[Hit]:
    """The batch without opens that repeat an earlier open of the batch.

    The statements leave out repeats of opens already written, but cannot see the other
    rows of their own batch: here, of opens that would be classified alike, one is kept
    per window. Clicks are all kept: each says which link was followed.
    """
    kept: list[Hit] = []
    last: dict[tuple[str, bool, bool], datetime] = {}
    for hit in sorted(hits, key=lambda h: h.at):
        if hit.event_type == EventType.OPENED:
            key = (hit.message_id, hit.meta_soon["machine"], hit.meta_later["machine"])
            if key in last and last[key] > hit.repeat_after:
                continue
            last[key] = hit.at
        kept.append(hit)
    return kept


def write_hits(hits: Sequence[Hit]) -> int:
    """Write a batch of hits as `record_open`/`record_click` would; the number of events.

    On PostgreSQL three set-based statements whatever the batch size; elsewhere one per hit.
    Hits of messages that are gone are left out.
    """
    if not hits:
        return 0
    hits = _without_repeats(hits)
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

    False (and nothing recorded) when the message does not exist, or when this open
    repeats one of the same kind within `OPEN_REPEAT_SECONDS`.
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
