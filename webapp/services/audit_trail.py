"""Reading the audit trail: its filters, pages by position, and every matching event.

The trail only grows, and on a busy installation it grows large, so it is read by position,
newest first: a cursor names the (created_at, id) of the row at a page's edge and the next
page is read onwards from there through an index. Nothing is skipped with OFFSET and
nothing is counted, so the thousandth page costs what the first does, and events recorded
while someone pages never push rows from one page onto the next.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.formats import app_zone
from webapp.models import AuditEvent, User
from webapp.services.audit import AuditAction
from webapp.services.errors import InvalidInput

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# What the export reads per query: one keyset page after another, never one long cursor.
EXPORT_BATCH = 1_000
# The person filter's value for what nobody did by hand (jobs, the system's own rules).
SYSTEM = "system"
_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_CURSOR_VERSION = 1
_MAX_CURSOR = 256
ACTIONS: frozenset[str] = frozenset(action.value for action in AuditAction)


@dataclass(frozen=True)
class TrailFilter:
    """Which events to show: by whom, which action, from and until when (all optional).

    `since` is inclusive and `until` exclusive; a bare date covers that whole day in
    APP_TIMEZONE. `since_text` and `until_text` keep what was asked, for forms and links.
    """

    user_id: str | None = None  # a user's id, SYSTEM, or None for everyone
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    since_text: str = ""
    until_text: str = ""

    def as_args(self) -> dict[str, str]:
        """The filter as query arguments, for links that keep it (paging, export)."""
        args = {
            "user_id": self.user_id or "",
            "action": self.action or "",
            "since": self.since_text,
            "until": self.until_text,
        }
        return {key: value for key, value in args.items() if value}


def parse_filter(args: Mapping[str, Any]) -> TrailFilter:
    """The filter in query arguments; InvalidInput naming every argument that is wrong."""
    fields: dict[str, str] = {}
    user_id = _text(args.get("user_id"))
    if user_id and not _ID.fullmatch(user_id):
        fields["user_id"] = _("not a person of this dashboard")
    action = _text(args.get("action"))
    if action and action not in ACTIONS:
        fields["action"] = _("not an action the audit trail records")
    since_text, until_text = _text(args.get("since")), _text(args.get("until"))
    since = until = None
    try:
        since = _moment(since_text, end_of_day=False)
    except ValueError as error:
        fields["since"] = str(error)
    try:
        until = _moment(until_text, end_of_day=True)
    except ValueError as error:
        fields["until"] = str(error)
    if since is not None and until is not None and until <= since:
        fields["until"] = _("must be later than the start")
    if fields:
        raise InvalidInput(fields, _("invalid filter"))
    return TrailFilter(user_id or None, action or None, since, until, since_text, until_text)


def _text(raw: Any) -> str:
    return raw.strip() if isinstance(raw, str) else ""


def _moment(text: str, *, end_of_day: bool) -> datetime | None:
    """A date (the start of that day, or of the next for an end) or a time with an offset."""
    if not text:
        return None
    if len(text) > 40:
        raise ValueError(_bad_moment())
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(_bad_moment()) from None
        if end_of_day:
            if day == date.max:
                return None  # the end of time: no bound
            day += timedelta(days=1)
        return datetime.combine(day, time(0), tzinfo=app_zone())
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(_bad_moment()) from None
    if moment.tzinfo is None:
        raise ValueError(_("needs a UTC offset, e.g. 2026-03-02T09:00+01:00"))
    return moment


def _bad_moment() -> str:
    return str(_("must be a date (2026-03-02) or a time with its offset (2026-03-02T09:00+01:00)"))


@dataclass(frozen=True)
class TrailCursor:
    """A position in the trail: just older than one event, or (`before`) just newer."""

    created_at: datetime
    event_id: str
    before: bool = False

    def encode(self) -> str:
        raw = [_CURSOR_VERSION, "b" if self.before else "a", self.created_at.isoformat()]
        text = json.dumps([*raw, self.event_id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(text).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> TrailCursor:
        """The position a token names; InvalidInput naming `cursor` if it names none."""
        try:
            if len(token) > _MAX_CURSOR:
                raise ValueError
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            version, way, moment, event_id = json.loads(text)
            if version != _CURSOR_VERSION or way not in ("a", "b"):
                raise ValueError
            if not isinstance(moment, str) or not isinstance(event_id, str):
                raise ValueError
            created_at = datetime.fromisoformat(moment)
            if created_at.tzinfo is None or not _ID.fullmatch(event_id):
                raise ValueError
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise InvalidInput(
                {"cursor": _("not a position in the audit trail; start again from the first page")},
                _("invalid cursor"),
            ) from None
        return cls(created_at, event_id, way == "b")


@dataclass
class TrailEntry:
    """One event with the person who caused it (None: the system)."""

    event: AuditEvent
    user: User | None


@dataclass
class TrailPage:
    """One page of events, newest first, with cursors to the pages around it."""

    items: list[TrailEntry] = field(default_factory=list)
    next_cursor: str | None = None  # older events
    previous_cursor: str | None = None  # newer events


def _conditions(chosen: TrailFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if chosen.user_id == SYSTEM:
        conditions.append(AuditEvent.user_id.is_(None))
    elif chosen.user_id:
        conditions.append(AuditEvent.user_id == chosen.user_id)
    if chosen.action:
        conditions.append(AuditEvent.action == chosen.action)
    if chosen.since is not None:
        conditions.append(AuditEvent.created_at >= chosen.since)
    if chosen.until is not None:
        conditions.append(AuditEvent.created_at < chosen.until)
    return conditions


def list_events(
    chosen: TrailFilter, cursor: TrailCursor | None = None, per_page: int = PAGE_SIZE
) -> TrailPage:
    """A page of the events the filter selects, newest first, from the cursor's position."""
    key = sa.tuple_(AuditEvent.created_at, AuditEvent.id)
    query = (
        sa.select(AuditEvent, User)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(*_conditions(chosen))
    )
    newer = cursor is not None and cursor.before
    if cursor is not None:
        edge = sa.tuple_(
            sa.literal(cursor.created_at, AuditEvent.created_at.type),
            sa.literal(cursor.event_id, AuditEvent.id.type),
        )
        query = query.where(key > edge if newer else key < edge)
    if newer:
        query = query.order_by(AuditEvent.created_at.asc(), AuditEvent.id.asc())
    else:
        query = query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    rows = [(row[0], row[1]) for row in db.session.execute(query.limit(per_page + 1))]
    more = len(rows) > per_page
    rows = rows[:per_page]
    if newer:
        rows.reverse()
    page = TrailPage([TrailEntry(event, user) for event, user in rows])
    if not rows:
        return page
    has_newer = more if newer else cursor is not None
    has_older = True if newer else more
    first, last = rows[0][0], rows[-1][0]
    if has_older:
        page.next_cursor = TrailCursor(last.created_at, last.id).encode()
    if has_newer:
        page.previous_cursor = TrailCursor(first.created_at, first.id, before=True).encode()
    return page


def iter_events(chosen: TrailFilter, batch: int = EXPORT_BATCH) -> Iterator[list[TrailEntry]]:
    """Every event the filter selects, newest first, in batches read one keyset page each.

    Events recorded after the first batch was read are newer than it, so they never slip
    into an export that has started.
    """
    cursor: TrailCursor | None = None
    while True:
        page = list_events(chosen, cursor, batch)
        if page.items:
            yield page.items
        if page.next_cursor is None:
            return
        last = page.items[-1].event
        cursor = TrailCursor(last.created_at, last.id)


def trail_people() -> list[User]:
    """Everyone the person filter offers: every user, active or not, by name then address."""
    return list(
        db.session.scalars(
            sa.select(User).order_by(
                sa.func.lower(sa.func.coalesce(sa.func.nullif(User.name, ""), User.email)),
                User.email,
            )
        )
    )
