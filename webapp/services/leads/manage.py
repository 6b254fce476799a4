"""Finding leads and acting on them: search, filters, lead history, bulk actions, lists."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from webapp.database import affected_rows, utcnow
from webapp.extensions import db
from webapp.models import Campaign, Lead, LeadStatus, Message, MessageEvent
from webapp.models.leads import LEAD_STATUSES
from webapp.services.audit import AuditAction, record_action
from webapp.services.errors import InvalidInput
from webapp.services.leads.columns import clean_text
from webapp.services.leads.export import LEAD_EXPORT_FIELDS
from webapp.services.leads.idn import idn_search
from webapp.services.leads.paging import (
    COUNT_CAP,
    SORTS,
    Cursor,
    capped_count,
    decode_cursor,
    read_from,
    read_matches,
    sort_value,
    stream_in_order,
)
from webapp.services.leads.search import text_condition

BULK_ACTIONS = ("stop", "unstop", "delete", "restore", "move")
PER_PAGE_MAX = 500


class LeadActionError(InvalidInput):
    """A lead action that cannot be done; `fields` names each bad field."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(fields or {}, message)


@dataclass(frozen=True)
class LeadFilter:
    """A selection of leads, as the page's filter form and the API's query describe it."""

    q: str = ""
    list_name: str = ""
    status: str = ""
    complete: str = ""  # "", "yes", "no"
    stopped: str = ""  # "", "yes", "no"
    deleted: str = "no"  # "no", "yes", "all"
    sort: str = "created"
    direction: str = "desc"

    @classmethod
    def from_args(cls, args: Any) -> LeadFilter:
        """From request args (any mapping with .get); unknown values fall back to defaults."""
        values = {f.name: clean_text(str(args.get(f.name) or "")) for f in fields(cls)}
        if "list" in args and not values["list_name"]:
            values["list_name"] = clean_text(str(args.get("list") or ""))
        chosen = cls(**{k: v for k, v in values.items() if v})
        return chosen.checked()

    def checked(self) -> LeadFilter:
        def pick(value: str, allowed: tuple[str, ...], default: str) -> str:
            return value if value in allowed else default

        return replace(
            self,
            status=pick(self.status, LEAD_STATUSES, ""),
            complete=pick(self.complete, ("yes", "no"), ""),
            stopped=pick(self.stopped, ("yes", "no"), ""),
            deleted=pick(self.deleted, ("no", "yes", "all"), "no"),
            sort=pick(self.sort, tuple(SORTS), "created"),
            direction=pick(self.direction, ("asc", "desc"), "desc"),
        )

    def as_args(self, **overrides: str) -> dict[str, str]:
        """The filter as query arguments, without defaults (for links and forms)."""
        default = LeadFilter()
        chosen = replace(self, **overrides)
        return {
            f.name: getattr(chosen, f.name)
            for f in fields(self)
            if getattr(chosen, f.name) != getattr(default, f.name)
        }


