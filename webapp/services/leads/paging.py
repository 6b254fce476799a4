"""Pages of the lead list by position, not by number: a cursor names the lead at the edge of
a page (its sort value and id), and the next page is read from the index onwards from there.

An OFFSET of 300,000 rows reads and throws away 300,000 rows; a cursor reads one page,
whatever the depth. Leads without a value in the sort column (no company, never mailed)
come last in both directions: each order is walked in two parts, the leads with a value,
then those without, so that each part is one range of an index `(column, id)`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.models import Lead
from webapp.services.errors import InvalidInput

SORTS: dict[str, Any] = {
    "email": Lead.email,
    "company": Lead.company,
    "domain": Lead.domain,
    "list": Lead.list_name,
    "status": Lead.status,
    "created": Lead.created_at,
    "emailed": Lead.last_emailed_at,
}
_TIME_SORTS = ("created", "emailed")
# The list says "more than 10,000" rather than counting every lead of a large selection.
COUNT_CAP = 10_000
_CURSOR_VERSION = 1
_LEAD_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


@dataclass(frozen=True)
class Cursor:
    """A position in one order of the list: just after (or before) one lead."""

    sort: str
    direction: str
    value: Any  # the lead's sort value; None for the leads without one
    lead_id: str
    before: bool = False  # the page before this position (the previous link)
    count: int = 0  # the selection's count as the first page found it (capped)

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        payload = [
            _CURSOR_VERSION,
            self.sort,
            self.direction,
            value,
            self.lead_id,
            int(self.before),
            self.count,
        ]
        raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def bad_cursor() -> InvalidInput:
    return InvalidInput(
        {"cursor": _("not a position in this list; start again from the first page")},
        _("invalid cursor"),
    )


def decode_cursor(token: str, sort: str, direction: str) -> Cursor:
    """The cursor a link carries, checked against the list's order; InvalidInput if it is
    not one this list made (tampered, cut off, or from another sort order)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_cursor() from None
    if not isinstance(payload, list) or len(payload) != 7:
        raise bad_cursor()
    version, cursor_sort, cursor_direction, value, lead_id, before, count = payload
    if (
        version != _CURSOR_VERSION
        or (cursor_sort, cursor_direction) != (sort, direction)
        or not isinstance(lead_id, str)
        or not _LEAD_ID.fullmatch(lead_id)
        or before not in (0, 1)
        or not isinstance(count, int)
        or isinstance(count, bool)
        or not 0 <= count <= COUNT_CAP + 1
    ):
        raise bad_cursor()
    if value is not None:
        if not isinstance(value, str) or len(value) > 1_000:
            raise bad_cursor()
        if sort in _TIME_SORTS:
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise bad_cursor() from None
            if value.tzinfo is None:
                raise bad_cursor()
    elif not SORTS[sort].nullable:
        raise bad_cursor()
    return Cursor(sort, direction, value, lead_id, bool(before), count)


def capped_count(query: sa.Select[Any]) -> int:
    """How many rows the query has, counting no further than COUNT_CAP + 1."""
    limited = query.with_only_columns(sa.literal(1)).limit(COUNT_CAP + 1).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0


@dataclass(frozen=True)
class _Part:
    """The leads with a sort value (`valued`), or those without one, in one direction."""

    column: Any
    valued: bool
    ascending: bool

    def where(self) -> Any:
        if not self.column.nullable:
            return sa.true()
        return self.column.is_not(None) if self.valued else self.column.is_(None)

    def order(self) -> list[Any]:
        keys = [self.column, Lead.id] if self.valued else [Lead.id]
        return [key.asc() if self.ascending else key.desc() for key in keys]

    def beyond(self, value: Any, lead_id: str) -> Any:
        """The leads after (value, lead_id) in this part's direction."""
        if self.valued:
            key = sa.tuple_(self.column, Lead.id)
            edge = sa.tuple_(sa.literal(value, self.column.type), sa.literal(lead_id, Lead.id.type))
            return key > edge if self.ascending else key < edge
        return Lead.id > lead_id if self.ascending else Lead.id < lead_id


def _parts(sort: str, direction: str, backwards: bool = False) -> list[_Part]:
    """The parts of an order, in the order they are read."""
    column = SORTS[sort]
    ascending = (direction == "asc") != backwards
    parts = [_Part(column, True, ascending)]
    if column.nullable:
        parts.append(_Part(column, False, ascending))
    return parts[::-1] if backwards else parts


def sort_value(lead: Lead, sort: str) -> Any:
    return getattr(lead, SORTS[sort].key)