@dataclass
class LeadPage:
    """One page of the list, and what is known of the whole selection without counting it
    all: `count` stops at COUNT_CAP + 1 (`more` then says "more than COUNT_CAP")."""

    items: list[Lead]
    count: int
    per_page: int
    page: int = 1  # the page number, for a page asked for by number (the API's `page`)
    next_cursor: str | None = None
    previous_cursor: str | None = None

    @property
    def more(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def total(self) -> int | None:
        """The number of leads in the selection, or None when it is more than COUNT_CAP."""
        return None if self.more else self.count

    @property
    def shown(self) -> int:
        """The count as the page says it: exact, or the cap it passed."""
        return min(self.count, COUNT_CAP)


def _non_empty_var(name: str) -> Any:
    value = Lead.vars[name].as_string()
    return sa.and_(value.is_not(None), sa.func.trim(value) != "")


def filtered_query(chosen: LeadFilter) -> sa.Select[Any]:
    """SELECT of the leads in the selection, unordered."""
    query = sa.select(Lead)
    if chosen.q:
        matches = [text_condition(chosen.q)]
        written_in_unicode = idn_search(chosen.q)  # zoë finds xn--zo-ija.nl
        if written_in_unicode is not None:
            matches.append(written_in_unicode)
        query = query.where(sa.or_(*matches))
    if chosen.list_name:
        query = query.where(Lead.list_name == chosen.list_name)
    if chosen.status:
        query = query.where(Lead.status == chosen.status)
    complete = sa.and_(_non_empty_var("company"), _non_empty_var("url"))
    if chosen.complete == "yes":
        query = query.where(complete)
    elif chosen.complete == "no":
        query = query.where(sa.not_(complete))
    if chosen.stopped:
        query = query.where(Lead.stopped.is_(chosen.stopped == "yes"))
    if chosen.deleted == "no":
        query = query.where(Lead.deleted_at.is_(None))
    elif chosen.deleted == "yes":
        query = query.where(Lead.deleted_at.is_not(None))
    return query


def _ordered(query: sa.Select[Any], chosen: LeadFilter) -> sa.Select[Any]:
    column = SORTS[chosen.sort]
    order = column.desc() if chosen.direction == "desc" else column.asc()
    if column.nullable:  # a NOT NULL column keeps the plain order its index serves
        order = order.nulls_last()
    tiebreak = Lead.id.desc() if chosen.direction == "desc" else Lead.id.asc()
    return query.order_by(order, tiebreak)


def search_leads(
    chosen: LeadFilter, page: int = 1, per_page: int = 50, cursor: str | None = None
) -> LeadPage:
    """One page of the selection, sorted: from the `cursor` of a next or previous link (an
    InvalidInput if it is not one), else page number `page` (1: the first page).

    The count stops past COUNT_CAP; the pages a cursor leads to carry it along, so only the
    first page counts. A search finds its matches once for both (`read_matches`).
    """
    per_page = min(max(per_page, 1), PER_PAGE_MAX)
    query = filtered_query(chosen)
    at = decode_cursor(cursor, chosen.sort, chosen.direction) if cursor else None
    if at is None and page > 1:  # by number, as API clients ask: OFFSET, slower the deeper
        rows = db.session.scalars(
            _ordered(query, chosen).limit(per_page + 1).offset((page - 1) * per_page)
        ).all()
        return _page(chosen, rows, per_page, capped_count(query), page, has_previous=True)
    reader = _Reader(query, chosen, per_page + 1)
    if at is None:
        rows, count = reader.first()
        return _page(chosen, rows, per_page, count)
    reader.count = at.count
    edge = (at.value, at.lead_id)
    if not at.before:
        return _page(chosen, reader.read(edge), per_page, at.count, has_previous=True)
    rows = reader.read(edge, backwards=True)
    if len(rows) <= per_page:  # back at the start: the first page, as it reads from there
        return _page(chosen, reader.read(), per_page, at.count)
    items = rows[:per_page][::-1]
    return _page(chosen, items, per_page, at.count, has_previous=True, has_next=True)


class _Reader:
    """Reads pages of one selection: a search by its matches while they are few (at most
    COUNT_CAP), anything else along the index of the sort column."""

    def __init__(self, query: sa.Select[Any], chosen: LeadFilter, limit: int) -> None:
        self.query, self.chosen, self.limit = query, chosen, limit
        self.count = 0

    @property
    def narrow(self) -> bool:
        return bool(self.chosen.q) and self.count <= COUNT_CAP

    def first(self) -> tuple[list[Lead], int]:
        """The first page and the (capped) count of the selection."""
        if self.chosen.q:
            rows, self.count = read_matches(
                self.query, self.chosen.sort, self.chosen.direction, self.limit
            )
            if self.narrow:
                return rows, self.count
        else:
            self.count = capped_count(self.query)
        return self.read(), self.count

    def read(self, edge: tuple[Any, str] | None = None, backwards: bool = False) -> list[Lead]:
        sort, direction = self.chosen.sort, self.chosen.direction
        if self.narrow:
            rows, _count = read_matches(
                self.query, sort, direction, self.limit, edge, backwards, capped=False
            )
            return rows
        return read_from(self.query, sort, direction, self.limit, edge, backwards)


def _page(
    chosen: LeadFilter,
    rows: Sequence[Lead],
    per_page: int,
    count: int,
    page: int = 1,
    has_previous: bool = False,
    has_next: bool | None = None,
) -> LeadPage:
    items = list(rows[:per_page])
    if has_next is None:
        has_next = len(rows) > per_page

    def at(lead: Lead, before: bool) -> str:
        value = sort_value(lead, chosen.sort)
        return Cursor(chosen.sort, chosen.direction, value, lead.id, before, count).encode()

    return LeadPage(
        items,
        count,
        per_page,
        page,
        next_cursor=at(items[-1], False) if has_next and items else None,
        previous_cursor=at(items[0], True) if has_previous and items else None,
    )


def count_selection(chosen: LeadFilter) -> int:
    """The exact number of leads in the selection (the API's `total`; the page stops counting
    past COUNT_CAP instead)."""
    query = filtered_query(chosen).with_only_columns(sa.literal(1)).order_by(None).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(query)) or 0


def export_rows(chosen: LeadFilter, chunk: int = 1_000) -> Iterator[sa.Row[Any]]:
    """Every lead of the selection, sorted, as rows of the exported columns, streamed from
    a server-side cursor a chunk at a time (plain rows: no objects to build and track)."""
    columns = [getattr(Lead, name) for name in (*LEAD_EXPORT_FIELDS, "vars")]
    query = filtered_query(chosen).with_only_columns(*columns)
    return stream_in_order(query, chosen.sort, chosen.direction, chunk)


def get_lead(lead_id: str) -> Lead | None:
    return db.session.get(Lead, lead_id)


# PostgreSQL has no skip scan: a DISTINCT reads every lead (about 100 ms at 300,000 leads, on
# every view of the leads page). This walks the list-name index instead, one probe per list.
_LIST_NAMES_LOOSE_SCAN = sa.text(
    "WITH RECURSIVE names AS ("
    " (SELECT list_name FROM leads WHERE list_name IS NOT NULL ORDER BY list_name LIMIT 1)"
    " UNION ALL"
    " SELECT (SELECT l.list_name FROM leads l WHERE l.list_name > names.list_name"
    " ORDER BY l.list_name LIMIT 1) FROM names WHERE names.list_name IS NOT NULL)"
    " SELECT list_name FROM names WHERE list_name IS NOT NULL"
)


def list_names() -> list[str]:
    """Every list name in use, sorted."""
    if db.session.get_bind().dialect.name == "postgresql":
        names = db.session.scalars(_LIST_NAMES_LOOSE_SCAN)
    else:
        names = db.session.scalars(
            sa.select(Lead.list_name).where(Lead.list_name.is_not(None)).distinct()
        )
    return sorted(name for name in names if name)


# -- one lead ---------------------------------------------------------------------------


def set_stopped(lead: Lead, stopped: bool, user_id: str | None = None) -> Lead:
    """Stop (no more mail, in any campaign) or unstop a lead."""
    if lead.stopped != stopped:
        lead.stopped = stopped
        action = AuditAction.LEAD_STOPPED if stopped else AuditAction.LEAD_UNSTOPPED
        record_action(action, "lead", lead.id, user_id)
    return lead


def set_deleted(lead: Lead, deleted: bool, user_id: str | None = None) -> Lead:
    """Soft-delete or restore a lead; its history and suppressions stay."""
    if (lead.deleted_at is not None) != deleted:
        lead.deleted_at = utcnow() if deleted else None
        action = AuditAction.LEAD_DELETED if deleted else AuditAction.LEAD_RESTORED
        record_action(action, "lead", lead.id, user_id)
    return lead


@dataclass
class HistoryEntry:
    message: Message
    campaign_name: str
    events: list[MessageEvent]