def read_from(
    query: sa.Select[Any],
    sort: str,
    direction: str,
    limit: int,
    edge: tuple[Any, str] | None = None,
    backwards: bool = False,
) -> list[Any]:
    """Up to `limit` rows of `query` from the edge (value, lead id) on, in the list's order
    (or against it, `backwards`); from the start without an edge."""
    rows: list[Any] = []
    parts = _parts(sort, direction, backwards)
    if edge is not None:
        # Start in the part the edge lies in.
        valued = edge[0] is not None
        parts = parts[[p.valued for p in parts].index(valued) :]
    for index, part in enumerate(parts):
        statement = query.where(part.where())
        if index == 0 and edge is not None:
            statement = statement.where(part.beyond(*edge))
        rows.extend(db.session.scalars(statement.order_by(*part.order()).limit(limit - len(rows))))
        if len(rows) >= limit:
            break
    return rows


def stream_in_order(
    query: sa.Select[Any], sort: str, direction: str, chunk: int = 1_000
) -> Iterator[sa.Row[Any]]:
    """Every row of `query` in the list's order, each part read with a server-side cursor
    (`yield_per`), so the first rows arrive at once and memory holds one chunk at a time."""
    for part in _parts(sort, direction):
        statement = query.where(part.where()).order_by(*part.order())
        yield from db.session.execute(statement.execution_options(yield_per=chunk))


def _order_of(key: Any, lead_id: Any, ascending: bool, backwards: bool) -> list[Any]:
    """The list's order (leads without a value last), or its reverse, over (key, lead_id)."""
    if backwards:
        return [
            (key.desc() if ascending else key.asc()).nulls_first(),
            lead_id.desc() if ascending else lead_id.asc(),
        ]
    return [
        (key.asc() if ascending else key.desc()).nulls_last(),
        lead_id.asc() if ascending else lead_id.desc(),
    ]


def _past(key: Any, lead_id: Any, edge: tuple[Any, str], ascending: bool, backwards: bool) -> Any:
    """The rows past the edge in the list's order (or its reverse), as one condition."""
    value, edge_id = edge
    later = ascending != backwards
    id_past = lead_id > edge_id if later else lead_id < edge_id
    if value is None:  # the edge is among the leads without a value, which come last
        return (
            sa.and_(key.is_(None), id_past)
            if not backwards
            else sa.or_(key.is_not(None), sa.and_(key.is_(None), id_past))
        )
    bound = sa.literal(value, key.type)
    past = sa.or_(key > bound if later else key < bound, sa.and_(key == bound, id_past))
    return sa.or_(past, key.is_(None)) if not backwards else past


def read_matches(
    query: sa.Select[Any],
    sort: str,
    direction: str,
    limit: int,
    edge: tuple[Any, str] | None = None,
    backwards: bool = False,
    capped: bool = True,
) -> tuple[list[Any], int]:
    """Rows of a narrow selection (a search) and their count, in one statement that finds
    the matches once: their ids and sort values are gathered (by the trigram index), counted
    (stopping past COUNT_CAP when `capped`), and the page is sorted from them.

    Reading the sort column's index and testing each row instead would stop after a page
    when matches are everywhere, but reads the whole index when they cluster, as leads of
    one import do. The count is exact only when at most COUNT_CAP; above it the rows are
    of the first COUNT_CAP + 1 matches found, not the first in the list's order.
    """
    column = SORTS[sort]
    ascending = direction == "asc"
    hits_query = query.with_only_columns(Lead.id.label("lead_id"), column.label("key"))
    if capped:
        hits_query = hits_query.limit(COUNT_CAP + 1)
    # MATERIALIZED: the matches are found once, for the count and for the page.
    hits = hits_query.cte("hits").prefix_with("MATERIALIZED", dialect="postgresql")
    page_ids = sa.select(hits.c.lead_id)
    if edge is not None:
        page_ids = page_ids.where(_past(hits.c.key, hits.c.lead_id, edge, ascending, backwards))
    page_ids = page_ids.order_by(*_order_of(hits.c.key, hits.c.lead_id, ascending, backwards))
    count = sa.select(sa.func.count()).select_from(hits).scalar_subquery()
    statement = (
        sa.select(Lead, count)
        .where(Lead.id.in_(page_ids.limit(limit).scalar_subquery()))
        .order_by(*_order_of(column, Lead.id, ascending, backwards))
    )
    result = db.session.execute(statement).all()
    if not result:  # nothing on this page (the count of a later page is not asked for)
        return [], 0
    return [lead for lead, _count in result], int(result[0][1])