def lead_history(lead: Lead) -> list[HistoryEntry]:
    """Every message to the lead across campaigns, newest first, with its events."""
    rows = db.session.execute(
        sa.select(Message, Campaign.name)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .where(Message.lead_id == lead.id)
        .order_by(Message.scheduled_at.desc(), Message.mail_number.desc())
    ).all()
    if not rows:
        return []
    events: dict[str, list[MessageEvent]] = {}
    for event in db.session.scalars(
        sa.select(MessageEvent)
        .where(MessageEvent.message_id.in_([m.id for m, _name in rows]))
        .order_by(MessageEvent.created_at)
    ):
        events.setdefault(event.message_id, []).append(event)
    return [HistoryEntry(m, name, events.get(m.id, [])) for m, name in rows]


def lead_to_dict(lead: Lead) -> dict[str, Any]:
    """The API's view of a lead."""

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": lead.id,
        "email": lead.email,
        "company": lead.company,
        "url": lead.url,
        "domain": lead.domain,
        "status": lead.status,
        "list_name": lead.list_name,
        "stopped": lead.stopped,
        "deleted_at": iso(lead.deleted_at),
        "last_emailed_at": iso(lead.last_emailed_at),
        "created_at": iso(lead.created_at),
        "vars": dict(lead.vars or {}),
    }


# -- many leads -------------------------------------------------------------------------


def bulk_action(
    chosen: LeadFilter, action: str, user_id: str | None = None, list_name: str = ""
) -> int:
    """Apply an action to every lead of the selection; returns how many changed."""
    ids = filtered_query(chosen).with_only_columns(Lead.id)
    values: dict[str, Any]
    only: sa.ColumnElement[bool]
    if action == "stop":
        values, only = {"stopped": True}, Lead.stopped.is_(False)
    elif action == "unstop":
        values, only = {"stopped": False}, Lead.stopped.is_(True)
    elif action == "delete":
        values, only = {"deleted_at": utcnow()}, Lead.deleted_at.is_(None)
    elif action == "restore":
        values, only = {"deleted_at": None}, Lead.deleted_at.is_not(None)
    elif action == "move":
        list_name = clean_text(list_name)
        if not list_name:
            raise LeadActionError(_("a list name is required"), {"list_name": _("required")})
        values, only = {"list_name": list_name[:200]}, Lead.list_name.is_distinct_from(list_name)
    else:
        raise LeadActionError(
            _("unknown action %(action)s", action=repr(action)), {"action": _("unknown")}
        )
    values["updated_at"] = utcnow()
    result = db.session.execute(
        sa.update(Lead)
        .where(Lead.id.in_(ids), only)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    changed = affected_rows(result)
    details = {"count": changed, "filter": chosen.as_args()}
    if action == "move":
        details["list_name"] = list_name
    record_action(AuditAction(f"leads.bulk_{action}"), "lead", None, user_id, details)
    return int(changed or 0)


@dataclass
class ListCount:
    name: str
    leads: int
    active: int
    deleted: int


def list_counts() -> list[ListCount]:
    """Each list with its number of leads: all, mailable-looking (active, not stopped), deleted."""
    alive = Lead.deleted_at.is_(None)
    rows = db.session.execute(
        sa.select(
            Lead.list_name,
            sa.func.count().filter(alive),
            sa.func.count().filter(
                alive, Lead.status == LeadStatus.ACTIVE, Lead.stopped.is_(False)
            ),
            sa.func.count().filter(Lead.deleted_at.is_not(None)),
        )
        .where(Lead.list_name.is_not(None))
        .group_by(Lead.list_name)
        .order_by(Lead.list_name)
    ).all()
    return [
        ListCount(name, leads, active, deleted)
        for name, leads, active, deleted in rows
        if name is not None  # where() has none
    ]


def rename_list(old: str, new: str, user_id: str | None = None) -> int:
    """Move every lead of list `old` to `new`; returns how many."""
    new = clean_text(new)
    if not new:
        raise LeadActionError(_("a list name is required"), {"new_name": _("required")})
    if new == old:
        return 0
    changed = bulk_action(LeadFilter(list_name=old, deleted="all"), "move", user_id, new)
    return changed


def delete_list(name: str, user_id: str | None = None) -> int:
    """Soft-delete every lead of a list; returns how many."""
    if not name:
        raise LeadActionError(_("a list name is required"), {"list_name": _("required")})
    return bulk_action(LeadFilter(list_name=name), "delete", user_id)
